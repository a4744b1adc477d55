"""Baseline trackers that the model card compares the model with, on the same data and metrics.

* ``held_boxes`` / ``held_masks``: the first-frame box (SOT) or mask (VOS) repeated on every frame.
* ``FlowMaskPropagation``: VOS by dense optical flow: each new frame's mask is the previous mask
  warped backwards with Farneback flow (from the new frame to the previous one), thresholded at 0.5.
* OpenCV's CSRT and KCF single-object trackers (``run_opencv_trackers``). They live in OpenCV's
  contrib build, ``opencv-contrib-python-headless`` of the ``eval`` extra; ``opencv_trackers_missing``
  says what to install when the ``cv2`` in use lacks them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

OPENCV_TRACKERS = {"csrt": "TrackerCSRT", "kcf": "TrackerKCF"}
CONTRIB_PACKAGE = "opencv-contrib-python-headless"
FLOW_THRESHOLD = 0.5
# cv2.calcOpticalFlowFarneback(prev, next, flow, pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags)
FARNEBACK_PARAMS = (0.5, 3, 15, 3, 5, 1.2, 0)


def held_boxes(first_xywh: Sequence[float], num_frames: int) -> np.ndarray:
    """(T, 4) boxes: the first-frame box on every frame."""
    return np.repeat(np.asarray(first_xywh, np.float64).reshape(1, 4), num_frames, axis=0)


def held_masks(first_mask: np.ndarray, num_frames: int) -> list[np.ndarray]:
    """T masks: the first-frame mask on every frame (the same array, not copies)."""
    mask = np.asarray(first_mask, bool)
    return [mask] * num_frames


def flow_warp_mask(prev_gray: np.ndarray, cur_gray: np.ndarray, prev_mask: np.ndarray,
                   threshold: float = FLOW_THRESHOLD) -> np.ndarray:
    """The previous mask moved onto the current frame by backward warping.

    The Farneback flow is computed from the current frame to the previous one, so every pixel p of
    the current frame reads the previous mask at p + flow(p) (bilinear); pixels at or above
    ``threshold`` are foreground.

    Args:
        prev_gray, cur_gray: (H, W) uint8 grey frames.
        prev_mask: (H, W) bool mask of the previous frame.
        threshold: foreground threshold of the warped (soft) mask.

    Returns:
        (H, W) bool mask of the current frame.
    """
    flow = cv2.calcOpticalFlowFarneback(cur_gray, prev_gray, None, *FARNEBACK_PARAMS)
    h, w = cur_gray.shape
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(np.asarray(prev_mask, np.float32), grid_x + flow[..., 0], grid_y + flow[..., 1],
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped >= threshold


class FlowMaskPropagation:
    """Streaming optical-flow VOS baseline: ``init(frame, mask)`` then ``step(frame)`` per frame."""

    def __init__(self, threshold: float = FLOW_THRESHOLD) -> None:
        self.threshold = threshold
        self._gray: np.ndarray | None = None
        self._mask: np.ndarray | None = None

    @staticmethod
    def _grey(frame_bgr: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr

    def init(self, frame_bgr: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self._gray, self._mask = self._grey(frame_bgr), np.asarray(mask, bool)
        return self._mask

    def step(self, frame_bgr: np.ndarray) -> np.ndarray:
        if self._gray is None:
            raise RuntimeError("call init(frame, mask) before step(frame)")
        gray = self._grey(frame_bgr)
        self._mask = flow_warp_mask(self._gray, gray, self._mask, self.threshold)
        self._gray = gray
        return self._mask


# --------------------------------------------------------------------------------------------------
# OpenCV contrib trackers


def _constructor(kind: str) -> Callable[[], Any] | None:
    """The factory of an OpenCV tracker across API generations (``cv2.TrackerX_create`` in 5.x,
    ``cv2.TrackerX.create`` in 4.5+, ``cv2.legacy.TrackerX_create``), or None."""
    name = OPENCV_TRACKERS[kind]
    candidates = [getattr(cv2, f"{name}_create", None), getattr(getattr(cv2, name, None), "create", None)]
    legacy = getattr(cv2, "legacy", None)
    if legacy is not None:
        candidates.append(getattr(legacy, f"{name}_create", None))
    return next((c for c in candidates if callable(c)), None)


def contrib_install_command() -> str:
    """The pip command that puts the contrib build of the OpenCV in use in place (same version).

    The opencv-python packages all install the same ``cv2`` folder; ``--force-reinstall --no-deps`` makes
    the contrib files the ones left there.
    """
    return f"pip install --force-reinstall --no-deps '{CONTRIB_PACKAGE}=={cv2.__version__}.*'"


def opencv_trackers_missing() -> str | None:
    """None when this ``cv2`` has CSRT and KCF, else one line saying what to install."""
    missing = [OPENCV_TRACKERS[k] for k in OPENCV_TRACKERS if _constructor(k) is None]
    if not missing:
        return None
    return (f"OpenCV {cv2.__version__} has no {' / '.join(missing)} (they are in the contrib build); "
            f"run `{contrib_install_command()}` (the `eval` extra)")


def _int_box(box: Sequence[float], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box rounded to whole pixels inside the image, at least 1x1 (what the OpenCV trackers accept)."""
    h, w = size
    x1 = int(np.clip(np.floor(box[0]), 0, w - 1))
    y1 = int(np.clip(np.floor(box[1]), 0, h - 1))
    x2 = int(np.clip(np.ceil(box[0] + box[2]), x1 + 1, w))
    y2 = int(np.clip(np.ceil(box[1] + box[3]), y1 + 1, h))
    return x1, y1, x2 - x1, y2 - y1


def track_opencv(kind: str, frames: Sequence[str | Path], boxes_xywh: np.ndarray,
                 progress: Callable[[], None] | None = None) -> np.ndarray:
    """One OpenCV tracker per target over the frames of one sequence.

    Args:
        kind: "csrt" or "kcf".
        frames: T image paths.
        boxes_xywh: (K, 4) first-frame boxes x, y, w, h.
        progress: called once per frame.

    Returns:
        (K, T, 4) boxes x, y, w, h; frame 0 holds the given boxes, and a failed update keeps the previous box.
    """
    from unicorn.errors import UserError

    create = _constructor(kind)
    if create is None:
        raise UserError(opencv_trackers_missing())
    boxes = np.asarray(boxes_xywh, np.float64).reshape(-1, 4)
    out = np.zeros((len(boxes), len(frames), 4))
    trackers = []
    for t, path in enumerate(frames):
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise UserError(f"cannot read image {path}")
        if t == 0:
            out[:, 0] = boxes
            for box in boxes:
                trackers.append(create())
                trackers[-1].init(frame, _int_box(box, frame.shape[:2]))
        for k, tracker in enumerate(trackers if t else ()):
            try:
                ok, box = tracker.update(frame)
            except cv2.error:
                ok, box = False, None
            out[k, t] = box if ok and box is not None and box[2] > 0 and box[3] > 0 else out[k, t - 1]
        if progress is not None:
            progress()
    return out


def run_opencv_trackers(kind: str, sequences: Sequence[dict], threads: int = 2,
                        progress: Callable[[], None] | None = None) -> dict[str, np.ndarray]:
    """Track boxes with OpenCV CSRT or KCF.

    Args:
        kind: "csrt" or "kcf".
        sequences: ``[{"name", "frames": [image paths], "boxes": (K, 4) first-frame x, y, w, h}]``.
        threads: OpenCV threads while tracking (restored afterwards).
        progress: called once per processed frame.

    Returns:
        ``{name: (K, T, 4) x, y, w, h}``; frame 0 holds the initial boxes.
    """
    if kind not in OPENCV_TRACKERS:
        raise ValueError(f"unknown OpenCV tracker {kind!r}; choose from {sorted(OPENCV_TRACKERS)}")
    before = cv2.getNumThreads()
    cv2.setNumThreads(int(threads))
    try:
        return {s["name"]: track_opencv(kind, s["frames"], s["boxes"], progress) for s in sequences}
    finally:
        cv2.setNumThreads(before)
