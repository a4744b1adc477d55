"""Shared helpers for model tests: where the golden fixture lives and how to load its weights."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("UNICORN_SHARED", REPO.parent / "shared"))
FIXTURE = SHARED / "reference" / "unicorn_official"
MOT17_MINI = Path(os.environ.get("UNICORN_TEST_DATA", SHARED / "data")) / "mot17_mini"


def require_fixture() -> Path:
    """The golden fixture folder; skip (or fail when UNICORN_REQUIRE_FIXTURE=1) if it is absent."""
    if not (FIXTURE / "fixture.json").is_file():
        message = (f"golden fixture not found at {FIXTURE}; set UNICORN_SHARED to the folder that holds "
                   "reference/unicorn_official")
        if os.environ.get("UNICORN_REQUIRE_FIXTURE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return FIXTURE


def fixture_weights_module():
    """Import the fixture's own ``make_weights.py`` (the recipe that made its weights)."""
    path = require_fixture() / "make_weights.py"
    spec = importlib.util.spec_from_file_location("unicorn_fixture_make_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upstream_state_dict(exp: str) -> dict[str, torch.Tensor]:
    """Deterministic upstream-keyed weights of an upstream exp (e.g. ``unicorn_track_tiny_mask``)."""
    mw = fixture_weights_module()
    return mw.official_state_dict(mw.read_key_file(FIXTURE / "keys" / f"state_dict_keys_{exp}.txt"))
