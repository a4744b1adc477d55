"""MOTS20 and KITTI-MOTS readers and the MOTS txt format (``frame id class h w rle``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unicorn.data.datasets.base import Benchmark, Sequence, TrackAnnotations, sorted_images
from unicorn.data.datasets.textio import read_ini
from unicorn.errors import UserError

IGNORE_CLASS = 10  # MOTS / KITTI-MOTS class of ignore regions (object id 10000)


def read_mots_txt(path: str | Path, num_frames: int | None = None, frame_base: int = 1) -> TrackAnnotations:
    """Read a MOTS txt file: ``frame obj_id class_id img_h img_w rle`` (COCO compressed RLE).

    Args:
        path: the file.
        num_frames: when given, frames outside the sequence are an error.
        frame_base: the number of the first frame in the file (1 for MOTS20, 0 for KITTI-MOTS);
            frames are returned 1-based.

    Returns:
        Rows with ``rles`` set and ``boxes`` the tight box of each mask (xywh).

    Raises:
        UserError: a malformed line or a frame out of range (naming the file and the line).
    """
    from pycocotools import mask as mask_utils

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    cols: list[tuple[int, int, int]] = []
    rles: list[dict] = []
    lines: list[int] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            parts = line.strip().split(" ", 5)
            if parts == [""]:
                continue
            try:
                frame, obj, cls, h, w = (int(x) for x in parts[:5])
                counts = parts[5].strip()
            except (ValueError, IndexError):
                raise UserError(f"{path}:{number}: expected 'frame id class height width rle', "
                                f"got {line.strip()[:80]!r}") from None
            frame = frame - frame_base + 1
            if frame < 1 or (num_frames is not None and frame > num_frames):
                limit = f"{frame_base}..{(num_frames or 0) + frame_base - 1}" if num_frames else f">= {frame_base}"
                raise UserError(f"{path}:{number}: frame {frame + frame_base - 1} is outside the sequence ({limit})")
            cols.append((frame, obj, cls))
            rles.append({"size": [h, w], "counts": counts})
            lines.append(number)
    arr = np.asarray(cols, dtype=np.int64).reshape(-1, 3)
    boxes = np.asarray(mask_utils.toBbox(rles), dtype=np.float64).reshape(-1, 4) if rles else np.zeros((0, 4))
    return TrackAnnotations(frames=arr[:, 0], ids=arr[:, 1], boxes=boxes, classes=arr[:, 2],
                            ignored=arr[:, 2] == IGNORE_CLASS, rles=rles, source=str(path), lines=lines)


class MOTS20(Benchmark):
    """MOTS20: ``<root>/<split>/MOTS20-XX/{gt/gt.txt, seqinfo.ini, img1/}``; evaluates pedestrians (class 2)."""

    name = "MOTS20"
    task = "mots"
    default_root = "datasets/MOTS"
    layout_hint = "<root>/train/MOTS20-02/gt/gt.txt (+ seqinfo.ini, img1/)"
    classes = {"pedestrian": 2}
    frame_base = 1

    def __init__(self, root=None, split: str = "train") -> None:
        super().__init__(root)
        self.split = split

    @property
    def split_root(self) -> Path:
        """Folder holding one folder per sequence."""
        return self.root / self.split if (self.root / self.split).is_dir() else self.root

    def sequence_names(self) -> list[str]:
        names = sorted(p.parent.parent.name for p in self.split_root.glob("*/gt/gt.txt"))
        if not names:
            raise self.missing(self.split_root, "<seq>/gt/gt.txt files")
        return names

    def load(self, name: str) -> Sequence:
        folder = self.split_root / name
        info = read_ini(folder / "seqinfo.ini") if (folder / "seqinfo.ini").is_file() else {}
        frames = sorted_images(folder / info.get("imDir", "img1"))
        tracks = read_mots_txt(folder / "gt" / "gt.txt")
        n = max(len(frames) or int(info.get("seqLength", 0)), int(tracks.frames.max(initial=0)))
        size = tuple(tracks.rles[0]["size"]) if tracks.rles else None
        return Sequence(name=name, frame_paths=frames, num_frames=n, image_size=size, tracks=tracks)


class KittiMOTS(Benchmark):
    """KITTI-MOTS: ``<root>/instances_txt/<seq>.txt`` (0-based frames) and ``<root>/training/image_02/<seq>/``.

    Cars (class 1) and pedestrians (class 2) are evaluated. The sequences are those of
    ``<root>/val.seqmap`` (or ``seqmaps/val.seqmap``; lines ``0002 empty 000000 000233``) when
    present, otherwise every txt file.
    """

    name = "KITTI-MOTS"
    task = "mots"
    default_root = "datasets/kitti_mots"
    layout_hint = "<root>/instances_txt/0002.txt (+ training/image_02/0002/, val.seqmap)"
    classes = {"car": 1, "pedestrian": 2}
    frame_base = 0

    def __init__(self, root=None, split: str = "val") -> None:
        super().__init__(root)
        self.split = split
        self._lengths: dict[str, int] = {}

    def sequence_names(self) -> list[str]:
        for seqmap in (self.root / f"{self.split}.seqmap", self.root / "seqmaps" / f"{self.split}.seqmap"):
            if seqmap.is_file():
                for line in seqmap.read_text().splitlines():
                    parts = line.split()
                    if len(parts) >= 4:
                        self._lengths[parts[0]] = int(parts[3]) + 1
                return list(self._lengths)
        names = sorted(p.stem for p in (self.root / "instances_txt").glob("*.txt"))
        if not names:
            raise self.missing(self.root / "instances_txt", "<seq>.txt files")
        return names

    def load(self, name: str) -> Sequence:
        frames = sorted_images(self.root / "training" / "image_02" / name)
        tracks = read_mots_txt(self.root / "instances_txt" / f"{name}.txt", frame_base=0)
        n = max(self._lengths.get(name, 0) or len(frames), int(tracks.frames.max(initial=0)))
        size = tuple(tracks.rles[0]["size"]) if tracks.rles else None
        return Sequence(name=name, frame_paths=frames, num_frames=n, image_size=size, tracks=tracks)
