"""OTB-2015 (OTB-100) reader."""

from __future__ import annotations

from unicorn.data.datasets.base import Benchmark, Sequence, sorted_images
from unicorn.data.datasets.textio import read_box_rows


class OTB(Benchmark):
    """OTB: ``<root>/<Seq>/groundtruth_rect.txt`` and ``<root>/<Seq>/img/0001.jpg ...``.

    Folders with two targets (``groundtruth_rect.1.txt``, ``.2.txt``) give the sequences
    ``<Seq>_1`` and ``<Seq>_2``. The frames are the first T images, T = number of gt rows (the
    few OTB sequences whose annotation starts later than image 1 need their images trimmed).
    """

    name = "OTB"
    task = "sot"
    default_root = "datasets/otb"
    layout_hint = "<root>/<Seq>/groundtruth_rect.txt and <root>/<Seq>/img/"

    def sequence_names(self) -> list[str]:
        names = []
        for gt in sorted(self.root.glob("*/groundtruth_rect*.txt")):
            parts = gt.name.split(".")
            names.append(gt.parent.name if len(parts) == 2 else f"{gt.parent.name}_{parts[1]}")
        if not names:
            raise self.missing(self.root, "<Seq>/groundtruth_rect.txt files")
        return names

    def load(self, name: str) -> Sequence:
        folder = self.root / name
        gt_file = folder / "groundtruth_rect.txt"
        if not folder.is_dir() and "_" in name:
            base, k = name.rsplit("_", 1)
            folder, gt_file = self.root / base, self.root / base / f"groundtruth_rect.{k}.txt"
        if not gt_file.is_file():
            raise self.missing(gt_file, f"ground truth of sequence {name}")
        boxes, _ = read_box_rows(gt_file)
        frames = sorted_images(folder / "img")[: len(boxes)]
        return Sequence(name=name, frame_paths=frames, num_frames=len(boxes), boxes_xywh=boxes,
                        visible=(boxes[:, 2:] > 0).all(axis=1), object_ids=[1])
