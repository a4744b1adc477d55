"""Typed results shared by the trackers, the writers and the evaluation code."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def _as(array, dtype, shape_tail: tuple[int, ...], name: str) -> np.ndarray:
    out = np.asarray(array, dtype=dtype)
    if out.ndim != 1 + len(shape_tail) or tuple(out.shape[1:]) != shape_tail:
        raise ValueError(f"{name} must have shape (N, {', '.join(map(str, shape_tail))}); got {out.shape}")
    return out


TARGET_STATES = ("tracked", "uncertain", "lost")


@dataclass
class FrameResult:
    """What a tracker reports for one frame.

    Attributes:
        frame_index: 0-based index of the frame in the stream.
        image_size: (height, width) of the original frame in pixels.
        track_ids: (N,) int64 identities, stable across frames (starting at 1).
        boxes_xyxy: (N, 4) float32 boxes in original-frame pixels, x1 y1 x2 y2.
        scores: (N,) float32 confidences in [0, 1].
        class_ids: (N,) int64 class indices (0 for class-agnostic tasks).
        masks: (N, H, W) bool masks at original resolution, or None for box-only tasks.
        states: (N,) per-target state, one of :data:`TARGET_STATES`: ``tracked``, ``uncertain`` (found
            with a low score) or ``lost`` (not found: the box or mask shown is the last one held); None
            when the tracker does not tell (every target reported is then tracked).
    """

    frame_index: int
    image_size: tuple[int, int]
    track_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    boxes_xyxy: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    class_ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    masks: np.ndarray | None = None
    states: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.track_ids = np.asarray(self.track_ids, dtype=np.int64).reshape(-1)
        self.boxes_xyxy = _as(self.boxes_xyxy, np.float32, (4,), "boxes_xyxy")
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        self.class_ids = np.asarray(self.class_ids, dtype=np.int64).reshape(-1)
        n = len(self.track_ids)
        for name in ("boxes_xyxy", "scores", "class_ids"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows but track_ids has {n}")
        if self.states is not None:
            self.states = np.asarray(self.states, dtype=object).reshape(-1)
            bad = sorted({str(v) for v in self.states} - set(TARGET_STATES))
            if len(self.states) != n or bad:
                raise ValueError(f"states must hold {n} values from {TARGET_STATES}; got {self.states.tolist()}")
        if self.masks is not None:
            self.masks = np.asarray(self.masks, dtype=bool)
            h, w = self.image_size
            if self.masks.shape != (n, h, w):
                raise ValueError(f"masks must have shape ({n}, {h}, {w}); got {self.masks.shape}")

    def __len__(self) -> int:
        return len(self.track_ids)

    @property
    def boxes_xywh(self) -> np.ndarray:
        """(N, 4) float32 boxes as x, y, width, height (top-left corner)."""
        out = self.boxes_xyxy.copy()
        out[:, 2:] -= out[:, :2]
        return out

    def index_mask(self) -> np.ndarray:
        """(H, W) uint8/int32 map where each pixel holds the track id of its mask (0 = background).

        Masks are painted in ascending track-id order with lower ids winning overlaps.
        """
        h, w = self.image_size
        out = np.zeros((h, w), dtype=np.int32)
        if self.masks is None:
            return out
        for i in np.argsort(-self.track_ids):  # highest id first so lower ids overwrite
            out[self.masks[i]] = self.track_ids[i]
        return out

    def to_supervision(self):
        """Convert to a ``supervision.Detections`` (needs the ``supervision`` package)."""
        try:
            import supervision as sv
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("to_supervision() needs `pip install supervision`") from exc
        return sv.Detections(
            xyxy=self.boxes_xyxy.astype(np.float32),
            mask=self.masks,
            confidence=self.scores,
            class_id=self.class_ids.astype(int),
            tracker_id=self.track_ids.astype(int),
        )
