"""What every training-set reader produces: videos (a still image is a one-frame video) whose
frames load as images with boxes, track ids, classes and, for mask sets, instance masks.

A reader (``TrainSet``) is cheap to index: ``video(i)`` reads annotations only; images and
masks are decoded by ``Video.load(t)`` for the two frames of a pair. Problems with one sample
raise ``BadSample`` (the pair sampler counts it and draws another); a missing dataset folder
raises ``UserError`` at construction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from unicorn.data.datasets.base import DATASETS_README
from unicorn.data.skips import BadSample, SkipCounter, read_image
from unicorn.errors import UserError


@dataclass
class FrameLabels:
    """One decoded frame with its objects, in the image's own pixels.

    Attributes:
        image: (H, W, 3) uint8 BGR.
        boxes_xyxy: (N, 4) float32 boxes x1, y1, x2, y2.
        track_ids: (N,) int64 identities (>= 1, unique within the frame).
        classes: (N,) int64 class indices in the reader's label space.
        masks: (N, H, W) uint8 0/1 instance masks, or None.
    """

    image: np.ndarray
    boxes_xyxy: np.ndarray
    track_ids: np.ndarray
    classes: np.ndarray
    masks: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.boxes_xyxy = np.asarray(self.boxes_xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(self.boxes_xyxy)
        self.track_ids = np.asarray(self.track_ids, dtype=np.int64).reshape(n)
        self.classes = np.asarray(self.classes, dtype=np.int64).reshape(n)
        if self.masks is not None and (self.masks.ndim != 3 or len(self.masks) != n):
            raise ValueError(f"masks must be (N={n}, H, W), got {self.masks.shape}")

    def __len__(self) -> int:
        return len(self.boxes_xyxy)

    def select(self, keep: np.ndarray) -> FrameLabels:
        """The rows where ``keep`` (bool mask or index array) is set, sharing the image."""
        return FrameLabels(self.image, self.boxes_xyxy[keep], self.track_ids[keep], self.classes[keep],
                           None if self.masks is None else self.masks[keep])


class Video(ABC):
    """One annotated video (or a still image as a one-frame video).

    Attributes:
        name: for messages.
        num_frames: T.
    """

    name: str = ""
    num_frames: int = 0

    @abstractmethod
    def usable_frames(self) -> np.ndarray:
        """(K,) int64 0-based indices of the frames a pair may use (annotated; SOT: target visible)."""

    @abstractmethod
    def load(self, t: int, with_masks: bool = False) -> FrameLabels:
        """Decode frame ``t`` with its objects (masks only when asked). Raises ``BadSample``."""


class TrainSet(ABC):
    """Base of the training-set readers: a root folder checked at construction.

    Subclasses set the class attributes and implement ``__len__`` and ``video``.

    Attributes:
        name: dataset name.
        default_root: folder used when ``root`` is None (relative to the working directory).
        layout_hint: the expected layout, for error messages.
        is_video: False for still-image sets (a pair is the same image twice).
        has_masks: whether frames can load instance masks.
        default_max_gap: frame gap of MOT-style pairs (None: any two frames of the video).
        skips: counts the data skipped while reading.
    """

    name: str = ""
    default_root: str = ""
    layout_hint: str = ""
    is_video: bool = True
    has_masks: bool = False
    default_max_gap: int | None = None

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root if root is not None else self.default_root)
        self.skips = SkipCounter(self.name)
        if not self.root.exists():
            raise UserError(f"{self.name} training data not found at '{self.root}'. Put it there (expected layout: "
                            f"{self.layout_hint}) or pass its folder; see the Training data section of "
                            f"{DATASETS_README}.")

    @abstractmethod
    def __len__(self) -> int:
        """Number of videos (or images)."""

    @abstractmethod
    def video(self, index: int) -> Video:
        """Annotations of video ``index`` (images are read later, by ``Video.load``)."""

    def missing(self, path: Path, what: str) -> UserError:
        """A UserError for a file or folder that is not where the layout says."""
        return UserError(f"{self.name}: {what} not found at '{path}' (expected layout: {self.layout_hint}); "
                         f"see the Training data section of {DATASETS_README}.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root='{self.root}', {len(self)} {'videos' if self.is_video else 'images'})"


def valid_boxes(boxes_xyxy: np.ndarray, skips: SkipCounter | None = None, source: str = "") -> np.ndarray:
    """(N,) bool: finite boxes with positive width and height; the others are counted as skipped.

    Args:
        boxes_xyxy: (N, 4) boxes.
        skips: where to count the zero-area / non-finite boxes.
        source: file named in the skip message.
    """
    boxes_xyxy = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    ok = np.isfinite(boxes_xyxy).all(axis=1) & (boxes_xyxy[:, 2] > boxes_xyxy[:, 0]) \
        & (boxes_xyxy[:, 3] > boxes_xyxy[:, 1])
    if skips is not None:
        for _ in range(int((~ok).sum())):
            skips.add("zero-area box", source)
    return ok


def decode_segmentation(segmentation, height: int, width: int) -> np.ndarray:
    """(H, W) uint8 0/1 mask of a COCO-style segmentation: polygons, RLE or uncompressed RLE."""
    from pycocotools import mask as mask_utils

    if isinstance(segmentation, list):  # polygons
        rles = mask_utils.frPyObjects(segmentation, height, width)
        rle = mask_utils.merge(rles) if rles else None
        if rle is None:
            return np.zeros((height, width), np.uint8)
    elif isinstance(segmentation, dict) and isinstance(segmentation.get("counts"), list):
        rle = mask_utils.frPyObjects(segmentation, height, width)
    elif isinstance(segmentation, dict):
        counts = segmentation["counts"]
        rle = {"size": list(segmentation["size"]), "counts": counts.encode() if isinstance(counts, str) else counts}
    else:
        raise BadSample("unreadable mask", repr(segmentation)[:80])
    return np.ascontiguousarray(mask_utils.decode(rle), dtype=np.uint8)


class TableVideo(Video):
    """A video given as one table row per object per frame (SOT, MOT, MOTS, still images).

    Args:
        name: for messages.
        frame_paths: image path of each frame (a shorter list means missing images), or a
            function of the 0-based frame index.
        num_frames: T.
        frames: (N,) int64 0-based frame index of each row.
        track_ids: (N,) int64 identities >= 1.
        classes: (N,) int64.
        boxes_xyxy: (N, 4) boxes in image pixels.
        segmentations: N COCO-style segmentations (RLE dicts / polygons), for mask sets.
        usable: (K,) frames pairs may use; default: frames with at least one row.
    """

    def __init__(self, name: str, frame_paths: Sequence[Path] | Callable[[int], Path], num_frames: int,
                 frames: np.ndarray, track_ids: np.ndarray, classes: np.ndarray, boxes_xyxy: np.ndarray,
                 segmentations: Sequence | None = None, usable: np.ndarray | None = None) -> None:
        self.name, self.num_frames, self.frame_paths = name, int(num_frames), frame_paths
        self.frames = np.asarray(frames, dtype=np.int64).reshape(-1)
        self.track_ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
        if len(self.track_ids) and self.track_ids.min() < 1:  # 0 marks padding rows: shift, keeping identities
            self.track_ids = self.track_ids - self.track_ids.min() + 1
        self.classes = np.asarray(classes, dtype=np.int64).reshape(-1)
        self.boxes_xyxy = np.asarray(boxes_xyxy, dtype=np.float32).reshape(-1, 4)
        self.segmentations = segmentations
        self._usable = np.unique(self.frames) if usable is None else np.asarray(usable, dtype=np.int64)

    def usable_frames(self) -> np.ndarray:
        return self._usable

    def image_path(self, t: int) -> Path:
        """Path of frame ``t``; ``BadSample`` when the video has no image for it."""
        if callable(self.frame_paths):
            return Path(self.frame_paths(t))
        if t >= len(self.frame_paths):
            raise BadSample("missing image", f"{self.name} frame {t + 1} (only {len(self.frame_paths)} images found)")
        return Path(self.frame_paths[t])

    def load(self, t: int, with_masks: bool = False) -> FrameLabels:
        image = read_image(self.image_path(t))
        rows = np.flatnonzero(self.frames == t)
        masks = None
        if with_masks:
            if self.segmentations is None:
                raise ValueError(f"{self.name} has no masks")
            h, w = image.shape[:2]
            masks = np.zeros((len(rows), h, w), np.uint8)
            for k, i in enumerate(rows):
                m = decode_segmentation(self.segmentations[i], h, w)
                if m.shape != (h, w):
                    raise BadSample("mask size differs from image", f"{self.name} frame {t + 1}: {m.shape} vs {(h, w)}")
                masks[k] = m
        return FrameLabels(image, self.boxes_xyxy[rows], self.track_ids[rows], self.classes[rows], masks)


def read_label_map(path: Path) -> np.ndarray:
    """(H, W) label indices of a palette / grey PNG (``BadSample`` when missing or unreadable)."""
    from unicorn.data.datasets.davis import read_label_png

    if not Path(path).is_file():
        raise BadSample("missing mask", str(path))
    try:
        return read_label_png(path)
    except UserError as err:
        raise BadSample("corrupt mask", str(err)) from None


def objects_from_label_map(labels: np.ndarray, ids: Sequence[int] | None = None,
                           binary_255: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Objects of a label map: ids (values 1..254; 255 is void unless ``binary_255``), tight boxes, masks.

    Args:
        labels: (H, W) integer label map.
        ids: keep only these ids (default: every id present).
        binary_255: the map is 0/255 with 255 the single object (DAVIS-2016 originals, saliency).

    Returns:
        ``(ids (N,), boxes_xyxy (N, 4) float32, masks (N, H, W) uint8)``; boxes are the tight
        box of each mask (x2 = last column + 1).
    """
    if binary_255:
        labels = (labels > 127).astype(np.uint8)
    present = [int(v) for v in np.unique(labels) if 0 < v < 255]
    if ids is not None:
        present = [v for v in present if v in set(ids)]
    boxes = np.zeros((len(present), 4), np.float32)
    masks = np.zeros((len(present),) + labels.shape[:2], np.uint8)
    for k, v in enumerate(present):
        masks[k] = labels == v
        ys, xs = np.nonzero(masks[k].any(axis=1))[0], np.nonzero(masks[k].any(axis=0))[0]
        boxes[k] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    return np.asarray(present, np.int64), boxes, masks


class LabelMapVideo(Video):
    """A VOS video: one label PNG per annotated frame, object ids are the label values (class 0).

    Args:
        name: for messages.
        frame_paths: (T,) images.
        mask_paths: (T,) label PNG per frame, None where a frame has no annotation.
        binary_255: masks are 0/255 single-object maps.
    """

    def __init__(self, name: str, frame_paths: Sequence[Path], mask_paths: Sequence[Path | None],
                 binary_255: bool = False) -> None:
        self.name, self.frame_paths, self.mask_paths = name, list(frame_paths), list(mask_paths)
        self.num_frames = len(self.mask_paths)
        self.binary_255 = binary_255

    def usable_frames(self) -> np.ndarray:
        return np.asarray([t for t, p in enumerate(self.mask_paths) if p is not None], np.int64)

    def load(self, t: int, with_masks: bool = False) -> FrameLabels:
        if t >= len(self.frame_paths):
            raise BadSample("missing image", f"{self.name} frame {t + 1}")
        image = read_image(self.frame_paths[t])
        ids, boxes, masks = objects_from_label_map(read_label_map(self.mask_paths[t]), binary_255=self.binary_255)
        if masks.shape[1:] != image.shape[:2]:
            raise BadSample("mask size differs from image", f"{self.mask_paths[t]}: {masks.shape[1:]} vs "
                            f"{image.shape[:2]}")
        return FrameLabels(image, boxes, ids, np.zeros(len(ids), np.int64), masks if with_masks else None)
