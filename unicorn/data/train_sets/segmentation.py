"""Mask training data: DAVIS 2017 and YouTube-VOS 2018 (VOS videos), MOTS20 (MOTS videos) and a
saliency set such as DUTS (one salient object per image, for VOS)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from unicorn.data.datasets import DAVIS, MOTS20, YouTubeVOS
from unicorn.data.skips import BadSample, read_image
from unicorn.data.train_sets.base import FrameLabels, LabelMapVideo, TableVideo, TrainSet, Video, valid_boxes


class DAVISTrain(TrainSet):
    """DAVIS 2017 train videos (``ImageSets/2017/train.txt``); objects are the label values.

    Args:
        root: the DAVIS folder (``Annotations/480p``, ``JPEGImages/480p``, ``ImageSets/2017``).
        split: "train" (default) or "val".
    """

    name = "DAVIS-2017"
    default_root = "datasets/DAVIS"
    layout_hint = "<root>/Annotations/480p/<seq>/00000.png, <root>/JPEGImages/480p/<seq>/00000.jpg, " \
                  "<root>/ImageSets/2017/train.txt"
    has_masks = True

    def __init__(self, root: str | Path | None = None, split: str = "train") -> None:
        super().__init__(root)
        self.reader = DAVIS(self.root, 2017, split)
        self.names = self.reader.sequence_names()
        if not self.names:
            raise self.missing(self.root / "ImageSets" / "2017" / f"{split}.txt", "sequence names")

    def __len__(self) -> int:
        return len(self.names)

    def video(self, index: int) -> Video:
        seq = self.reader.load(self.names[index])
        return LabelMapVideo(seq.name, seq.frame_paths, seq.mask_paths, binary_255=seq.extra.get("binary_255", False))


class YouTubeVOSTrain(TrainSet):
    """YouTube-VOS 2018 train videos (every 5th frame annotated; only those frames are used).

    Args:
        root: the YouTube-VOS folder (``train/JPEGImages/<seq>/``, ``train/Annotations/<seq>/``).
        split: "train" (default).
    """

    name = "YouTube-VOS"
    default_root = "datasets/ytbvos18"
    layout_hint = "<root>/train/JPEGImages/<seq>/00000.jpg and <root>/train/Annotations/<seq>/00000.png"
    has_masks = True

    def __init__(self, root: str | Path | None = None, split: str = "train") -> None:
        super().__init__(root)
        self.reader = YouTubeVOS(self.root, split)
        self.names = self.reader.sequence_names()
        if not self.names:
            raise self.missing(self.root / split / "JPEGImages", "video folders")

    def __len__(self) -> int:
        return len(self.names)

    def video(self, index: int) -> Video:
        seq = self.reader.load(self.names[index])
        return LabelMapVideo(seq.name, seq.frame_paths, seq.mask_paths)


class MOTS20Train(TrainSet):
    """MOTS20 train videos: pedestrian masks (class 0); ignore regions (class 10) left out.

    Args:
        root: the MOTS folder (``train/MOTS20-02/{gt/gt.txt, img1/}``).
        split: "train".
    """

    name = "MOTS20"
    default_root = "datasets/MOTS"
    layout_hint = "<root>/train/MOTS20-02/{gt/gt.txt, img1/000001.jpg} ..."
    has_masks = True
    default_max_gap = 30

    def __init__(self, root: str | Path | None = None, split: str = "train") -> None:
        super().__init__(root)
        reader = MOTS20(self.root, split)
        self.videos: list[TableVideo] = []
        for name in reader.sequence_names():
            seq = reader.load(name)
            tr = seq.tracks
            keep = ~tr.ignored & valid_boxes(tr.boxes_xyxy, self.skips, tr.source)
            if not keep.any():
                self.skips.add("empty annotation file", tr.source or name)
                continue
            tr = tr.select(keep)
            self.videos.append(TableVideo(name, seq.frame_paths, seq.num_frames, tr.frames - 1, tr.ids,
                                          np.zeros(len(tr)), tr.boxes_xyxy, tr.rles))
        if not self.videos:
            raise self.missing(reader.split_root, "sequences with mask ground truth")

    def __len__(self) -> int:
        return len(self.videos)

    def video(self, index: int) -> Video:
        return self.videos[index]


class SaliencyImage(Video):
    """A still image with a grey saliency mask; the object is the largest connected region above 127."""

    def __init__(self, image_path: Path, mask_path: Path) -> None:
        self.name, self.num_frames = image_path.name, 1
        self.image_path, self.mask_path = image_path, mask_path

    def usable_frames(self) -> np.ndarray:
        return np.zeros(1, np.int64)

    def load(self, t: int, with_masks: bool = False) -> FrameLabels:
        image = read_image(self.image_path)
        grey = cv2.imread(str(self.mask_path), cv2.IMREAD_GRAYSCALE) if self.mask_path.is_file() else None
        if grey is None:
            raise BadSample("missing mask" if not self.mask_path.is_file() else "corrupt mask", str(self.mask_path))
        if grey.shape != image.shape[:2]:
            raise BadSample("mask size differs from image", f"{self.mask_path}: {grey.shape} vs {image.shape[:2]}")
        count, labels, stats, _ = cv2.connectedComponentsWithStats((grey > 127).astype(np.uint8), connectivity=8)
        if count < 2:
            raise BadSample("empty mask", str(self.mask_path))
        best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        x, y, w, h = stats[best, :4]
        mask = (labels == best).astype(np.uint8)[None] if with_masks else None
        return FrameLabels(image, [[x, y, x + w, y + h]], [1], [0], mask)


class Saliency(TrainSet):
    """A saliency set: ``<root>/image/*.jpg`` with ``<root>/mask/*.png`` (upstream's layout), or DUTS
    (``<root>/DUTS-TR-Image/*.jpg`` with ``<root>/DUTS-TR-Mask/*.png``); images and masks pair by name."""

    name = "saliency"
    default_root = "datasets/saliency"
    layout_hint = "<root>/image/00000001.jpg with <root>/mask/00000001.png (or DUTS-TR-Image/ with DUTS-TR-Mask/)"
    is_video = False
    has_masks = True

    def __init__(self, root: str | Path | None = None) -> None:
        super().__init__(root)
        pairs = [(self.root / "image", self.root / "mask"), (self.root / "DUTS-TR-Image", self.root / "DUTS-TR-Mask"),
                 (self.root / "DUTS-TR" / "DUTS-TR-Image", self.root / "DUTS-TR" / "DUTS-TR-Mask")]
        image_dir, mask_dir = next((p for p in pairs if p[0].is_dir()), pairs[0])
        images = sorted(p for p in image_dir.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")) \
            if image_dir.is_dir() else []
        if not images:
            raise self.missing(image_dir, "images")
        self.items = [(p, mask_dir / f"{p.stem}.png") for p in images]

    def __len__(self) -> int:
        return len(self.items)

    def video(self, index: int) -> Video:
        return SaliencyImage(*self.items[index])
