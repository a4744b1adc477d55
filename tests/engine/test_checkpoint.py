"""Atomic writes and RNG state round trips."""

from __future__ import annotations

import random

import numpy as np
import torch

from unicorn.engine.checkpoint import atomic_save, rng_state, set_rng_state


def test_atomic_save_leaves_no_temporary(tmp_path):
    path = atomic_save({"a": torch.arange(3)}, tmp_path / "sub" / "last.pt")
    atomic_save({"a": torch.arange(4)}, path)  # replaces in place
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]
    assert torch.load(path, weights_only=True)["a"].tolist() == [0, 1, 2, 3]


def test_rng_states_round_trip_through_a_safe_load(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    path = atomic_save({"rng": rng_state()}, tmp_path / "rng.pt")
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    set_rng_state(torch.load(path, weights_only=True)["rng"])  # weights_only: no pickled numpy objects
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
