"""Benchmark readers with one sequence interface (see ``base.Sequence``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from unicorn.data.datasets.base import Benchmark, Sequence, TrackAnnotations
from unicorn.data.datasets.bdd100k import BDD100K
from unicorn.data.datasets.davis import DAVIS
from unicorn.data.datasets.got10k import GOT10k
from unicorn.data.datasets.lasot import LaSOT
from unicorn.data.datasets.mot_challenge import MOTChallenge
from unicorn.data.datasets.mots import MOTS20, KittiMOTS
from unicorn.data.datasets.otb import OTB
from unicorn.data.datasets.trackingnet import TrackingNet
from unicorn.data.datasets.youtube_vos import YouTubeVOS
from unicorn.errors import UserError

# name -> factory(root, split); split None means the benchmark's evaluation split.
BENCHMARKS: dict[str, Callable[[str | Path | None, str | None], Benchmark]] = {
    "lasot": lambda root, split: LaSOT(root),
    "got10k": lambda root, split: GOT10k(root, split or "val"),
    "trackingnet": lambda root, split: TrackingNet(root, split or "TEST"),
    "otb": lambda root, split: OTB(root),
    "davis2016": lambda root, split: DAVIS(root, 2016, split or "val"),
    "davis2017": lambda root, split: DAVIS(root, 2017, split or "val"),
    "youtube-vos": lambda root, split: YouTubeVOS(root, split or "valid"),
    "mot15": lambda root, split: MOTChallenge(root, "MOT15", split or "train"),
    "mot16": lambda root, split: MOTChallenge(root, "MOT16", split or "train"),
    "mot17": lambda root, split: MOTChallenge(root, "MOT17", split or "train"),
    "mot20": lambda root, split: MOTChallenge(root, "MOT20", split or "train"),
    "mots20": lambda root, split: MOTS20(root, split or "train"),
    "kitti-mots": lambda root, split: KittiMOTS(root, split or "val"),
    "bdd100k-box": lambda root, split: BDD100K(root, "box", split or "val"),
    "bdd100k-seg": lambda root, split: BDD100K(root, "mask", split or "val"),
}


def open_benchmark(name: str, root: str | Path | None = None, split: str | None = None) -> Benchmark:
    """The reader of a benchmark by name (see ``BENCHMARKS``).

    Args:
        name: benchmark name, case-insensitive (e.g. "lasot", "mot17", "davis2017", "bdd100k-box").
        root: dataset folder; None uses the reader's default under ``datasets/``.
        split: split to read; None uses the evaluation split.

    Raises:
        UserError: unknown name, or the dataset folder does not exist.
    """
    key = name.lower().replace("_", "-")
    if key not in BENCHMARKS:
        raise UserError(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[key](root, split)


__all__ = ["BENCHMARKS", "BDD100K", "Benchmark", "DAVIS", "GOT10k", "KittiMOTS", "LaSOT", "MOTChallenge",
           "MOTS20", "OTB", "Sequence", "TrackAnnotations", "TrackingNet", "YouTubeVOS", "open_benchmark"]
