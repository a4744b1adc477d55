"""COCO instances (boxes and masks via pycocotools) as still-image pairs for every task."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from unicorn.data.train_sets.base import TableVideo, TrainSet, Video, valid_boxes
from unicorn.geometry import clip_boxes_xyxy, xywh_to_xyxy


class COCOTrain(TrainSet):
    """COCO: ``<root>/annotations/instances_<split>.json`` and ``<root>/<split>/<file_name>``.

    Crowd annotations are left out. Classes are indices into the sorted category ids (0..79),
    or into ``categories`` when given (then other categories are left out). Images without a
    usable object are not listed.

    Upstream uses COCO with ``min_size=32`` for SOT (one object of both sides > 32 px), with
    ``max_instances=5`` for VOS, all 80 classes for MOT pre-training and ``categories=("person",)``
    for MOTS on MOTChallenge.

    Args:
        root: the COCO folder.
        split: "train2017" (default) or "val2017".
        categories: category names to keep, in class order; None = all.
        min_size: objects must be wider and taller than this (pixels, after clipping to the image).
        max_instances: keep at most this many objects per image (in annotation order).
    """

    name = "COCO"
    default_root = "datasets/COCO"
    layout_hint = "<root>/annotations/instances_train2017.json and <root>/train2017/000000000009.jpg ..."
    is_video = False
    has_masks = True

    def __init__(self, root: str | Path | None = None, split: str = "train2017", categories: tuple[str, ...] | None
                 = None, min_size: float = 0, max_instances: int = 100) -> None:
        super().__init__(root)
        from pycocotools.coco import COCO

        ann_file = self.root / "annotations" / f"instances_{split}.json"
        if not ann_file.is_file():
            raise self.missing(ann_file, "the annotation file")
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
            coco = COCO(str(ann_file))
        cats = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
        if categories is None:
            class_of = {cid: k for k, cid in enumerate(sorted(cats))}
        else:
            unknown = [n for n in categories if n not in cats.values()]
            if unknown:
                raise self.missing(ann_file, f"categories {unknown}")
            class_of = {cid: list(categories).index(n) for cid, n in cats.items() if n in categories}
        self.image_dir, self.split = self.root / split, split
        self.items: list[tuple[str, np.ndarray, np.ndarray, list]] = []
        for img_id in sorted(coco.getImgIds()):
            info = coco.loadImgs(img_id)[0]
            anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=[img_id], iscrowd=False))
                    if a["category_id"] in class_of]
            boxes_xywh = np.asarray([a["bbox"] for a in anns], np.float64).reshape(-1, 4)
            boxes = clip_boxes_xyxy(xywh_to_xyxy(boxes_xywh), (info["height"], info["width"]))
            ok = valid_boxes(boxes, self.skips, f"{ann_file.name} image {img_id}")
            ok &= np.asarray([a.get("area", 1) > 0 for a in anns], bool).reshape(-1)
            ok &= np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) > min_size
            keep = np.flatnonzero(ok)[:max_instances]
            if len(keep):
                classes = np.asarray([class_of[anns[i]["category_id"]] for i in keep], np.int64)
                self.items.append((info.get("file_name", f"{img_id:012d}.jpg"), boxes[keep], classes,
                                   [anns[i]["segmentation"] for i in keep]))
        if not self.items:
            raise self.missing(ann_file, "images with usable objects")

    def __len__(self) -> int:
        return len(self.items)

    def video(self, index: int) -> Video:
        file_name, boxes, classes, segmentations = self.items[index]
        n = len(boxes)
        return TableVideo(file_name, [self.image_dir / file_name], 1, np.zeros(n), np.arange(1, n + 1), classes,
                          boxes, segmentations)
