"""A small trainer with hooks: one call of :meth:`Trainer.run_step` is one optimizer step.

With gradient accumulation ``k`` a step consumes ``k`` batches (when SOT and MOT batches
alternate, ``k = 2`` is one SOT batch plus one MOT batch); the loss of each batch is divided by
``k`` and gradients are synchronised across processes only on the last one. Everything else
(learning rate, EMA, logging, checkpoints, progress bar, plots) lives in hooks.
"""

from __future__ import annotations

import contextlib
import time
import weakref
from collections.abc import Callable, Iterator

import torch
from torch import nn

from .distributed import DistInfo, unwrap
from .multiscale import batch_to_device, resize_batch


class HookBase:
    """Override any of the four calls; ``self.trainer`` is set when the hook is registered."""

    trainer: Trainer

    def before_train(self) -> None:
        pass

    def after_train(self) -> None:
        pass

    def before_step(self) -> None:
        pass

    def after_step(self) -> None:
        pass


class Trainer:
    """Runs optimizer steps on batches of frame pairs.

    Args:
        model: the Unicorn model (possibly wrapped in DDP); its ``forward`` returns the loss dict.
        optimizer: over the trainable parameters.
        batches: endless iterator of collated batches (see :func:`unicorn.data.samples.collate_pairs`).
        info: process placement (device, rank).
        grad_accum: batches per optimizer step.
        loss_kwargs: keyword arguments of the loss (``mot_weight``, ``mhs``, ``mhs_weight``).
        use_masks: pass the batch's masks to the loss (mask stage); otherwise they are dropped.
        bf16: run the forward pass under bfloat16 autocast (CUDA only).
        size_at: training (H, W) for an iteration number (multi-scale), or None to keep the batch size.
        grad_clip: maximum gradient norm, 0 = off.
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterator[dict],
                 info: DistInfo, *, grad_accum: int = 1, loss_kwargs: dict | None = None, use_masks: bool = False,
                 bf16: bool = False, size_at: Callable[[int], tuple[int, int]] | None = None,
                 grad_clip: float = 0.0) -> None:
        if bf16 and info.device.type != "cuda":
            raise ValueError("bf16 autocast is for CUDA; train in float32 on CPU (amp: off)")
        self.model = model
        self.optimizer = optimizer
        self.batches = batches
        self.info = info
        self.grad_accum = grad_accum
        self.loss_kwargs = dict(loss_kwargs or {})
        self.use_masks = use_masks
        self.bf16 = bf16
        self.size_at = size_at
        self.grad_clip = grad_clip
        self.hooks: list[HookBase] = []
        self.step = 0  # optimizer steps done
        self.iteration = 0  # batches consumed
        self.max_step = 0
        self.metrics: dict[str, float] = {}  # this process's values of the current step (hooks may add)

    def register_hooks(self, hooks: list[HookBase | None]) -> None:
        """Add hooks (None entries are skipped); they run in the given order."""
        for h in hooks:
            if h is not None:
                h.trainer = weakref.proxy(self)
                self.hooks.append(h)

    def train(self, start_step: int, max_step: int, iterations_per_step: int | None = None) -> None:
        """Run optimizer steps ``start_step`` .. ``max_step - 1``.

        Args:
            start_step: steps already done (resuming).
            max_step: stop when this many steps are done.
            iterations_per_step: batches per step (default ``grad_accum``), to set the iteration counter.
        """
        self.step = start_step
        self.iteration = start_step * (iterations_per_step or self.grad_accum)
        self.max_step = max_step
        self.model.train()
        for h in self.hooks:
            h.before_train()
        try:
            while self.step < self.max_step:
                self.metrics = {}
                for h in self.hooks:
                    h.before_step()
                self.metrics.update(self.run_step())
                self.step += 1
                for h in self.hooks:
                    h.after_step()
        finally:
            for h in self.hooks:
                h.after_train()

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def run_step(self) -> dict[str, float]:
        """One optimizer step over ``grad_accum`` batches; returns this process's metrics.

        Metrics: ``loss`` (the optimized total, averaged over the batches), every loss term
        averaged over the batches of its task (``*_sot`` / ``*_mot``), ``input_h``, ``input_w``,
        ``data_time`` and ``step_time`` in seconds.
        """
        t_start = time.perf_counter()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        data_time = 0.0
        self.optimizer.zero_grad(set_to_none=True)
        for micro in range(self.grad_accum):
            t0 = time.perf_counter()
            batch = batch_to_device(next(self.batches), self.info.device)
            if self.size_at is not None:
                batch = resize_batch(batch, self.size_at(self.iteration))
            data_time += time.perf_counter() - t0
            last = micro == self.grad_accum - 1
            sync = contextlib.nullcontext() if last or not hasattr(self.model, "no_sync") else self.model.no_sync()
            with sync:
                with self._autocast():
                    out = self.model(batch["images"], batch["labels"], batch["task_ids"],
                                     batch["masks"] if self.use_masks else None, **self.loss_kwargs)
                loss = out["total_loss"]
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss.item()} at step {self.step} (iteration "
                                             f"{self.iteration}); lower the learning rate or check the data")
                (loss / self.grad_accum).backward()
            self.iteration += 1
            tasks = {int(t) for t in batch["task_ids"].tolist()}
            _accumulate(sums, counts, "loss", float(loss.detach()))
            for key, value in out.items():
                suffix_task = {"sot": 1, "mot": 2}.get(key.rsplit("_", 1)[-1])
                if key != "total_loss" and suffix_task in tasks:
                    _accumulate(sums, counts, key, float(value.detach()))
        if self.grad_clip > 0:
            params = [p for p in unwrap(self.model).parameters() if p.grad is not None]
            sums["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(params, self.grad_clip))
            counts["grad_norm"] = 1
        self.optimizer.step()
        h, w = batch["images"].shape[-2:]
        metrics = {k: sums[k] / counts[k] for k in sums}
        metrics.update(input_h=float(h), input_w=float(w), data_time=data_time,
                       step_time=time.perf_counter() - t_start)
        return metrics


def _accumulate(sums: dict[str, float], counts: dict[str, int], key: str, value: float) -> None:
    sums[key] = sums.get(key, 0.0) + value
    counts[key] = counts.get(key, 0) + 1


__all__ = ["HookBase", "Trainer"]
