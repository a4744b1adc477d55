"""Upstream's training-data mixes (UPSTREAM_UNICORN.md §3) and an offline synthetic mix, built into
one dataset per task for ``AlternatingTaskSampler``.

Usage::

    data = build_recipe("box-mot17", input_size=(800, 1280), roots={"lasot": "/data/LaSOT"})
    sampler = AlternatingTaskSampler(data.sizes, batch_size=2)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=collate_pairs, num_workers=4)
    for epoch in range(epochs):
        sampler.set_epoch(epoch); data.set_epoch(epoch)
        ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from unicorn.data.pairs import MixedPairDataset, PairDataset
from unicorn.data.samplers import TaskConcatDataset
from unicorn.data.train_sets import open_train_set
from unicorn.data.transforms import PairTransform
from unicorn.errors import UserError


@dataclass(frozen=True)
class SetSpec:
    """One training set in a mix.

    Attributes:
        name: a ``TRAIN_SETS`` key, or "synthetic" (kwargs go to ``SyntheticTrainSet``).
        task: "sot", "vos", "mot" or "mots".
        weight: sampling weight within its task.
        kwargs: reader arguments (e.g. ``{"min_size": 32}``).
    """

    name: str
    task: str
    weight: float = 1.0
    kwargs: Mapping = field(default_factory=dict)


_SOT = [SetSpec("coco", "sot", 1, {"min_size": 32}), SetSpec("lasot", "sot"), SetSpec("got10k", "sot"),
        SetSpec("trackingnet", "sot")]
_VOS = [SetSpec("coco", "vos", 1, {"max_instances": 5}), SetSpec("saliency", "vos"), SetSpec("davis2017", "vos"),
        SetSpec("youtube-vos", "vos")]

# recipe -> task group ("sot"/"mot" batches alternate; "vos"/"mots" in the mask stage) -> sets.
RECIPES: dict[str, dict[str, list[SetSpec]]] = {
    # stage 1, BDD100K group: box_track_20 videos and det_20 images, concatenated upstream (so
    # weighted by size: about 278k frames vs 70k images).
    "box-bdd100k": {"sot": _SOT, "mot": [SetSpec("bdd100k-box-track", "mot", 4), SetSpec("bdd100k-det", "mot", 1)]},
    # stage 1, MOT-challenge group: MOT17, CrowdHuman, CityPersons, ETHZ 2:6:1:1.
    "box-mot17": {"sot": _SOT, "mot": [SetSpec("mot17", "mot", 2), SetSpec("crowdhuman", "mot", 6),
                                       SetSpec("citypersons", "mot", 1), SetSpec("ethz", "mot", 1)]},
    # stage 2 (masks).
    "mask-bdd100k": {"vos": _VOS, "mots": [SetSpec("bdd100k-seg-track", "mots"), SetSpec("bdd100k-ins-seg", "mots")]},
    "mask-mot17": {"vos": _VOS, "mots": [SetSpec("coco", "mots", 1, {"categories": ("person",)}),
                                         SetSpec("mots20", "mots")]},
    # offline: generated videos only (no downloads).
    "synthetic-box": {"sot": [SetSpec("synthetic", "sot", 1, {"num_sequences": 2000, "seed": 1})],
                      "mot": [SetSpec("synthetic", "mot", 1, {"num_sequences": 2000, "seed": 2, "max_gap": 8})]},
    "synthetic-mask": {"vos": [SetSpec("synthetic", "vos", 1, {"num_sequences": 2000, "seed": 3})],
                       "mots": [SetSpec("synthetic", "mots", 1, {"num_sequences": 2000, "seed": 4, "max_gap": 8})]},
}


def build_pair_dataset(spec: SetSpec, input_size: tuple[int, int], root: str | Path | None = None, seed: int = 0,
                       transform: PairTransform | None = None) -> PairDataset:
    """The ``PairDataset`` of one ``SetSpec`` (reading the set from ``root`` or its default folder)."""
    if spec.name == "synthetic":
        from unicorn.data.synthetic import SyntheticTrainSet

        kwargs = dict(spec.kwargs)
        kwargs.setdefault("size_hw", tuple(input_size))
        source = SyntheticTrainSet(**kwargs)
    else:
        source = open_train_set(spec.name, root, **spec.kwargs)
    return PairDataset(source, spec.task, input_size, seed=seed, transform=transform)


def build_recipe(recipe: str | Mapping[str, Sequence[SetSpec]], input_size: tuple[int, int],
                 samples_per_epoch: int = 200_000, roots: Mapping[str, str | Path] | None = None, seed: int = 0,
                 transform: PairTransform | None = None) -> TaskConcatDataset:
    """One ``MixedPairDataset`` per task group, back to back, for ``AlternatingTaskSampler``.

    Args:
        recipe: a ``RECIPES`` name or ``{task group: [SetSpec, ...]}``.
        input_size: (H, W) training input.
        samples_per_epoch: items of all groups together (split evenly; 200k upstream = 100k per task).
        roots: folder of each set by name (the others use their default folders under ``datasets/``).
        seed: seed of every random draw.
        transform: the augmentation (default ``PairTransform(input_size)``).

    Raises:
        UserError: unknown recipe, or a set's data is missing (naming the expected layout).
    """
    if isinstance(recipe, str):
        if recipe not in RECIPES:
            raise UserError(f"unknown data recipe {recipe!r}; choose one of: {', '.join(RECIPES)}")
        recipe = RECIPES[recipe]
    roots = dict(roots or {})
    mixes = []
    for k, (_, specs) in enumerate(recipe.items()):
        parts = [(build_pair_dataset(s, input_size, roots.get(s.name), seed, transform), s.weight) for s in specs]
        mixes.append(MixedPairDataset(parts, samples_per_epoch // len(recipe), seed=seed * 1000 + k))
    return TaskConcatDataset(mixes)
