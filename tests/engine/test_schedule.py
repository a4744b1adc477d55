"""Learning-rate schedule at hand-computed points, EMA on a hand-made case, multi-scale resizing."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from unicorn.engine.multiscale import multiscale_sizes, resize_batch, size_for_iteration
from unicorn.engine.schedule import ModelEMA, WarmupCosineSchedule
from unicorn.errors import UserError


def test_warmup_cosine_at_hand_computed_points():
    # peak 1.0, 100 steps: 10 warm-up, 20 at the floor 0.1, cosine over the 70 in between.
    s = WarmupCosineSchedule(1.0, total_steps=100, warmup_steps=10, floor_steps=20, min_lr_ratio=0.1)
    assert s.lr_at(0) == 0.0
    assert s.lr_at(5) == pytest.approx(0.25)  # (5/10)^2
    assert s.lr_at(10) == pytest.approx(1.0)  # cosine starts at the peak
    assert s.lr_at(45) == pytest.approx(0.55)  # half-way: 0.1 + 0.9 * (1 + cos(pi/2)) / 2
    assert s.lr_at(10 + 70 / 3) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi / 3)))
    assert s.lr_at(79) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi * 69 / 70)))
    assert s.lr_at(80) == s.lr_at(99) == pytest.approx(0.1)
    start = WarmupCosineSchedule(1.0, 100, 10, 0, 0.1, warmup_lr_start=0.2)
    assert start.lr_at(5) == pytest.approx(0.2 + 0.8 * 0.25)


def test_schedule_sets_the_optimizer_and_round_trips():
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=123.0)
    s = WarmupCosineSchedule(2e-3, 50, 5, 5, 0.1)
    assert s.apply(opt, 3) == pytest.approx(2e-3 * 0.36)
    assert opt.param_groups[0]["lr"] == pytest.approx(7.2e-4)
    t = WarmupCosineSchedule(1.0, 7, 1, 1, 0.5)
    t.load_state_dict(s.state_dict())
    assert [t.lr_at(i) for i in range(50)] == [s.lr_at(i) for i in range(50)]
    with pytest.raises(UserError, match="must exceed"):
        WarmupCosineSchedule(1.0, 10, 5, 5, 0.1)


def test_ema_hand_made_case():
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    bn = nn.BatchNorm1d(1)
    holder = nn.Sequential(model, bn)
    ema = ModelEMA(holder, decay=0.9, ramp=2.0)
    with torch.no_grad():
        model.weight.fill_(1.0)
        bn.num_batches_tracked.fill_(7)
    ema.update(holder)
    d1 = 0.9 * (1 - math.exp(-1 / 2.0))
    assert ema.module[0].weight.item() == pytest.approx(1 - d1)
    assert ema.module[1].num_batches_tracked.item() == 7  # integer buffers are copied
    with torch.no_grad():
        model.weight.fill_(3.0)
    ema.update(holder)
    d2 = 0.9 * (1 - math.exp(-2 / 2.0))
    assert ema.module[0].weight.item() == pytest.approx(d2 * (1 - d1) + (1 - d2) * 3.0)
    assert not any(p.requires_grad for p in ema.module.parameters())
    state = ema.state_dict()
    other = ModelEMA(holder)
    other.load_state_dict(state)
    assert other.updates == 2 and other.module[0].weight.item() == ema.module[0].weight.item()


def test_upstream_multiscale_sizes():
    sizes = multiscale_sizes((800, 1280), 2)
    assert sizes == [(736, 1152), (768, 1216), (800, 1280), (832, 1312), (864, 1376)]
    picks = {size_for_iteration((800, 1280), 2, 10, it, seed=0) for it in range(0, 2000, 10)}
    assert picks == set(sizes)
    assert size_for_iteration((800, 1280), 2, 10, 30, 0) == size_for_iteration((800, 1280), 2, 10, 39, 0)
    assert size_for_iteration((800, 1280), 0, 10, 30, 0) == (800, 1280)


def test_resize_batch_scales_labels_and_masks():
    images = torch.zeros(1, 2, 3, 64, 96)
    images[..., 16:32, 48:96] = 255.0
    labels = torch.zeros(1, 2, 2, 6)
    labels[0, :, 0] = torch.tensor([1.0, 72.0, 24.0, 48.0, 16.0, 5.0])
    masks = torch.zeros(1, 2, 2, 32, 48, dtype=torch.uint8)
    masks[..., 8:16, 24:48] = 1
    out = resize_batch({"images": images, "labels": labels, "task_ids": torch.tensor([2]), "masks": masks},
                       (32, 64))
    assert out["images"].shape == (1, 2, 3, 32, 64)
    assert out["labels"][0, 0, 0].tolist() == pytest.approx([1.0, 48.0, 12.0, 32.0, 8.0, 5.0])
    assert out["labels"][0, 0, 1].abs().sum() == 0  # padding stays padding
    assert out["masks"].shape == (1, 2, 2, 16, 32) and out["masks"].dtype == torch.uint8
    assert out["masks"][0, 0, 0].sum() == 4 * 16  # rows 4..8, cols 16..32
    assert out["images"][0, 0, 0, 8:16, 32:64].mean() == pytest.approx(255.0)
