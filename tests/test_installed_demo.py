"""The web demo as a user who installed the package gets it: a wheel, a fresh virtual environment in a folder
outside the checkout, ``pip install 'unicorn-track[demo]'``, ``unicorn demo``, and SOT on the bundled sample
in headless Chromium.

It takes minutes (torch is installed into the new environment), so it runs only with
``UNICORN_TEST_INSTALLED=1``: ``make test-installed``, which ``.ci/run`` calls after ``make test``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from unicorn.evaluation.readers import read_pytracking_txt

from .demo import pages
from .demo.conftest import CHROMIUM, CHROMIUM_ARGS, _free_port, require_browser_stack

ROOT = Path(__file__).resolve().parents[1]
TORCH = ("torch==2.14.1", "torchvision==0.29.1")  # the Makefile's pins (this machine's wheels)
SAMPLE_BOX = (42, 86, 36, 68)
START_TIMEOUT_S = 300

pytestmark = pytest.mark.skipif(os.environ.get("UNICORN_TEST_INSTALLED") != "1",
                                reason="installs a wheel into a fresh environment (minutes); "
                                       "UNICORN_TEST_INSTALLED=1 or `make test-installed`")


def _run(*cmd: str | Path, cwd: Path | None = None, env: dict | None = None) -> str:
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _clean_env() -> dict[str, str]:
    """This process's environment without anything that would point Python at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT)))
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv (outside the checkout) with the wheel and its demo extra; returns its folder."""
    base = tmp_path_factory.mktemp("installed")
    assert ROOT not in base.parents
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", base / "dist", ROOT)
    wheel = next((base / "dist").glob("unicorn_track-*.whl"))
    venv = base / "venv"
    _run(sys.executable, "-m", "venv", venv)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(*pip, *TORCH, env=_clean_env())
    _run(*pip, f"{wheel}[demo]", env=_clean_env())
    return venv


def test_the_installed_package_serves_the_demo_and_tracks_the_sample(installed, tmp_path):
    require_browser_stack()
    from playwright.sync_api import sync_playwright

    away = tmp_path / "elsewhere"
    away.mkdir()
    where = _run(installed / "bin" / "python", "-c", "import unicorn, unicorn.demo.app; print(unicorn.__file__)",
                 cwd=away, env=_clean_env()).strip()
    assert Path(where).is_relative_to(installed) and not Path(where).is_relative_to(ROOT), where
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([str(installed / "bin" / "unicorn"), "demo", "--port", str(port), "--device", "cpu",
                               "--max-frames", "60"], cwd=away, env=_clean_env(), stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the installed demo did not start serving in time"
                time.sleep(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            context, page = pages.open_page(browser, url)
            assert "Loaded sample.mp4: 320x240, 48 frames" in pages.use_sample(page)
            pages.draw_box(page, SAMPLE_BOX, 320)
            assert "Done: SOT on sample.mp4: 48 frames, 1 track(s)" in pages.run(page)
            archive = pages.download_zip(page, tmp_path / "sot.zip")
            context.close()
            browser.close()
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp_path / "sot")
        boxes = read_pytracking_txt(tmp_path / "sot" / "results_pytracking.txt")
        assert boxes.shape == (48, 4) and boxes[0].tolist() == pytest.approx(SAMPLE_BOX, abs=1)
    finally:
        server.terminate()
        server.wait(30)
        log.close()
        shutil.rmtree(away, ignore_errors=True)
