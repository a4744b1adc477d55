"""``torchrun --nproc_per_node 2 tools/train.py`` on CPU with gloo (run through ``python -m torch.distributed.run``)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import unicorn
from unicorn.engine.launch import WEIGHTS

from .conftest import REPO, SMALL, TINY, read_rows


def torchrun(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(REPO / "tools" / "train.py"), str(TINY), *SMALL, *args]
    result = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_two_processes_with_gloo(tmp_path):
    result = torchrun(f"output_dir={tmp_path}", "name=ddp", "--max-steps", "2")
    assert "2 processes on cpu" in result.stderr
    run = tmp_path / "ddp"
    rows = read_rows(run)
    assert sorted(rows) == [1, 2]
    # global batch = 2 per process x 2 processes -> lr = 0.002 / 64 x 4 at the peak; steps/epoch = 8 / (4 x 2) = 1
    assert rows[2]["lr"] == pytest.approx(0.002 / 64 * 4)
    assert all(rows[s]["loss"] > 0 for s in rows)
    state = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert state["world_size"] == 2 and len(state["rng"]) == 2 and state["step"] == 2
    assert not torch.equal(state["rng"][0]["torch"], state["rng"][1]["torch"])  # rank-aware seeding
    model = unicorn.load(run / WEIGHTS, device="cpu")
    assert model.config.input_size == (64, 96)


@pytest.mark.slow
def test_two_process_resume_matches(tmp_path):
    common = [f"output_dir={tmp_path}", "multiscale_interval=1", "epochs=4"]
    torchrun(*common, "name=whole", "--max-steps", "3")
    torchrun(*common, "name=part", "--max-steps", "2")
    torchrun(*common, "name=part", "--resume", "--max-steps", "3")
    a, b = read_rows(tmp_path / "whole"), read_rows(tmp_path / "part")
    assert sorted(b) == [1, 2, 3]
    assert b[3]["loss"] == pytest.approx(a[3]["loss"], abs=1e-6)
