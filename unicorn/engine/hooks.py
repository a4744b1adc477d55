"""Hooks of the trainer: learning rate, EMA, checkpoints, metrics (CSV / TensorBoard), progress, plot."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from pathlib import Path

from .distributed import DistInfo, all_gather_objects, all_reduce_mean, broadcast_object, unwrap
from .plot import plot_loss_curve
from .schedule import ModelEMA, WarmupCosineSchedule
from .trainer import HookBase

METRICS_CSV = "metrics.csv"
LOSS_PLOT = "loss_curve.png"


class ScheduleHook(HookBase):
    """Sets the learning rate of the coming step (and records it as ``lr``)."""

    def __init__(self, schedule: WarmupCosineSchedule) -> None:
        self.schedule = schedule

    def before_step(self) -> None:
        self.trainer.metrics["lr"] = self.schedule.apply(self.trainer.optimizer, self.trainer.step)


class TimeLimitHook(HookBase):
    """Ends training cleanly after ``limit_s`` seconds (register it before the metrics and checkpoint hooks).

    The current step becomes the last one, so it is logged, checkpointed and exported as usual and
    ``--resume`` continues from it. Rank 0 decides; every rank stops at the same step.
    """

    def __init__(self, limit_s: float, info: DistInfo) -> None:
        self.limit_s = limit_s
        self.info = info
        self.start = 0.0

    def before_train(self) -> None:
        self.start = time.monotonic()

    def after_step(self) -> None:
        over = time.monotonic() - self.start > self.limit_s
        if bool(broadcast_object(over, self.info)):
            self.trainer.max_step = self.trainer.step


class EMAHook(HookBase):
    """Updates the weight average after every optimizer step."""

    def __init__(self, ema: ModelEMA) -> None:
        self.ema = ema

    def after_step(self) -> None:
        self.ema.update(unwrap(self.trainer.model))


class CheckpointHook(HookBase):
    """Calls ``save(step)`` every ``interval`` steps, at every epoch end and at the last step.

    ``save`` must be called on every rank (it gathers the RNG states of all ranks).
    """

    def __init__(self, save: Callable[[int], object], interval: int, steps_per_epoch: int) -> None:
        self.save = save
        self.interval = interval
        self.steps_per_epoch = steps_per_epoch

    def after_step(self) -> None:
        s = self.trainer.step
        if s % self.interval == 0 or s % self.steps_per_epoch == 0 or s == self.trainer.max_step:
            self.save(s)


class MetricsHook(HookBase):
    """Averages metrics over ``interval`` steps and all processes; rank 0 writes ``metrics.csv``.

    Also writes TensorBoard scalars when ``tensorboard`` is installed. On resume, rows after the
    restored step (from the interrupted run) are dropped so the file has one row per step.
    """

    def __init__(self, run_dir: Path, interval: int, steps_per_epoch: int, info: DistInfo,
                 tensorboard: bool = True) -> None:
        self.path = Path(run_dir) / METRICS_CSV
        self.run_dir = Path(run_dir)
        self.interval = interval
        self.steps_per_epoch = steps_per_epoch
        self.info = info
        self.use_tensorboard = tensorboard
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.fields: list[str] | None = None
        self.writer = None
        self.last: dict[str, float] = {}

    def before_train(self) -> None:
        if not self.info.is_main:
            return
        start = self.trainer.step
        if self.path.is_file():
            with open(self.path, newline="") as fh:
                reader = csv.DictReader(fh)
                self.fields = list(reader.fieldnames or [])
                rows = [r for r in reader if int(r["step"]) <= start]
            self._write(rows, mode="w")
        if self.use_tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # tensorboard is optional
                SummaryWriter = None  # noqa: N806
            if SummaryWriter is not None:
                self.writer = SummaryWriter(str(self.run_dir / "tensorboard"), purge_step=start + 1)

    def after_step(self) -> None:
        for key, value in self.trainer.metrics.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
            self.counts[key] = self.counts.get(key, 0) + 1
        step = self.trainer.step
        if step % self.interval and step != self.trainer.max_step:
            return
        keys = sorted(set().union(*all_gather_objects(sorted(self.sums), self.info)))
        sums = all_reduce_mean({k: self.sums.get(k, 0.0) for k in keys}, self.info)
        counts = all_reduce_mean({k: float(self.counts.get(k, 0)) for k in keys}, self.info)
        row = {k: sums[k] / counts[k] for k in keys if counts[k] > 0}
        self.sums, self.counts = {}, {}
        row = {"step": step, "epoch": round(step / self.steps_per_epoch, 4), "wall_time": time.time(), **row}
        self.last = row
        if not self.info.is_main:
            return
        if self.fields is None:
            self.fields = list(row)
        self._write([row], mode="a")
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("step", "wall_time"):
                    self.writer.add_scalar(f"train/{key}", value, step)

    def _write(self, rows: list[dict], mode: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = mode == "w" or not self.path.is_file()
        with open(self.path, mode, newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.fields, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerows(rows)

    def after_train(self) -> None:
        if self.writer is not None:
            self.writer.close()


class ProgressHook(HookBase):
    """A tqdm bar on rank 0 showing the loss and learning rate."""

    def __init__(self, info: DistInfo, desc: str = "train") -> None:
        self.info = info
        self.desc = desc
        self.bar = None

    def before_train(self) -> None:
        if self.info.is_main:
            from tqdm import tqdm

            t = self.trainer
            self.bar = tqdm(total=t.max_step, initial=t.step, desc=self.desc, unit="step", dynamic_ncols=True)

    def after_step(self) -> None:
        if self.bar is not None:
            m = self.trainer.metrics
            self.bar.set_postfix(loss=f"{m.get('loss', float('nan')):.3f}", lr=f"{m.get('lr', 0.0):.2e}",
                                 size=f"{int(m.get('input_h', 0))}x{int(m.get('input_w', 0))}", refresh=False)
            self.bar.update(1)

    def after_train(self) -> None:
        if self.bar is not None:
            self.bar.close()


class PlotHook(HookBase):
    """Draws the loss curve from ``metrics.csv`` when training ends (rank 0)."""

    def __init__(self, run_dir: Path, info: DistInfo, title: str = "") -> None:
        self.run_dir = Path(run_dir)
        self.info = info
        self.title = title

    def after_train(self) -> None:
        if self.info.is_main and (self.run_dir / METRICS_CSV).is_file():
            plot_loss_curve(self.run_dir / METRICS_CSV, self.run_dir / LOSS_PLOT, title=self.title)


__all__ = ["CheckpointHook", "EMAHook", "LOSS_PLOT", "METRICS_CSV", "MetricsHook", "PlotHook", "ProgressHook",
           "ScheduleHook", "TimeLimitHook"]
