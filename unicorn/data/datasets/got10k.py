"""GOT-10k reader (single-object tracking; the val split has full ground truth)."""

from __future__ import annotations

import ast

import numpy as np

from unicorn.data.datasets.base import Benchmark, Sequence, sorted_images
from unicorn.data.datasets.textio import read_box_rows, read_flag_file, read_ini


class GOT10k(Benchmark):
    """GOT-10k: ``<root>/<split>/list.txt`` and ``<root>/<split>/<seq>/{groundtruth.txt, cover.label,
    absence.label, meta_info.ini, 00000001.jpg ...}``.

    ``extra["cover"]`` holds the per-frame visible-ratio class (0 = fully occluded or out of
    view); the image size comes from ``meta_info.ini``'s ``resolution: (w, h)``. The test split's
    ground truth has only the first frame (it is scored by the GOT-10k server).

    Args:
        root: dataset folder.
        split: "val" (default), "test" or "train".
    """

    name = "GOT-10k"
    task = "sot"
    default_root = "datasets/got10k"
    layout_hint = "<root>/val/list.txt and <root>/val/<seq>/{groundtruth.txt, cover.label, meta_info.ini}"

    def __init__(self, root=None, split: str = "val") -> None:
        super().__init__(root)
        self.split = split

    def sequence_names(self) -> list[str]:
        listing = self.root / self.split / "list.txt"
        if not listing.is_file():
            raise self.missing(listing, f"the {self.split} sequence list")
        return [s.strip() for s in listing.read_text().splitlines() if s.strip()]

    def load(self, name: str) -> Sequence:
        folder = self.root / self.split / name
        gt_file = folder / "groundtruth.txt"
        if not gt_file.is_file():
            raise self.missing(gt_file, f"ground truth of sequence {name}")
        boxes, _ = read_box_rows(gt_file)
        frames = sorted_images(folder, (".jpg",))
        n = max(len(boxes), len(frames))
        extra: dict = {"first_frame_only": len(boxes) == 1 and n > 1}
        cover = folder / "cover.label"
        extra["cover"] = read_flag_file(cover) if cover.is_file() else np.ones(len(boxes), np.int64)
        absence = folder / "absence.label"
        visible = extra["cover"] > 0
        if absence.is_file():
            visible = visible & (read_flag_file(absence) == 0)
        image_size = None
        meta = folder / "meta_info.ini"
        if meta.is_file():
            resolution = read_ini(meta).get("resolution")
            if resolution:
                w, h = ast.literal_eval(resolution)
                image_size = (int(h), int(w))
        return Sequence(name=name, frame_paths=frames, num_frames=n, image_size=image_size,
                        boxes_xywh=boxes, visible=visible, object_ids=[1], extra=extra)
