"""Single-object tracking: each target's first frame is its only reference; its box map is propagated.

Targets prompted on the same frame share that frame's features and one pass of the backbone per
new frame; their priors are batched through the head.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import UserError
from ..geometry import xywh_to_xyxy
from ..inputs import check_boxes_xywh, check_frame, check_prompt_ids
from ..models.features import FrameFeatures
from ..models.postprocess import box_to_frame, postprocess
from ..models.unicorn import Unicorn
from ..types import FrameResult
from .base import BaseTracker
from .configs import SOTConfig
from .settings import tracker_config


def choose_candidate(boxes: np.ndarray, scores: np.ndarray, previous: np.ndarray | None,
                     config: SOTConfig) -> int | None:
    """Index of the box that continues a target, or None to keep its previous box.

    Args:
        boxes: (N, 4) candidate xyxy boxes in frame pixels, best score first.
        scores: (N,) their scores.
        previous: the target's previous xyxy box (None: no motion prior).
        config: ``motion_sigma``, ``scale_penalty``, ``min_score``.
    """
    if len(boxes) == 0:
        return None
    ranked = np.asarray(scores, np.float64)
    if config.motion_sigma > 0 and previous is not None:
        pw, ph = max(previous[2] - previous[0], 1e-3), max(previous[3] - previous[1], 1e-3)
        w, h = np.maximum(boxes[:, 2] - boxes[:, 0], 1e-3), np.maximum(boxes[:, 3] - boxes[:, 1], 1e-3)
        d = np.hypot((boxes[:, 0] + boxes[:, 2] - previous[0] - previous[2]) / 2,
                     (boxes[:, 1] + boxes[:, 3] - previous[1] - previous[3]) / 2) / np.sqrt(pw * ph)
        size = np.sqrt(w * h / (pw * ph))
        aspect = (w / h) / (pw / ph)
        change = np.maximum(size, 1 / size) * np.maximum(aspect, 1 / aspect)
        ranked = ranked * np.exp(-0.5 * (d / config.motion_sigma) ** 2) * np.exp(-config.scale_penalty * (change - 1))
    best = int(np.argmax(ranked))
    return best if ranked[best] >= config.min_score else None


def select_target(decoded: torch.Tensor, r: float, input_size: tuple[int, int], previous: np.ndarray | None,
                  config: SOTConfig) -> tuple[int | None, np.ndarray, np.ndarray, torch.Tensor]:
    """Post-process one target's decoded head output and choose its box (:func:`choose_candidate`).

    Returns:
        (index of the chosen candidate or None, (N, 4) xyxy boxes in frame pixels, (N,) scores,
        (N,) anchor indices of the candidates).
    """
    dets, idx = postprocess(decoded, 1, config.conf_thresh, config.nms_thresh)
    boxes = box_to_frame(dets[:, :4], r, input_size).reshape(-1, 4)
    scores = (dets[:, 4] * dets[:, 5]).cpu().numpy()
    return choose_candidate(boxes, scores, previous, config), boxes, scores, idx


@dataclass
class _Reference:
    """A reference frame and the targets prompted on it (maps: (1, K, h/8, w/8))."""

    feats: FrameFeatures  # as later frames read it (BaseTracker.reference_features)
    ids: list[int] = field(default_factory=list)
    maps: torch.Tensor | None = None


class SOTTracker(BaseTracker):
    """Tracks one or several boxes; targets can be added at later frames and removed.

    Args:
        model: the network.
        config: thresholds.
        input_size: network input (H, W).
    """

    task = "sot"

    def __init__(self, model: Unicorn, config: SOTConfig | None = None,
                 input_size: tuple[int, int] | None = None) -> None:
        super().__init__(model, input_size)
        self.config = config or tracker_config(model, "sot")
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._refs: list[_Reference] = []
        self._boxes: dict[int, np.ndarray] = {}  # last xyxy per target, original pixels
        self._scores: dict[int, float] = {}
        self._states: dict[int, str] = {}  # "lost" while the previous box is held

    @property
    def object_ids(self) -> list[int]:
        return sorted(self._boxes)

    def init(self, frame: np.ndarray, boxes, ids=None) -> FrameResult:
        """Start a video.

        Args:
            frame: (H, W, 3) uint8 BGR first frame.
            boxes: (x, y, w, h) or (K, 4) of them, in pixels.
            ids: optional track ids (default 1..K).
        """
        self.reset()
        self.frame_index = 0
        size = self._add(frame, boxes, ids)
        return self._result(size)

    def add_objects(self, frame: np.ndarray, boxes, ids=None) -> FrameResult:
        """Track the existing targets into ``frame`` and add new ones prompted on it (their reference)."""
        self._require_init()
        self._check_new(frame, boxes, ids)  # refuse bad prompts before the frame is consumed
        self.step(frame)
        size = self._add(frame, boxes, ids)
        return self._result(size)

    def remove_objects(self, ids) -> None:
        """Stop tracking these target ids."""
        drop = {int(i) for i in np.atleast_1d(ids).tolist()}
        for ref in self._refs:
            keep = [k for k, i in enumerate(ref.ids) if i not in drop]
            ref.ids = [ref.ids[k] for k in keep]
            ref.maps = ref.maps[:, keep] if keep else None
        self._refs = [r for r in self._refs if r.ids]
        for i in drop:
            self._boxes.pop(i, None)
            self._scores.pop(i, None)
            self._states.pop(i, None)

    def _check_new(self, frame: np.ndarray, boxes, ids) -> tuple[np.ndarray, list[int]]:
        xywh = check_boxes_xywh(boxes, check_frame(frame).shape[:2])
        start = max(self._boxes, default=0) + 1
        ids = list(range(start, start + len(xywh))) if ids is None else check_prompt_ids(ids, len(xywh))
        clash = sorted(set(ids) & set(self._boxes))
        if clash:
            raise UserError(f"target ids {clash} are already tracked; remove them first or use new ids")
        return xywh, ids

    def _add(self, frame: np.ndarray, boxes, ids) -> tuple[int, int]:
        xywh, ids = self._check_new(frame, boxes, ids)
        xyxy = xywh_to_xyxy(xywh)
        if not self._refs:  # the first prompt fixes the video's frame scale
            self.fit_targets(xyxy, frame.shape[:2], self.config.max_target_size)
        f = self.preprocess(frame)
        with torch.inference_mode():
            ref = _Reference(self.reference_features(f), ids, self.box_maps(xyxy, f.r))
        self._refs.append(ref)
        for i, box in zip(ids, xyxy):
            self._boxes[i] = box
            self._scores[i] = 1.0
        return f.size

    def step(self, frame: np.ndarray) -> FrameResult:
        """Track every target into the next frame."""
        self._require_init()
        f = self.preprocess(frame)
        cfg = self.config
        found: dict[int, tuple[float, np.ndarray]] = {}  # the newest reference that finds a target answers
        with torch.inference_mode():
            cur = self.model.with_tokens(self.features(f))  # shared by every reference
            for ref in self._refs:
                _, decoded, _ = self.detect_targets(ref.feats, cur, ref.maps, cfg.upstream_fp16)
                for k, target in enumerate(ref.ids):
                    best, boxes, scores, _ = select_target(decoded[k], f.r, self.input_size, self._boxes[target], cfg)
                    if best is not None:  # references are in time order: a corrected frame outranks the first
                        found[target] = (float(scores[best]), boxes[best])
        for target in self.object_ids:  # upstream: top-1; otherwise keep the previous box, marked lost
            if target in found:
                self._scores[target], self._boxes[target] = found[target]
            else:
                self._scores[target] = 0.0
            self._states[target] = "tracked" if target in found else "lost"
        self.frame_index += 1
        return self._result(f.size)

    def correct(self, frame: np.ndarray, boxes, ids=None) -> FrameResult:
        """Call instead of ``step`` on a frame where the user fixed boxes (x, y, w, h each) of tracked ``ids``
        (default: every target, in order): they are the answer, and the frame an extra reference of theirs."""
        xywh = check_boxes_xywh(boxes, check_frame(frame).shape[:2])
        ids = self.correction_ids(ids, len(xywh))
        self.step(frame)
        xyxy = xywh_to_xyxy(xywh)
        f = self.preprocess(frame)
        with torch.inference_mode():
            self._refs.append(_Reference(self.reference_features(f), ids, self.box_maps(xyxy, f.r)))
        for i, box in zip(ids, xyxy):
            self._boxes[i], self._scores[i], self._states[i] = box, 1.0, "tracked"
        return self._result(f.size)

    def _result(self, size: tuple[int, int]) -> FrameResult:
        ids = self.object_ids
        boxes = np.array([self._boxes[i] for i in ids], np.float32).reshape(-1, 4)
        scores = np.array([self._scores[i] for i in ids], np.float32)
        states = np.array([self._states.get(i, "tracked") for i in ids], object)
        return FrameResult(self.frame_index, size, np.array(ids, np.int64), boxes, scores,
                           np.zeros(len(ids), np.int64), states=states)
