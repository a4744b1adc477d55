"""Fixtures for the demo tests: a tiny model, test videos, and (for the browser tests) a running
demo server with a headless Chromium driven by Playwright.

The browser tests skip when Gradio, Playwright or ``/usr/bin/chromium`` is missing, except in CI
(``CI=true``), where ``.ci/run`` installs Chromium and a missing piece is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path

import pytest
import torch

from ..conftest import torch_threads
from .videos import make_video

CHROMIUM = Path(os.environ.get("UNICORN_TEST_CHROMIUM", "/usr/bin/chromium"))
# The flags that work on machines with no network and no GPU; Playwright gives every launch a fresh profile.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").lower() == "true"
# Caps of the test server: the sample (48 frames at 12 fps) fits, an 80-frame clip does not.
TEST_LIMITS = {"max_frames": 60, "max_seconds": 30.0, "max_upload_mb": 5.0}


def require_browser_stack() -> None:
    """Skip (locally) or fail (CI) when the browser test stack is incomplete."""
    missing = [f"the Python package {m}" for m in ("gradio", "playwright") if importlib.util.find_spec(m) is None]
    if not CHROMIUM.is_file():
        missing.append(f"Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)")
    if missing:
        message = "demo browser tests need " + " and ".join(missing)
        if IN_CI:
            pytest.fail(message + "; CI=true, so they must run (.ci/run installs Chromium)", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread():
    """One torch thread, as the demo gives each of its 2 concurrent runs on 2 cores (restored afterwards)."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="session")
def lite_model():
    """unicorn-lite with seeded random tracking parts: the runner tests do not depend on the shipped weights."""
    from unicorn.models.build import build_model

    torch.manual_seed(0)
    return build_model("unicorn-lite").eval()


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A 10-frame 96x128 clip of a moving square."""
    return make_video(tmp_path_factory.mktemp("clip") / "square.mp4", 10)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    """Where screenshots go: ``$UNICORN_TEST_ARTIFACTS`` or a pytest temporary folder."""
    env = os.environ.get("UNICORN_TEST_ARTIFACTS")
    path = Path(env) if env else tmp_path_factory.mktemp("demo-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def demo_model():
    """The model the test server serves (unicorn-lite, loaded once per module)."""
    require_browser_stack()
    from unicorn.demo.app import configure_threads, load_model

    torch.manual_seed(0)
    model = load_model("unicorn-lite", "cpu")
    configure_threads(model, 2)
    return model


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory, demo_model):
    """A demo server on a free localhost port, in this process (model loaded once), with small caps."""
    require_browser_stack()
    from unicorn.demo.app import build_app, launch
    from unicorn.demo.runner import Limits

    limits = Limits(**TEST_LIMITS)
    app = build_app(demo_model, "unicorn-lite", limits, concurrency=2, runs_root=tmp_path_factory.mktemp("runs"))
    port = _free_port()
    launch(app, "127.0.0.1", port, limits, concurrency=2, block=False)
    yield f"http://127.0.0.1:{port}"
    app.close()


@pytest.fixture(scope="module")
def browser(demo_url):
    """Headless Debian Chromium (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
