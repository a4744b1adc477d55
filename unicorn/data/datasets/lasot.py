"""LaSOT reader (single-object tracking, 280 test sequences)."""

from __future__ import annotations

from pathlib import Path

from unicorn.data.datasets.base import Benchmark, Sequence, sorted_images
from unicorn.data.datasets.textio import read_box_rows, read_flag_file


class LaSOT(Benchmark):
    """LaSOT: ``<root>/<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/}``.

    The sequences are those listed in ``<root>/testing_set.txt`` when present (the official test
    split), otherwise every sequence folder found. A flat layout (``<root>/<class>-<n>/``, as in
    the LaSOT test-only download) works too. A frame is visible unless it is marked in
    ``full_occlusion.txt`` or ``out_of_view.txt``.
    """

    name = "LaSOT"
    task = "sot"
    default_root = "datasets/lasot"
    layout_hint = "<root>/<class>/<class>-<n>/groundtruth.txt (+ full_occlusion.txt, out_of_view.txt, img/)"

    def _seq_dir(self, name: str) -> Path:
        nested = self.root / name.rsplit("-", 1)[0] / name
        return nested if nested.is_dir() else self.root / name

    def sequence_names(self) -> list[str]:
        listing = self.root / "testing_set.txt"
        if listing.is_file():
            return [s.strip() for s in listing.read_text().splitlines() if s.strip()]
        found = {p.parent.name for p in self.root.glob("*/groundtruth.txt")}
        found |= {p.parent.name for p in self.root.glob("*/*/groundtruth.txt")}
        if not found:
            raise self.missing(self.root, "sequence folders with groundtruth.txt")
        return sorted(found)

    def load(self, name: str) -> Sequence:
        folder = self._seq_dir(name)
        gt_file = folder / "groundtruth.txt"
        if not gt_file.is_file():
            raise self.missing(gt_file, f"ground truth of sequence {name}")
        boxes, _ = read_box_rows(gt_file)
        visible = (boxes[:, 2:] > 0).all(axis=1)
        for flag_name in ("full_occlusion.txt", "out_of_view.txt"):
            if (folder / flag_name).is_file():
                flags = read_flag_file(folder / flag_name)
                if len(flags) == len(boxes):
                    visible &= flags == 0
        return Sequence(name=name, frame_paths=sorted_images(folder / "img"), num_frames=len(boxes),
                        boxes_xywh=boxes, visible=visible, object_ids=[1])
