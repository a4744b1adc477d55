"""Training batches from the config's datasets: per-task mixes, alternating batches, resumable streams."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ..data.samples import collate_pairs
from ..errors import UserError, reason
from .config import DatasetConfig, TrainConfig
from .distributed import DistInfo


class BatchStream:
    """Endless iterator of collated batches over epochs that can start at any iteration.

    Each epoch calls ``set_epoch`` on the dataset and the batch sampler and runs a fresh
    ``DataLoader`` whose worker seeds come from ``(seed, rank, epoch)``; starting mid-epoch skips
    the first batches *by index only* (nothing is loaded). With datasets whose randomness is a
    function of ``(seed, epoch, index)`` (ours are), a resumed run sees exactly the batches of an
    uninterrupted one.

    Args:
        dataset: map-style dataset of :class:`~unicorn.data.samples.PairSample`.
        batch_sampler: yields lists of indices; ``len`` = batches per epoch.
        num_workers: loader processes.
        seed: base seed.
        rank: this process's rank.
        start_iteration: batches already consumed (resuming).
        pin_memory: pin batches for faster copies to a GPU.
    """

    def __init__(self, dataset: torch.utils.data.Dataset, batch_sampler, *, num_workers: int = 0, seed: int = 0,
                 rank: int = 0, start_iteration: int = 0, pin_memory: bool = False) -> None:
        self.dataset = dataset
        self.batch_sampler = batch_sampler
        self.per_epoch = len(batch_sampler)
        if self.per_epoch == 0:
            raise UserError("the training data gives no full batch per epoch; raise samples_per_epoch or lower "
                            "batch_size")
        self.num_workers = num_workers
        self.seed = seed
        self.rank = rank
        self.pin_memory = pin_memory
        self.epoch, skip = divmod(start_iteration, self.per_epoch)
        self._it = self._start_epoch(skip)

    def _start_epoch(self, skip: int) -> Iterator[dict]:
        for obj in (self.dataset, self.batch_sampler):
            if hasattr(obj, "set_epoch"):
                obj.set_epoch(self.epoch)
        batches = list(self.batch_sampler)[skip:]
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.rank * 10_007 + self.epoch) % 2**63)
        loader = torch.utils.data.DataLoader(self.dataset, batch_sampler=batches, num_workers=self.num_workers,
                                             collate_fn=collate_pairs, generator=generator,
                                             pin_memory=self.pin_memory)
        return iter(loader)

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> dict:
        try:
            return next(self._it)
        except StopIteration:
            self.epoch += 1
            self._it = self._start_epoch(0)
            return next(self._it)


def build_pair_dataset(spec: DatasetConfig, cfg: TrainConfig, seed: int):
    """One source of pairs (``synthetic`` or a named training set) for its task."""
    options = dict(spec.options)
    if spec.name == "synthetic":
        from ..data.synthetic import SyntheticPairDataset

        if spec.reader_options:
            raise UserError("dataset 'synthetic' has no reader; put its settings under options")
        try:
            return SyntheticPairDataset(input_size=cfg.input_size, task=spec.task, seed=seed, **options)
        except TypeError as exc:
            raise UserError(f"dataset 'synthetic': bad options {options} ({reason(exc)})") from None
    from ..data.pairs import PairDataset
    from ..data.train_sets import open_train_set

    try:
        source = open_train_set(spec.name, spec.root or None, **spec.reader_options)
    except TypeError as exc:
        raise UserError(f"dataset {spec.name!r}: bad reader_options {spec.reader_options} ({reason(exc)})") from None
    try:
        return PairDataset(source, spec.task, cfg.input_size, seed=seed, **options)
    except TypeError as exc:
        raise UserError(f"dataset {spec.name!r}: bad options {options} ({reason(exc)})") from None


def build_batch_stream(cfg: TrainConfig, info: DistInfo, start_iteration: int = 0) -> BatchStream:
    """Mix the config's datasets per task, alternate (or not) the tasks, shard over ranks.

    With ``alternate_tasks`` each batch holds one task and ``samples_per_epoch`` is split evenly over
    the tasks (upstream: 100k SOT + 100k MOT); without it all datasets form one mix (weights across
    tasks) and a batch may hold both tasks.
    """
    from ..data.pairs import MixedPairDataset
    from ..data.samplers import AlternatingTaskSampler, TaskConcatDataset

    if not cfg.datasets:
        raise UserError("the config lists no datasets; add e.g. datasets: [{name: synthetic, task: sot}]")
    task_ids = sorted({d.task_id for d in cfg.datasets})
    groups = [[d for d in cfg.datasets if d.task_id == t] for t in task_ids] if cfg.alternate_tasks \
        else [list(cfg.datasets)]
    per_group = cfg.samples_per_epoch // len(groups)
    mixes = []
    for k, specs in enumerate(groups):
        parts = [(build_pair_dataset(d, cfg, cfg.seed + 7919 * (100 * k + j)), d.weight) for j, d in enumerate(specs)]
        mixes.append(MixedPairDataset(parts, per_group, seed=cfg.seed + k))
    dataset = TaskConcatDataset(mixes)
    sampler = AlternatingTaskSampler(dataset.sizes, cfg.batch_size, num_replicas=info.world_size, rank=info.rank,
                                     seed=cfg.seed, switch_every=1)
    return BatchStream(dataset, sampler, num_workers=cfg.num_workers, seed=cfg.seed, rank=info.rank,
                       start_iteration=start_iteration, pin_memory=info.device.type == "cuda")


__all__ = ["BatchStream", "build_batch_stream", "build_pair_dataset"]
