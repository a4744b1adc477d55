"""Detector-assisted SOT boxes: a target of a COCO class takes the box of the detection that overlaps
its propagated box.

Label propagation finds *where* a target is; its box comes from stride-8 cells and is coarse. A box
detector draws sharper edges for the classes it knows. At the prompt, the detection that best overlaps
the prompt box names the target's class (a target no detection overlaps enough is never snapped) and how
the prompt box sits around that detection. On each later frame the detections of that class near the
propagated box are candidates; the one overlapping the propagated box most (the propagation is the
appearance match) is taken, placed as the prompt box sat around its detection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.ops import box_iou

from .crops import Crop, search_crop
from .regions import box_offsets, with_offsets

DETECT_SIDE = 320  # side of the square region the detector sees, in network input pixels
DETECT_CONTEXT = 2.0  # the region spans this many times the target's longer side
PROMPT_IOU = 0.5  # the detection that names a target's class overlaps its prompt box at least this much


@dataclass
class SnapTarget:
    """What the prompt taught about one target: its COCO class and the prompt box around its detection."""

    class_id: int
    offsets: np.ndarray  # (prompt - detection) in detection sizes, see box_offsets


class DetectorSnap:
    """Snap SOT boxes to the boxes of a COCO detector (``SOTConfig.snap="nanodet-g"``).

    Args:
        min_iou: on later frames, a detection is taken only when its IoU with the propagated box is at
            least this (at the prompt: :data:`PROMPT_IOU`).
        min_score: detections at or below this class score are ignored.
        device: torch device of the detector.
        detector: instead of the bundled NanoDet-g, a callable ``(image_bgr) -> (boxes_xyxy, scores,
            class_ids)`` seeing a ``DETECT_SIDE`` square region (``min_score`` is then its own business).
    """

    def __init__(self, min_iou: float, min_score: float, device: torch.device | str = "cpu",
                 detector: Callable | None = None) -> None:
        self.min_iou = float(min_iou)
        if detector is None:
            from ..detectors.nanodet import NanoDetDetector

            detector = NanoDetDetector(input_size=DETECT_SIDE, max_long_side=DETECT_SIDE, score_thresh=min_score,
                                       device=device)
        self.detector = detector

    def detections(self, frame: np.ndarray, box_xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Detections in a square region around a box: (N, 4) frame-pixel xyxy boxes and (N,) class ids."""
        size = np.maximum(np.asarray(box_xyxy[2:] - box_xyxy[:2], np.float64), 1.0)
        context = DETECT_CONTEXT * size.max() / np.sqrt(size.prod())  # search_crop's unit: sqrt(w h)
        crop: Crop = search_crop(box_xyxy, frame.shape[:2], DETECT_SIDE, context)
        boxes, _, classes = self.detector(crop.image(frame))
        return crop.to_frame(boxes), classes

    def _best(self, boxes: np.ndarray, box_xyxy: np.ndarray) -> tuple[int, float]:
        if not len(boxes):
            return -1, 0.0
        iou = box_iou(torch.from_numpy(np.asarray(boxes, np.float64)),
                      torch.from_numpy(np.asarray(box_xyxy, np.float64)[None]))[:, 0]
        k = int(iou.argmax())
        return k, float(iou[k])

    def learn(self, frame: np.ndarray, box_xyxy: np.ndarray) -> SnapTarget | None:
        """The target's class and offsets from its prompt box, or None when no detection overlaps it enough."""
        boxes, classes = self.detections(frame, box_xyxy)
        k, iou = self._best(boxes, box_xyxy)
        if iou < PROMPT_IOU:
            return None
        return SnapTarget(int(classes[k]), box_offsets(box_xyxy, boxes[k]))

    def snap(self, frame: np.ndarray, box_xyxy: np.ndarray, target: SnapTarget) -> np.ndarray | None:
        """The snapped xyxy box for a propagated box, or None when no detection of the class overlaps it enough."""
        boxes, classes = self.detections(frame, box_xyxy)
        boxes = boxes[classes == target.class_id]
        k, iou = self._best(boxes, box_xyxy)
        if iou < self.min_iou:
            return None
        return with_offsets(boxes[k], target.offsets)
