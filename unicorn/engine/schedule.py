"""Learning-rate schedule and weight EMA of the upstream recipe (YOLOX ``yoloxwarmcos`` + ``ModelEMA``)."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ..errors import UserError


class WarmupCosineSchedule:
    """Quadratic warm-up, cosine decay, then a flat floor; a pure function of the optimizer step.

    ``lr(s)`` for ``s`` optimizer steps already taken, with ``W`` warm-up steps, ``T`` total steps
    and ``F`` final steps at the floor ``m = peak x min_lr_ratio``::

        s < W:          start + (peak - start) * (s / W)^2
        s >= T - F:     m
        otherwise:      m + (peak - m) * (1 + cos(pi * (s - W) / (T - W - F))) / 2

    Args:
        peak_lr: learning rate at the end of warm-up.
        total_steps: optimizer steps of the whole run.
        warmup_steps: warm-up length.
        floor_steps: final steps held at the floor (upstream's ``no_aug_epochs``).
        min_lr_ratio: floor / peak.
        warmup_lr_start: learning rate at step 0.
    """

    def __init__(self, peak_lr: float, total_steps: int, warmup_steps: int, floor_steps: int,
                 min_lr_ratio: float, warmup_lr_start: float = 0.0) -> None:
        if total_steps <= warmup_steps + floor_steps:
            raise UserError(f"the schedule's {total_steps} optimizer steps must exceed warm-up {warmup_steps} + "
                            f"floor {floor_steps} (no_aug_epochs); raise epochs or samples_per_epoch, or shorten "
                            "warmup_epochs / no_aug_epochs")
        self.peak_lr = peak_lr
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.floor_steps = floor_steps
        self.min_lr = peak_lr * min_lr_ratio
        self.warmup_lr_start = warmup_lr_start

    def lr_at(self, step: int) -> float:
        """Learning rate of the optimizer step taken after ``step`` earlier steps."""
        if step < self.warmup_steps:
            return self.warmup_lr_start + (self.peak_lr - self.warmup_lr_start) * (step / self.warmup_steps) ** 2
        if step >= self.total_steps - self.floor_steps:
            return self.min_lr
        span = self.total_steps - self.warmup_steps - self.floor_steps
        return self.min_lr + 0.5 * (self.peak_lr - self.min_lr) * (1 + math.cos(math.pi * (step - self.warmup_steps)
                                                                               / span))

    def apply(self, optimizer: torch.optim.Optimizer, step: int) -> float:
        """Set every parameter group's learning rate for ``step``; returns it."""
        lr = self.lr_at(step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        return lr

    def state_dict(self) -> dict[str, float]:
        return dict(vars(self))

    def load_state_dict(self, state: dict[str, float]) -> None:
        vars(self).update(state)


class ModelEMA:
    """Exponential moving average of a model's floating-point state (parameters and buffers).

    After ``t`` updates the decay is ``decay * (1 - exp(-t / ramp))``, so early averages follow
    the model closely. Integer buffers (BatchNorm counters) are copied.

    Args:
        model: the model to average (unwrapped from DDP).
        decay: asymptotic decay (0.9998).
        ramp: ramp constant in updates (2000).
    """

    def __init__(self, model: nn.Module, decay: float = 0.9998, ramp: float = 2000.0) -> None:
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.ramp = ramp
        self.updates = 0

    def decay_at(self, updates: int) -> float:
        """Decay used by the ``updates``-th update."""
        return self.decay * (1 - math.exp(-updates / self.ramp))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """``ema = d * ema + (1 - d) * model`` for every floating entry of the state dict."""
        self.updates += 1
        d = self.decay_at(self.updates)
        current = model.state_dict()
        for key, value in self.module.state_dict().items():
            if value.dtype.is_floating_point:
                value.mul_(d).add_(current[key].detach().to(value.dtype), alpha=1 - d)
            else:
                value.copy_(current[key])

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])


__all__ = ["ModelEMA", "WarmupCosineSchedule"]
