"""The project's real annotated clips (``train_data``): DAVIS-2016 train videos with masks, UAV123 /
VOT box sequences, and a fixed validation split of them for choosing settings.

Layout (see ``train_data/README.md`` of the shared data)::

    <root>/vos/<source>__<sequence>/JPEGImages/00000.jpg, Annotations/00000.png, boxes.txt
    <root>/sot/<source>__<sequence>/img/00000.jpg, groundtruth.txt

These clips are for training and for choosing defaults only; no metric on them is ever reported
as the model's accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unicorn.data.train_sets.base import LabelMapVideo, TrainSet, Video

# Held out from training; settings (tracker defaults, when to stop training) are chosen on these.
VALIDATION_VOS = ("davis2016__bear", "davis2016__bus", "davis2016__dance-jump", "davis2016__drift-turn",
                  "davis2016__hike", "davis2016__mallard-water", "davis2016__rhino", "davis2016__tennis")
VALIDATION_SOT = ("uav123_10fps__person12_1", "uav123_10fps__truck4_2", "uav123_10fps__wakeboard7")
DEFAULT_ROOT = "../shared/train_data"


class RealVOSClips(TrainSet):
    """The VOS clips of ``train_data`` (one object per clip, palette masks).

    Args:
        root: the ``train_data`` folder.
        split: ``"train"`` (every clip not in :data:`VALIDATION_VOS`), ``"val"`` (those) or ``"all"``.
    """

    name = "train_data VOS clips"
    default_root = DEFAULT_ROOT
    layout_hint = "<root>/vos/<source>__<sequence>/JPEGImages/00000.jpg and Annotations/00000.png"
    has_masks = True

    def __init__(self, root: str | Path | None = None, split: str = "train") -> None:
        super().__init__(root)
        self.names = split_names(sorted(p.name for p in (self.root / "vos").glob("*__*") if p.is_dir()),
                                 VALIDATION_VOS, split)
        if not self.names:
            raise self.missing(self.root / "vos", f"{split} clips")

    def __len__(self) -> int:
        return len(self.names)

    def video(self, index: int) -> Video:
        folder = self.root / "vos" / self.names[index]
        frames = sorted((folder / "JPEGImages").glob("*.jpg"))
        return LabelMapVideo(self.names[index], frames, [folder / "Annotations" / f"{p.stem}.png" for p in frames])


def split_names(names: list[str], validation: tuple[str, ...], split: str) -> list[str]:
    """``names`` of one split: ``train`` (not in ``validation``), ``val`` (in it) or ``all``."""
    if split not in ("train", "val", "all"):
        raise ValueError(f"split must be 'train', 'val' or 'all', got {split!r}")
    if split == "all":
        return names
    return [n for n in names if (n in validation) == (split == "val")]


@dataclass
class BoxClip:
    """A clip with one target box per frame (x, y, w, h; rows of zeros where it is absent)."""

    name: str
    frame_paths: list[Path]
    boxes_xywh: np.ndarray


def box_clips(root: str | Path = DEFAULT_ROOT, split: str = "val") -> list[BoxClip]:
    """The SOT clips of ``train_data`` and the boxes of its VOS clips, of one split."""
    root = Path(root)
    out = []
    for name in split_names(sorted(p.name for p in (root / "sot").glob("*__*")), VALIDATION_SOT, split):
        folder = root / "sot" / name
        boxes = np.loadtxt(folder / "groundtruth.txt", delimiter=",", ndmin=2)
        out.append(BoxClip(name, sorted((folder / "img").glob("*.jpg")), boxes))
    for name in split_names(sorted(p.name for p in (root / "vos").glob("*__*")), VALIDATION_VOS, split):
        folder = root / "vos" / name
        boxes = np.loadtxt(folder / "boxes.txt", delimiter=",", ndmin=2)
        out.append(BoxClip(name, sorted((folder / "JPEGImages").glob("*.jpg")), boxes))
    return out
