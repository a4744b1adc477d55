"""Fixtures for the evaluation tests: the real data in ``../shared/data`` (or ``$UNICORN_TEST_DATA``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_data_root() -> Path:
    """``$UNICORN_TEST_DATA`` when set, else ``../shared/data`` next to the repository."""
    env = os.environ.get("UNICORN_TEST_DATA")
    return Path(env) if env else (REPO_ROOT.parent / "shared" / "data")


@pytest.fixture(scope="session")
def shared_data():
    """A function ``(sub-folder) -> Path`` that skips the test when the folder is absent."""

    def get(sub: str) -> Path:
        path = shared_data_root() / sub
        if not path.exists():
            pytest.skip(f"real test data not found at {path} (set UNICORN_TEST_DATA)")
        return path

    return get
