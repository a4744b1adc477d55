"""Pedestrian MOT training data (class 0 = person): MOT17 videos, and CrowdHuman, CityPersons
and ETHZ still images (upstream's MOT-challenge mix 2:6:1:1)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from unicorn.data.datasets import MOTChallenge
from unicorn.data.skips import BadSample, read_image
from unicorn.data.train_sets.base import FrameLabels, TableVideo, TrainSet, Video, valid_boxes

PEDESTRIAN = 1  # MOTChallenge gt class of pedestrians


class MOT17Train(TrainSet):
    """MOTChallenge training videos with their pedestrians (gt class 1 with the "consider" flag).

    Only one of the three MOT17 copies of each video is used (``detector``; the gt is the same).
    Frames without a pedestrian are not used. Pairs are at most ``max_gap`` (30) frames apart.

    Args:
        root: the MOT17 folder (``train/MOT17-02-FRCNN/{gt/gt.txt, img1/}``).
        benchmark: "MOT17" (default), "MOT16" or "MOT20".
        split: "train".
        detector: keep the sequences ending with this (None for MOT20).
    """

    name = "MOT17"
    default_root = "datasets/mot"
    layout_hint = "<root>/train/MOT17-02-FRCNN/{gt/gt.txt, img1/000001.jpg} ..."
    default_max_gap = 30

    def __init__(self, root: str | Path | None = None, benchmark: str = "MOT17", split: str = "train",
                 detector: str | None = "FRCNN") -> None:
        super().__init__(root)
        reader = MOTChallenge(self.root, benchmark, split, detector if benchmark != "MOT20" else None)
        self.videos: list[TableVideo] = []
        for name in reader.sequence_names():
            seq = reader.load(name)
            tr = seq.tracks
            keep = (tr.flags == 1) & np.isin(tr.classes, (PEDESTRIAN, -1))
            keep &= valid_boxes(tr.boxes_xyxy, self.skips, tr.source)
            if not keep.any():
                self.skips.add("empty annotation file", tr.source or name)
                continue
            tr = tr.select(keep)
            self.videos.append(TableVideo(name, seq.frame_paths, seq.num_frames, tr.frames - 1, tr.ids,
                                          np.zeros(len(tr)), tr.boxes_xyxy))
        if not self.videos:
            raise self.missing(reader.split_root, "sequences with pedestrian ground truth")

    def __len__(self) -> int:
        return len(self.videos)

    def video(self, index: int) -> Video:
        return self.videos[index]


class CrowdHuman(TrainSet):
    """CrowdHuman: ``<root>/annotation_<split>.odgt`` and ``<root>/Images/<ID>.jpg``.

    Full-body boxes (``fbox``) of "person" entries not marked ``ignore``; one image = a pair of
    the same image. Unreadable odgt lines are skipped and counted.

    Args:
        root: the CrowdHuman folder (images may also be in ``CrowdHuman_<split>/Images``).
        split: "train" (default) or "val".
    """

    name = "CrowdHuman"
    default_root = "datasets/crowdhuman"
    layout_hint = "<root>/annotation_train.odgt and <root>/Images/273271,c9db000d5146c15.jpg ..."
    is_video = False

    def __init__(self, root: str | Path | None = None, split: str = "train") -> None:
        super().__init__(root)
        odgt = self.root / f"annotation_{split}.odgt"
        if not odgt.is_file():
            raise self.missing(odgt, "the annotation file")
        self.image_dir = next((d for d in (self.root / "Images", self.root / f"CrowdHuman_{split}" / "Images")
                               if d.is_dir()), self.root / "Images")
        self.items: list[tuple[str, np.ndarray]] = []
        for number, line in enumerate(odgt.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                boxes = np.asarray([g["fbox"] for g in record.get("gtboxes", []) if g.get("tag") == "person"
                                    and not (g.get("extra") or {}).get("ignore", 0)], np.float64).reshape(-1, 4)
                image_id = str(record["ID"])
            except (ValueError, KeyError, TypeError):
                self.skips.add("unreadable annotation line", f"{odgt}:{number}")
                continue
            boxes[:, 2:] += boxes[:, :2]
            boxes = boxes[valid_boxes(boxes, self.skips, f"{odgt}:{number}")]
            if len(boxes):
                self.items.append((image_id, boxes))
        if not self.items:
            raise self.missing(odgt, "annotated images")

    def __len__(self) -> int:
        return len(self.items)

    def video(self, index: int) -> Video:
        image_id, boxes = self.items[index]
        n = len(boxes)
        return TableVideo(image_id, [self.image_dir / f"{image_id}.jpg"], 1, np.zeros(n), np.arange(1, n + 1),
                          np.zeros(n), boxes)


class JDEImage(Video):
    """A still image with a JDE label file (``class id cx cy w h`` normalised to the image size)."""

    def __init__(self, image_path: Path, label_path: Path) -> None:
        self.name, self.num_frames = str(image_path), 1
        self.image_path, self.label_path = image_path, label_path

    def usable_frames(self) -> np.ndarray:
        return np.zeros(1, np.int64)

    def load(self, t: int, with_masks: bool = False) -> FrameLabels:
        try:
            lines = [line.split() for line in self.label_path.read_text().splitlines() if line.strip()]
            rows = np.asarray(lines, dtype=np.float64)
        except (OSError, ValueError) as err:
            raise BadSample("unreadable annotation file", f"{self.label_path} ({err})") from None
        if rows.size == 0:
            raise BadSample("empty annotation file", str(self.label_path))
        if rows.ndim != 2 or rows.shape[1] < 6:
            raise BadSample("unreadable annotation file", f"{self.label_path}: expected 'class id cx cy w h' rows")
        image = read_image(self.image_path)
        h, w = image.shape[:2]
        cx, cy, bw, bh = rows[:, 2] * w, rows[:, 3] * h, rows[:, 4] * w, rows[:, 5] * h
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], 1)
        boxes = boxes[valid_boxes(boxes)]
        if not len(boxes):
            raise BadSample("zero-area box", str(self.label_path))
        return FrameLabels(image, boxes, np.arange(1, len(boxes) + 1), np.zeros(len(boxes)))


class JDEImages(TrainSet):
    """Still images in the JDE / FairMOT layout: ``.../images/.../<name>.png`` with
    ``.../labels_with_ids/.../<name>.txt`` (every label file found under the root is used)."""

    name = "JDE images"
    layout_hint = "<root>/images/train/<city>/<name>.png and <root>/labels_with_ids/train/<city>/<name>.txt"
    is_video = False

    def __init__(self, root: str | Path | None = None) -> None:
        super().__init__(root)
        self.items: list[tuple[Path, Path]] = []
        for label in sorted(self.root.rglob("*.txt")):
            if "labels_with_ids" not in label.parts:
                continue
            parts = list(label.parts)
            parts[len(parts) - 1 - parts[::-1].index("labels_with_ids")] = "images"
            stem = Path(*parts).with_suffix("")
            image = next((stem.with_suffix(e) for e in (".png", ".jpg") if stem.with_suffix(e).is_file()),
                         stem.with_suffix(".png"))
            self.items.append((image, label))
        if not self.items:
            raise self.missing(self.root, "label files under a labels_with_ids folder")

    def __len__(self) -> int:
        return len(self.items)

    def video(self, index: int) -> Video:
        return JDEImage(*self.items[index])


class CityPersons(JDEImages):
    """CityPersons in the JDE layout (``images/train/<city>/*.png``, ``labels_with_ids/train/<city>/*.txt``)."""

    name = "CityPersons"
    default_root = "datasets/Cityscapes"


class ETHZ(JDEImages):
    """ETHZ in the JDE layout (``eth01/images/*.png``, ``eth01/labels_with_ids/*.txt`` ...)."""

    name = "ETHZ"
    default_root = "datasets/ETHZ"
    layout_hint = "<root>/eth01/images/image_00000001_0.png and <root>/eth01/labels_with_ids/image_00000001_0.txt"
