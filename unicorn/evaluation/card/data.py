"""The model card's data, read in place: DAVIS-2016 val clips, MOT17-mini clips, and SOT targets from both.

Folders under the data root: ``davis2016_val`` (DAVIS-2016 val masks; JPEG frames of the sequences used)
and ``mot17_mini/train/MOT17-XX-FRCNN`` (MOT17 sequences, the first frames of each; a clip is as long as
the images present).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from unicorn.data.datasets.base import TrackAnnotations
from unicorn.data.datasets.davis import DAVIS, read_label_png
from unicorn.data.datasets.mot_challenge import MOTChallenge
from unicorn.errors import UserError
from unicorn.geometry import mask_boxes_xyxy
from unicorn.inputs import check_boxes_xywh

DAVIS_SEQUENCES = ("blackswan", "car-shadow")
MIN_VISIBILITY, MIN_AREA = 0.5, 32 * 32
MOT17_SOT_RULE = (f"every gt track of class 1 (pedestrian) with flag 1 that is in the sequence's first frame with "
                  f"visibility >= {MIN_VISIBILITY} and box area (width x height) >= 32 x 32 px; initialised from that "
                  "first box (clipped to the image), tracked through the frames present; gt boxes clipped to the "
                  "image, frames where the track is not annotated count as failures")
DAVIS_SOT_RULE = ("ground-truth box = bounding box of the DAVIS mask in each frame (an empty mask = absent target, "
                  "a failure); initialised from frame 0's box")


@dataclass
class DavisClip:
    """One DAVIS sequence: frame paths, (H, W) bool masks (the same number) and the (H, W) image size."""

    name: str
    frames: list[Path]
    masks: list[np.ndarray]
    size: tuple[int, int]


@dataclass
class MotClip:
    """One MOT17-mini sequence: frame paths, the gt rows of those frames, the (H, W) image size."""

    name: str
    frames: list[Path]
    gt: TrackAnnotations
    size: tuple[int, int]


@dataclass
class SotSequence:
    """Single-object targets of one sequence, all tracked in one pass.

    Attributes:
        init: (K, 4) first-frame boxes x, y, w, h (clipped to the image).
        gt: (K, T, 4) ground-truth boxes, NaN rows where the target is absent.
        target_ids: K ids (the gt track ids; 1 for DAVIS).
    """

    name: str
    frames: list[Path]
    init: np.ndarray
    gt: np.ndarray
    target_ids: list[int] = field(default_factory=list)


def read_frame(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 BGR image of ``path``."""
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise UserError(f"cannot read image {path}")
    return frame


def check_data(data: Path) -> Path:
    """``data`` as a Path, when it is a folder."""
    data = Path(data)
    if not data.is_dir():
        raise UserError(f"data folder '{data}' not found; pass --data DIR (the folder with davis2016_val/ and "
                        "mot17_mini/, see its README.md) or set UNICORN_TEST_DATA")
    return data


def load_davis(data: Path, names: Sequence[str] = DAVIS_SEQUENCES, max_frames: int | None = None) -> list[DavisClip]:
    """DAVIS-2016 val sequences with frames and masks.

    Args:
        data: the data root (holds ``davis2016_val``).
        names: the sequences.
        max_frames: keep only the first frames (None: all).
    """
    root = check_data(data) / "davis2016_val"
    if not root.is_dir():
        raise UserError(f"DAVIS-2016 data not found at '{root}' (expected Annotations/480p/<seq> and "
                        "JPEGImages/480p/<seq>)")
    reader = DAVIS(root, 2016)
    clips = []
    for name in names:
        if not (reader.annotation_root / name).is_dir():
            raise UserError(f"DAVIS sequence '{name}': masks not found at '{reader.annotation_root / name}'")
        seq = reader.load(name)
        if not seq.frame_paths:
            raise UserError(f"DAVIS sequence '{name}': JPEG frames not found at "
                            f"'{root / 'JPEGImages' / '480p' / name}'")
        n = min(len(seq.frame_paths), len(seq.mask_paths), max_frames or 10**9)
        if n < 3:
            raise UserError(f"DAVIS sequence '{name}' needs at least 3 frames with masks (first and last are "
                            f"not scored); found {n}")
        masks = [read_label_png(p) > 0 for p in seq.mask_paths[:n]]
        if not masks[0].any():
            raise UserError(f"DAVIS sequence '{name}': the first-frame mask {seq.mask_paths[0]} is empty")
        clips.append(DavisClip(name, list(seq.frame_paths[:n]), masks, masks[0].shape))
    return clips


def load_mot17(data: Path, names: Sequence[str] | None = None, max_frames: int | None = None) -> list[MotClip]:
    """MOT17-mini sequences (all by default); a clip is as long as the images present.

    Args:
        data: the data root (holds ``mot17_mini``).
        names: the sequences (None: every one found).
        max_frames: keep only the first frames (None: all).
    """
    root = check_data(data) / "mot17_mini"
    if not root.is_dir():
        raise UserError(f"MOT17-mini data not found at '{root}' (expected train/MOT17-XX-FRCNN/{{img1,gt/gt.txt}})")
    reader = MOTChallenge(root, "MOT17", detector="FRCNN")
    clips = []
    for name in names or reader.sequence_names():
        folder = reader.split_root / name
        if not (folder / "gt" / "gt.txt").is_file():
            raise UserError(f"MOT17 sequence '{name}': ground truth not found at '{folder / 'gt' / 'gt.txt'}'")
        seq = reader.load(name)
        if not seq.frame_paths:
            raise UserError(f"MOT17 sequence '{name}': no images in '{folder / 'img1'}'")
        n = min(len(seq.frame_paths), max_frames or 10**9)
        size = seq.image_size or read_frame(seq.frame_paths[0]).shape[:2]
        clips.append(MotClip(name, list(seq.frame_paths[:n]), seq.tracks.select(seq.tracks.frames <= n), size))
    return clips


def mask_box_xywh(mask: np.ndarray) -> np.ndarray:
    """(4,) x, y, w, h of an (H, W) mask's bounding box (pixel counts), NaN when the mask is empty."""
    if not mask.any():
        return np.full(4, np.nan)
    x1, y1, x2, y2 = mask_boxes_xyxy(mask[None])[0]
    return np.array([x1, y1, x2 - x1, y2 - y1], np.float64)


def clip_xywh(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, 4) x, y, w, h boxes cut to the part inside an (H, W) image (zero width / height when outside)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    h, w = size
    x1, y1 = b[:, 0].clip(0, w), b[:, 1].clip(0, h)
    x2, y2 = (b[:, 0] + b[:, 2]).clip(0, w), (b[:, 1] + b[:, 3]).clip(0, h)
    return np.stack([x1, y1, np.maximum(x2 - x1, 0), np.maximum(y2 - y1, 0)], 1)


def davis_sot_sequences(clips: Sequence[DavisClip]) -> list[SotSequence]:
    """One SOT target per DAVIS sequence (see ``DAVIS_SOT_RULE``)."""
    out = []
    for clip in clips:
        gt = np.stack([mask_box_xywh(m) for m in clip.masks])[None]
        out.append(SotSequence(clip.name, clip.frames, check_boxes_xywh(gt[:, 0], clip.size), gt, [1]))
    return out


def mot17_sot_sequences(clips: Sequence[MotClip]) -> list[SotSequence]:
    """The pedestrian targets of each MOT17-mini sequence (``MOT17_SOT_RULE``); those without one are left out."""
    out = []
    for clip in clips:
        g, n = clip.gt, len(clip.frames)
        first = (g.frames == 1) & (g.classes == 1) & (g.flags == 1) & (g.visibility >= MIN_VISIBILITY)
        first &= g.boxes_xywh[:, 2] * g.boxes_xywh[:, 3] >= MIN_AREA
        ids = sorted(int(i) for i in g.ids[first])
        if not ids:
            continue
        gt = np.full((len(ids), n, 4), np.nan)
        for k, tid in enumerate(ids):
            rows = np.flatnonzero((g.ids == tid) & (g.classes == 1))
            gt[k, g.frames[rows] - 1] = clip_xywh(g.boxes_xywh[rows], clip.size)
        out.append(SotSequence(clip.name, clip.frames, check_boxes_xywh(gt[:, 0], clip.size), gt, ids))
    return out
