"""TrackingNet reader (single-object tracking)."""

from __future__ import annotations

from pathlib import Path

from unicorn.data.datasets.base import Benchmark, Sequence
from unicorn.data.datasets.textio import read_box_rows


class TrackingNet(Benchmark):
    """TrackingNet: ``<root>/<split>/anno/<seq>.txt`` and ``<root>/<split>/frames/<seq>/<i>.jpg``.

    ``split`` is "TEST" (default; only the first frame is annotated, the rest is scored by the
    TrackingNet server) or a training chunk "TRAIN_0" .. "TRAIN_11" (fully annotated).
    """

    name = "TrackingNet"
    task = "sot"
    default_root = "datasets/trackingnet"
    layout_hint = "<root>/TEST/anno/<seq>.txt and <root>/TEST/frames/<seq>/0.jpg ..."

    def __init__(self, root=None, split: str = "TEST") -> None:
        super().__init__(root)
        self.split = split

    def sequence_names(self) -> list[str]:
        anno = self.root / self.split / "anno"
        if not anno.is_dir():
            raise self.missing(anno, f"the {self.split} annotation folder")
        return sorted(p.stem for p in anno.glob("*.txt"))

    def load(self, name: str) -> Sequence:
        boxes, _ = read_box_rows(self.root / self.split / "anno" / f"{name}.txt")
        folder = self.root / self.split / "frames" / name
        frames: list[Path] = []
        if folder.is_dir():
            frames = sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
        n = max(len(boxes), len(frames))
        return Sequence(name=name, frame_paths=frames, num_frames=n, boxes_xywh=boxes,
                        visible=(boxes[:, 2:] > 0).all(axis=1), object_ids=[1],
                        extra={"first_frame_only": len(boxes) == 1 and n > 1})
