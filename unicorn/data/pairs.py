"""Frame-pair sampling over training sets, as upstream's stage-1/2 data pipeline.

* **Video SOT sets** (LaSOT, GOT-10k, TrackingNet): two distinct frames with the target
  visible, uniformly from the whole sequence (``max_gap=None``).
* **Video MOT / VOS sets**: reference uniform over the annotated frames, current frame within
  ±``max_gap`` of it (MOT17 / MOTS20 30, BDD100K 3); VOS sets use any two annotated frames.
* **Still images** (COCO, CrowdHuman, CityPersons, ETHZ, BDD100K det, saliency): the same image twice.
* **Task** decides the labels: "sot" one object present in both frames (track id 1, class 0);
  "vos" every object with masks (class 0); "mot" every object with its class; "mots" with masks.

Then ``PairTransform`` (HSV per frame, shared flip, letterbox). Unusable samples (missing or
corrupt images, empty annotations ...) are counted in the set's ``SkipCounter`` and another
video is drawn, so an epoch never stops on bad data.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch

from unicorn.data.samplers import AlternatingTaskSampler, TaskConcatDataset
from unicorn.data.samples import TASK_IDS, PairSample, collate_pairs
from unicorn.data.skips import BadSample
from unicorn.data.train_sets.base import FrameLabels, TrainSet, Video
from unicorn.data.transforms import PairTransform
from unicorn.errors import UserError

_UNSET = object()


class PairDataset(torch.utils.data.Dataset):
    """Pairs of one training set for one task.

    Item ``i`` starts from video ``i mod len(source)``; all randomness comes from
    ``(seed, epoch, i)``, so an epoch is reproducible and ``set_epoch`` changes it.

    Args:
        source: the training set.
        task: "sot", "vos", "mot" or "mots" (vos / mots need a set with masks).
        input_size: (H, W) training input.
        max_gap: largest frame distance of a pair; None = any two frames; default: the set's.
        seed: random seed.
        transform: the augmentation (default ``PairTransform(input_size)``).
        max_objects: keep at most this many objects per frame (VOS upstream: 5 for COCO).
        max_retries: consecutive unusable draws before giving up with an error.
    """

    def __init__(self, source: TrainSet, task: str, input_size: tuple[int, int] = (800, 1280), *,
                 max_gap: int | None | object = _UNSET, seed: int = 0, transform: PairTransform | None = None,
                 max_objects: int | None = None, max_retries: int = 50) -> None:
        if task not in TASK_IDS:
            raise UserError(f"task must be one of {', '.join(TASK_IDS)}; got {task!r}")
        if task in ("vos", "mots") and not source.has_masks:
            raise UserError(f"{source.name} has no instance masks, so it cannot give {task.upper()} pairs; "
                            f"use it for {'SOT' if task == 'vos' else 'MOT'} instead")
        if len(source) == 0:
            raise UserError(f"{source.name} at '{source.root}' has no usable videos or images")
        self.source, self.task, self.seed, self.epoch = source, task, int(seed), 0
        self.max_gap = source.default_max_gap if max_gap is _UNSET else max_gap
        self.transform = transform or PairTransform(input_size)
        self.max_objects, self.max_retries = max_objects, max_retries

    @property
    def name(self) -> str:
        """The set's name and the task."""
        return f"{self.source.name} ({self.task})"

    def __len__(self) -> int:
        return len(self.source)

    def set_epoch(self, epoch: int) -> None:
        """Use the random draws of ``epoch``."""
        self.epoch = int(epoch)

    def __getitem__(self, index: int) -> PairSample:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        return self._draw(rng, int(index) % len(self.source))

    def sample(self, rng: np.random.Generator) -> PairSample:
        """A pair from a random video, drawn with ``rng`` (used by ``MixedPairDataset``)."""
        return self._draw(rng, None)

    def _draw(self, rng: np.random.Generator, first: int | None) -> PairSample:
        for attempt in range(self.max_retries):
            index = first if attempt == 0 and first is not None else int(rng.integers(len(self.source)))
            try:
                return self.make_pair(self.source.video(index), rng)
            except (BadSample, UserError, OSError, cv2.error) as err:
                self.source.skips.add_exception(err)
        raise RuntimeError(f"{self.name}: {self.max_retries} draws in a row were unusable; "
                           f"{self.source.skips.summary()}. Check the data at '{self.source.root}'.")

    def pick_frames(self, video: Video, rng: np.random.Generator) -> tuple[int, int]:
        """0-based (reference, current) frame indices; the same index twice for a still image."""
        usable = video.usable_frames()
        if len(usable) == 0:
            raise BadSample("no usable frames", video.name)
        if not self.source.is_video or video.num_frames == 1:
            t = int(rng.choice(usable))
            return t, t
        if len(usable) < 2:
            raise BadSample("fewer than 2 usable frames", video.name)
        if self.max_gap is None:
            ref, cur = (int(t) for t in rng.choice(usable, 2, replace=False))
            return (min(ref, cur), max(ref, cur)) if self.task == "vos" else (ref, cur)
        ref = int(rng.choice(usable))
        near = usable[(np.abs(usable - ref) <= self.max_gap) & (usable != ref)]
        if len(near) == 0:
            raise BadSample("no second frame within max_gap", f"{video.name} frame {ref + 1}")
        return ref, int(rng.choice(near))

    def make_pair(self, video: Video, rng: np.random.Generator) -> PairSample:
        """Draw frames and objects of one video and transform them. Raises ``BadSample``."""
        t_ref, t_cur = self.pick_frames(video, rng)
        with_masks = self.task in ("vos", "mots")
        ref = video.load(t_ref, with_masks)
        cur = ref if t_cur == t_ref else video.load(t_cur, with_masks)
        ref, cur = self.select_objects(ref, cur, rng, video.name)
        return self.transform(ref, cur, self.task, rng)

    def select_objects(self, ref: FrameLabels, cur: FrameLabels, rng: np.random.Generator, name: str
                       ) -> tuple[FrameLabels, FrameLabels]:
        """Labels for the task: one shared object (SOT), class 0 for SOT/VOS, at most ``max_objects``."""
        ref, cur = (f.select(np.arange(len(f))) for f in (ref, cur))  # own copies of the label arrays
        if self.task in ("sot", "vos"):
            common = np.intersect1d(ref.track_ids, cur.track_ids)
            if len(common) == 0:
                raise BadSample("no object in both frames", name)
            if self.task == "sot":
                target = rng.choice(common)
                ref, cur = (f.select(f.track_ids == target) for f in (ref, cur))
                ref.track_ids[:], cur.track_ids[:] = 1, 1
            ref.classes[:], cur.classes[:] = 0, 0
        if self.max_objects is not None:
            ref = ref.select(np.arange(min(len(ref), self.max_objects)))
            cur = cur.select(np.isin(cur.track_ids, ref.track_ids))
        return ref, cur


class MixedPairDataset(torch.utils.data.Dataset):
    """Several pair datasets drawn with sampling weights (upstream ``OmniDataset``).

    Item ``i`` picks a dataset with probability proportional to its weight and draws a pair from
    it, all with a generator seeded by ``(seed, epoch, i)``.

    Args:
        datasets: ``[(dataset, weight), ...]``; each dataset has ``sample(rng)`` (a ``PairDataset``).
        samples_per_epoch: the length of an epoch.
        seed: random seed.
    """

    def __init__(self, datasets: Sequence[tuple[PairDataset, float]], samples_per_epoch: int, seed: int = 0) -> None:
        if not datasets:
            raise UserError("MixedPairDataset needs at least one (dataset, weight)")
        weights = np.asarray([float(w) for _, w in datasets])
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise UserError(f"sampling weights must be >= 0 with a positive sum; got {weights.tolist()}")
        if samples_per_epoch < 1:
            raise UserError(f"samples_per_epoch must be >= 1; got {samples_per_epoch}")
        self.datasets = [d for d, _ in datasets]
        self.probs = weights / weights.sum()
        self.samples_per_epoch, self.seed, self.epoch = int(samples_per_epoch), int(seed), 0

    def __len__(self) -> int:
        return self.samples_per_epoch

    def set_epoch(self, epoch: int) -> None:
        """Use the random draws of ``epoch``."""
        self.epoch = int(epoch)

    def __getitem__(self, index: int) -> PairSample:
        rng = np.random.default_rng([self.seed, self.epoch, int(index)])
        return self.datasets[int(rng.choice(len(self.datasets), p=self.probs))].sample(rng)

    def sample(self, rng: np.random.Generator) -> PairSample:
        """A pair drawn with ``rng`` (so mixes can be nested)."""
        return self.datasets[int(rng.choice(len(self.datasets), p=self.probs))].sample(rng)


__all__ = ["AlternatingTaskSampler", "MixedPairDataset", "PairDataset", "PairSample", "PairTransform",
           "TaskConcatDataset", "collate_pairs"]
