"""What a MOT tracker detects with, and a record of the detections its association receives (for a peer tracker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from unicorn.models.unicorn import Unicorn
    from unicorn.trackers.base import BaseTracker

PERSON_NAMES = ("person", "pedestrian")


def default_mot_detector(model: Unicorn) -> str:
    """What a default MOT tracker over ``model`` detects with: "model" (its own head) or a built-in detector."""
    from unicorn.trackers.settings import tracker_config

    return tracker_config(model, "mot").detector


def person_classes(model: Unicorn) -> tuple[int, ...] | None:
    """The person class id among the classes a default MOT tracker outputs, as ``unicorn track --classes person``
    maps it: the index of "person" / "pedestrian", (0,) for a one-class model, else None."""
    from unicorn.trackers.settings import class_names

    names = class_names(model, "mot")
    for name in PERSON_NAMES:
        if name in names:
            return (names.index(name),)
    return (0,) if len(names) == 1 else None


def describe_detector(tracker: BaseTracker, model_label: str) -> str:
    """Which detector a MOT tracker uses: a built-in detector, user detections, or the model's own head."""
    kind = getattr(tracker, "detector_name", None)
    if kind is None:  # trackers without built-in detectors: a callable / file, or the model
        kind = "model" if getattr(tracker, "detector", None) is None else "own"
    text = {"model": f"{model_label}'s own MOT detection head", "own": "user-supplied detections",
            "nanodet-g": "NanoDet-g (bundled COCO detector)"}.get(kind, str(kind))
    if kind == "nanodet-g" and hasattr(tracker.detector, "network_size"):
        h, w = tracker.detector.network_size((1080, 1920))
        text += f", input {h}x{w} for 1920x1080 video"
    configured = getattr(tracker.config, "detector", None)
    return text + (f" [MOTConfig.detector={configured!r}]" if configured is not None else "")


@dataclass
class RecordedDetections:
    """What a MOT tracker's association received, per sequence and frame, and the detector's settings.

    Attributes:
        per_sequence: ``{sequence: [(boxes_xyxy (N, 4) float32, scores (N,), class_ids (N,)) per frame]}``.
        score_floor: the detector keeps scores above this (NanoDet-g: ``score_thresh``), None if unknown.
        nms_thresh: the detector's NMS IoU, None if unknown.
        max_detections: the detector's cap on boxes per frame (after NMS), None if unknown.
        detector: ``MOTTracker.detector_name`` ("nanodet-g", "own").
    """

    per_sequence: dict[str, list] = field(default_factory=dict)
    score_floor: float | None = None
    nms_thresh: float | None = None
    max_detections: int | None = None
    detector: str = ""


def _optional(value: Any, kind: Callable[[Any], Any]) -> Any:
    return None if value is None else kind(value)


def record_detections(tracker: BaseTracker, sink: list, meta: RecordedDetections | None = None) -> None:
    """Make a MOT tracker with a separate detector (NanoDet-g) append what its association receives to ``sink``.

    On every frame: ``(boxes_xyxy (N, 4) float32 clipped to the frame, scores (N,), class_ids (N,))`` of the
    tracked classes (``MOTTracker.step``'s clipping and class filter), all scores above the detector's own
    floor (NanoDet-g: ``score_thresh``), which goes into ``meta`` with its NMS IoU and box cap.
    """
    from unicorn.trackers.mot import check_detector_output

    detect, classes = tracker.detector, tracker.config.classes
    if meta is not None:
        meta.score_floor = _optional(getattr(detect, "score_thresh", None), float)
        meta.nms_thresh = _optional(getattr(detect, "nms_thresh", None), float)
        meta.max_detections = _optional(getattr(detect, "max_detections", None), int)
        meta.detector = str(getattr(tracker, "detector_name", ""))

    def recording(frame: np.ndarray, index: int) -> Any:
        out = detect(frame, index)
        boxes, scores, ids = check_detector_output(out, frame.shape[:2])
        keep = np.isin(ids, classes) if classes is not None else np.ones(len(scores), bool)
        sink.append((boxes[keep], scores[keep], ids[keep]))
        return out

    tracker.detector = recording
