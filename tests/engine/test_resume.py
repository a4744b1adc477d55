"""Stopping after k steps and resuming gives the loss an uninterrupted run has at step k + 1."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

import unicorn
from unicorn.engine.config import load_train_config
from unicorn.engine.launch import WEIGHTS, train
from unicorn.errors import UserError

from .conftest import SMALL, TINY, read_rows


def test_resume_matches_an_uninterrupted_run(tmp_path):
    common = [*SMALL, f"output_dir={tmp_path}", "multiscale_interval=1", "log_interval=1", "checkpoint_interval=100"]
    whole = train(load_train_config(TINY, [*common, "name=whole"]), max_steps=3)
    part = load_train_config(TINY, [*common, "name=part"])
    train(part, max_steps=2)
    assert sorted(read_rows(tmp_path / "part")) == [1, 2]
    with pytest.raises(UserError, match="--resume"):
        train(part, max_steps=3)
    train(part, resume=True, max_steps=3)
    a, b = read_rows(whole), read_rows(tmp_path / "part")
    assert sorted(b) == [1, 2, 3]  # one row per step, none duplicated
    for step in (1, 2, 3):
        for key in ("loss", "iou_loss_sot", "corr_loss_mot", "lr", "input_h"):
            assert b[step][key] == pytest.approx(a[step][key], abs=1e-6), (step, key)
    assert a[3]["input_h"] != a[1]["input_h"] or a[2]["input_h"] != a[1]["input_h"]  # multi-scale was on
    # the exported weights are the EMA of the same trajectory and load through the public API
    wa = unicorn.load(whole / WEIGHTS, device="cpu").state_dict()
    wb = unicorn.load(tmp_path / "part" / WEIGHTS, device="cpu").state_dict()
    assert all(torch.allclose(wa[k].float(), wb[k].float(), atol=1e-6) for k in wa)
    assert (whole / "loss_curve.png").stat().st_size > 10_000


def test_two_runs_from_scratch_give_bit_identical_weights(tmp_path):
    """What ``make train-lite`` relies on: one CPU process with a data-loading worker, the same config and
    seed, twice from scratch -> the same losses and the same exported tensors, bit for bit."""
    common = [*SMALL, f"output_dir={tmp_path}", "multiscale_interval=1", "log_interval=1", "num_workers=1"]
    runs = [train(load_train_config(TINY, [*common, f"name=run{k}"]), max_steps=3) for k in (1, 2)]
    a, b = (read_rows(r) for r in runs)
    losses = [k for k in a[1] if "loss" in k or k in ("lr", "input_h", "input_w")]  # not the timings
    assert sorted(a) == [1, 2, 3] and len(losses) > 5
    assert all(a[s][k] == b[s][k] for s in a for k in losses)
    ta, tb = (load_file(str(r / WEIGHTS)) for r in runs)
    differ = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert set(ta) == set(tb) and not differ, f"{len(differ)} tensors differ, e.g. {differ[:3]}"
