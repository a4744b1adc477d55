"""The trainer's step on a hand-made model: gradient accumulation, per-task metrics, hooks, time limit."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from unicorn.engine.distributed import DistInfo
from unicorn.engine.hooks import ScheduleHook, TimeLimitHook
from unicorn.engine.schedule import WarmupCosineSchedule
from unicorn.engine.trainer import HookBase, Trainer


class Toy(nn.Module):
    """loss = w * mean(images); reports an SOT or MOT term depending on the batch's task."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, images, labels, task_ids, masks=None, **kwargs):
        loss = (self.w * images.mean()).sum()
        task = "sot" if int(task_ids[0]) == 1 else "mot"
        other = "mot" if task == "sot" else "sot"
        return {"total_loss": loss, f"iou_loss_{task}": images.mean(), f"iou_loss_{other}": torch.zeros(())}


def batches():
    for value, task in itertools.cycle([(1.0, 1), (3.0, 2)]):  # alternating SOT / MOT batches
        yield {"images": torch.full((1, 2, 3, 64, 96), value), "labels": torch.zeros(1, 2, 1, 6),
               "task_ids": torch.tensor([task]), "masks": None}


class Record(HookBase):
    def __init__(self) -> None:
        self.calls, self.metrics = [], []

    def before_train(self):
        self.calls.append("before_train")

    def after_step(self):
        self.calls.append(f"step{self.trainer.step}")
        self.metrics.append(dict(self.trainer.metrics))

    def after_train(self):
        self.calls.append("after_train")


def test_one_step_is_the_mean_gradient_of_one_sot_and_one_mot_batch():
    model = Toy()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=1.0), batches(), DistInfo(), grad_accum=2,
                      size_at=lambda it: (32, 64))
    record = Record()
    trainer.register_hooks([record])
    trainer.train(0, 1)
    assert model.w.item() == pytest.approx(-(1.0 + 3.0) / 2)  # SGD lr 1 on the averaged gradient
    m = record.metrics[0]
    assert m["iou_loss_sot"] == pytest.approx(1.0) and m["iou_loss_mot"] == pytest.approx(3.0)  # own task only
    assert (m["input_h"], m["input_w"]) == (32, 64)
    assert record.calls == ["before_train", "step1", "after_train"]
    assert trainer.iteration == 2


def test_schedule_hook_and_time_limit_stop_cleanly():
    model = Toy()
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    trainer = Trainer(model, opt, batches(), DistInfo(), grad_accum=1)
    record = Record()
    schedule = WarmupCosineSchedule(1.0, 10, 4, 0, 0.1)
    trainer.register_hooks([ScheduleHook(schedule), TimeLimitHook(0.0, DistInfo()), record])
    trainer.train(2, 10)
    assert trainer.step == 3 and record.calls == ["before_train", "step3", "after_train"]
    assert record.metrics[0]["lr"] == pytest.approx(0.25)  # step index 2 of a 4-step quadratic warm-up


def test_non_finite_loss_stops_with_a_message():
    model = Toy()
    bad = ({**b, "images": b["images"] * float("nan")} for b in batches())
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=1.0), bad, DistInfo())
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        trainer.train(0, 1)
