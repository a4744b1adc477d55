"""What an associator returns for one frame."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ...types import FrameResult


@dataclass(frozen=True)
class Tracks:
    """Active tracks after one ``update`` call.

    Attributes:
        track_ids: (N,) int64 identities, starting at 1, unique within one associator instance.
        boxes_xyxy: (N, 4) float32 boxes (the Kalman estimate for ByteTrack, the detection box
            for the embedding matcher).
        scores: (N,) float32 score of the detection matched in this frame.
        class_ids: (N,) int64 class of the track.
        detection_indices: (N,) int64 row of the ``update`` input that each track matched in
            this frame (use it to carry masks or embeddings along).
    """

    track_ids: np.ndarray
    boxes_xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    detection_indices: np.ndarray

    def __len__(self) -> int:
        return len(self.track_ids)

    def subset(self, keep: np.ndarray) -> Tracks:
        """The tracks chosen by ``keep`` ((N,) bool, or row indices), every field alike."""
        return Tracks(*(getattr(self, f.name)[keep] for f in fields(Tracks)))

    def to_frame_result(
        self, frame_index: int, image_size: tuple[int, int], detection_masks: np.ndarray | None = None
    ) -> FrameResult:
        """Package as a :class:`~unicorn.types.FrameResult`.

        Args:
            frame_index: 0-based frame index.
            image_size: (H, W) of the frame.
            detection_masks: (D, H, W) bool masks of the ``update`` input detections; each track
                takes the mask of the detection it matched (None for box-only results).
        """
        masks = None if detection_masks is None else np.asarray(detection_masks)[self.detection_indices]
        return FrameResult(frame_index, image_size, self.track_ids, self.boxes_xyxy, self.scores,
                           self.class_ids, masks=masks)

    @staticmethod
    def build(
        track_ids: list[int],
        boxes_xyxy: list[np.ndarray],
        scores: list[float],
        class_ids: list[int],
        detection_indices: list[int],
    ) -> Tracks:
        """Assemble from per-track Python lists (all of equal length)."""
        return Tracks(
            track_ids=np.asarray(track_ids, dtype=np.int64).reshape(-1),
            boxes_xyxy=np.asarray(boxes_xyxy, dtype=np.float32).reshape(-1, 4),
            scores=np.asarray(scores, dtype=np.float32).reshape(-1),
            class_ids=np.asarray(class_ids, dtype=np.int64).reshape(-1),
            detection_indices=np.asarray(detection_indices, dtype=np.int64).reshape(-1),
        )


def check_detections(
    boxes_xyxy: np.ndarray, scores: np.ndarray, class_ids: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and normalise associator inputs.

    Args:
        boxes_xyxy: (N, 4) boxes.
        scores: (N,) scores.
        class_ids: (N,) classes or None (all class 0).

    Returns:
        float64 boxes (N, 4), float64 scores (N,), int64 classes (N,).
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if class_ids is None:
        classes = np.zeros(len(boxes), dtype=np.int64)
    else:
        classes = np.asarray(class_ids, dtype=np.int64).reshape(-1)
    if not len(boxes) == len(scores) == len(classes):
        raise ValueError(
            f"boxes_xyxy, scores and class_ids must have the same length; "
            f"got {len(boxes)}, {len(scores)}, {len(classes)}"
        )
    return boxes, scores, classes
