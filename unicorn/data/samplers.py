"""Batches of one task at a time, alternating between tasks (upstream ``OmniDatasetPlus(mode="alter")``),
sharded over distributed ranks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch


class TaskConcatDataset(torch.utils.data.ConcatDataset):
    """The per-task datasets back to back (task k's items follow task k-1's); ``set_epoch`` reaches all.

    Args:
        datasets: one dataset per task, in the sampler's task order (e.g. [SOT mix, MOT mix]).
    """

    @property
    def sizes(self) -> list[int]:
        """Length of each task's dataset (the sampler's ``task_sizes``)."""
        return [len(d) for d in self.datasets]

    def set_epoch(self, epoch: int) -> None:
        """Forward the epoch to every dataset that has ``set_epoch``."""
        for d in self.datasets:
            if hasattr(d, "set_epoch"):
                d.set_epoch(epoch)


class AlternatingTaskSampler(torch.utils.data.Sampler[list[int]]):
    """A batch sampler whose every batch holds one task, switching task every ``switch_every`` batches.

    Indices address a ``TaskConcatDataset`` of the task datasets. Each epoch, every task's items
    are shuffled with ``(seed, epoch, task)``; a global batch of ``batch_size * num_replicas``
    items is split so that each rank gets distinct items while all ranks are on the same task at
    the same step (the gradient of one step covers one task on every GPU). The epoch ends after the
    last complete cycle (``switch_every`` batches of every task) for which every task still has
    full global batches, so all ranks yield the same number of batches.

    Args:
        task_sizes: number of items of each task, in concatenation order.
        batch_size: samples per batch on one rank.
        num_replicas: number of ranks (default: the process group's size, or 1).
        rank: this rank (default: the process group's rank, or 0).
        seed: shuffling seed, the same on every rank.
        switch_every: batches of one task before switching (1 upstream).
    """

    def __init__(self, task_sizes: Sequence[int], batch_size: int, *, num_replicas: int | None = None,
                 rank: int | None = None, seed: int = 0, switch_every: int = 1) -> None:
        dist = torch.distributed
        initialized = dist.is_available() and dist.is_initialized()
        self.num_replicas = num_replicas if num_replicas is not None else (dist.get_world_size() if initialized else 1)
        self.rank = rank if rank is not None else (dist.get_rank() if initialized else 0)
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"rank must be in [0, {self.num_replicas}); got {self.rank}")
        if batch_size < 1 or switch_every < 1 or not task_sizes:
            raise ValueError("need batch_size >= 1, switch_every >= 1 and at least one task")
        self.task_sizes = [int(n) for n in task_sizes]
        self.batch_size, self.seed, self.switch_every, self.epoch = int(batch_size), int(seed), int(switch_every), 0
        global_batch = self.batch_size * self.num_replicas
        short = [k for k, n in enumerate(self.task_sizes) if n < global_batch * self.switch_every]
        if short:
            raise ValueError(f"task(s) {short} have fewer items ({[self.task_sizes[k] for k in short]}) than "
                             f"{self.switch_every} global batch(es) of {self.batch_size} x {self.num_replicas} ranks")
        self.offsets = np.concatenate([[0], np.cumsum(self.task_sizes)[:-1]]).astype(np.int64)

    def set_epoch(self, epoch: int) -> None:
        """Shuffle with ``epoch`` (call before each epoch, on every rank)."""
        self.epoch = int(epoch)

    def schedule(self) -> list[int]:
        """The task index of every step of an epoch."""
        cycles = min(n // (self.batch_size * self.num_replicas * self.switch_every) for n in self.task_sizes)
        cycle = [k for k in range(len(self.task_sizes)) for _ in range(self.switch_every)]
        return cycle * cycles

    def __len__(self) -> int:
        return len(self.schedule())

    def __iter__(self) -> Iterator[list[int]]:
        perms = [np.random.default_rng([self.seed, self.epoch, k]).permutation(n) + self.offsets[k]
                 for k, n in enumerate(self.task_sizes)]
        used = [0] * len(self.task_sizes)
        global_batch = self.batch_size * self.num_replicas
        for task in self.schedule():
            start = used[task] * global_batch + self.rank * self.batch_size
            used[task] += 1
            yield perms[task][start:start + self.batch_size].tolist()
