"""Single-object tracking: each target's first frame is its only reference; its box map is propagated.

Targets prompted on the same frame share that frame's features and one pass of the backbone per
new frame; their priors are batched through the head.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..checks import FLAG, at_least, checked, one_of, unit
from ..errors import UserError
from ..geometry import xywh_to_xyxy
from ..inputs import check_boxes_xywh, check_frame, check_prompt_ids
from ..models.features import FrameFeatures
from ..models.postprocess import box_to_frame, postprocess
from ..models.unicorn import Unicorn
from ..types import FrameResult
from .base import BaseTracker

SOT_SETTINGS = {"conf_thresh": unit(example=0.001), "nms_thresh": unit(example=0.65), "upstream_fp16": FLAG,
                "motion_sigma": at_least(0), "scale_penalty": at_least(0), "min_score": unit(),
                "max_target_size": at_least(0), "method": one_of("head", "propagation"),
                "features": one_of("trained", "imagenet"), "topk": at_least(1, int), "memory_frames": at_least(0, int),
                "memory_radius": at_least(0), "memory_confidence": unit(), "lost_score": unit(),
                "search_size": at_least(64, int), "search_context": at_least(0)}


@checked(SOT_SETTINGS)  # type and range of every field, before the checks of __post_init__
@dataclass(frozen=True)
class SOTConfig:
    """SOT thresholds (upstream's, plus an optional motion prior that upstream does not have).

    Attributes:
        conf_thresh: minimum obj * cls score kept before NMS (0.001: high recall).
        nms_thresh: NMS IoU (0.65).
        upstream_fp16: propagate the prior with upstream's float16 rounding instead of float32.
        motion_sigma: 0 (upstream: the top-scoring box wins). Otherwise candidates are re-ranked by
            ``score * exp(-d^2 / (2 motion_sigma^2))``, with d the centre distance to the previous box
            in units of its size (sqrt(w h)).
        scale_penalty: with ``motion_sigma`` > 0, also multiply by ``exp(-scale_penalty * (c - 1))``, with
            c >= 1 the product of the size and aspect-ratio changes against the previous box.
        min_score: keep the previous box when the best (re-ranked) score is below this (0: never).
        max_target_size: 0 (upstream: frames always fill the input). Otherwise, when the largest target
            prompted at ``init`` is longer than this fraction of the input's shorter side, the whole
            video is shrunk inside the input until it is not (for a network trained on smaller objects).
        method: ``"head"`` (upstream: the propagated prior feeds the detection head, whose top box or
            mask is the answer) or ``"propagation"`` (the answer is the propagated label map itself,
            read from a memory of the prompt frame and recent frames: :mod:`unicorn.trackers.propagation`).
        features: with ``"propagation"``: ``"trained"`` (the model's embedding) or ``"imagenet"`` (the
            frozen backbone's own normalised features: the training-free baseline).
        topk: with ``"propagation"``: memory pixels each pixel reads its label from.
        memory_frames: with ``"propagation"``: recent frames kept besides the prompt frames.
        memory_radius: with ``"propagation"``: recent frames are read within this many stride-8 cells.
        memory_confidence: with ``"propagation"``: a recent frame's cells whose strongest label is below this
            are not remembered (0: all are).

    The propagation defaults were chosen on the validation clips of
    :mod:`unicorn.data.train_sets.real_clips` (``tools/validate_lite.py``; SOT AUC / VOS J&F there):
    a search region (``search_context=4``) against whole frames 61.2 / - vs 44.9 / 59.3; 3 recent
    frames against 5: 61.4 / 59.3 vs 61.2 / 59.3 (equal, faster); ``memory_confidence=0.8`` against 0:
    64.0 / 61.5 vs 61.2 / 59.3.
        lost_score: with ``"propagation"``: a target whose score (mean probability of its pixels, times
            its area against its recent area, capped at 1) falls below this is ``lost`` (its last box is
            kept and marked, never reported as tracked); below twice this it is ``uncertain``.
        search_size: with ``"propagation"``, SOT: side in pixels of the square search region fed to the
            network (a multiple of 32).
        search_context: with ``"propagation"``, SOT: the search region spans this many times the target's
            size (0: no search region, whole frames at the model's input size).
    """

    conf_thresh: float = 0.001
    nms_thresh: float = 0.65
    upstream_fp16: bool = False
    motion_sigma: float = 0.0
    scale_penalty: float = 0.0
    min_score: float = 0.0
    max_target_size: float = 0.0
    method: str = "head"
    features: str = "trained"
    topk: int = 10
    memory_frames: int = 3
    memory_radius: float = 12.0
    memory_confidence: float = 0.8
    lost_score: float = 0.1
    search_size: int = 256
    search_context: float = 4.0

    def __post_init__(self) -> None:
        if self.method not in ("head", "propagation"):
            raise UserError(f"method must be 'head' or 'propagation', got {self.method!r}")
        if self.features not in ("trained", "imagenet"):
            raise UserError(f"features must be 'trained' or 'imagenet', got {self.features!r}")
        if not isinstance(self.topk, int) or self.topk < 1 or not isinstance(self.memory_frames, int) \
                or self.memory_frames < 0:
            raise UserError(f"topk must be an integer >= 1 and memory_frames an integer >= 0; got topk={self.topk!r}, "
                            f"memory_frames={self.memory_frames!r}")
        if not isinstance(self.search_size, int) or self.search_size < 64 or self.search_size % 32 \
                or not self.search_context >= 0:
            raise UserError(f"search_size must be a multiple of 32 >= 64 and search_context >= 0; got "
                            f"{self.search_size!r}, {self.search_context!r}")
        if not self.memory_radius >= 0 or not 0 <= self.lost_score < 0.5:
            raise UserError(f"memory_radius must be >= 0 and lost_score within [0, 0.5); got "
                            f"{self.memory_radius!r}, {self.lost_score!r}")
        if self.max_target_size < 0:
            raise UserError(f"max_target_size must be >= 0, got {self.max_target_size}")
        if self.motion_sigma < 0 or self.scale_penalty < 0 or not 0 <= self.min_score <= 1:
            raise UserError("motion_sigma and scale_penalty must be >= 0 and min_score within [0, 1]")


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


def default_config(model: Unicorn, cls: type[SOTConfig], **overrides) -> SOTConfig:
    """``cls`` with the model variant's tracker defaults (see ``Variant.sot_defaults``) and ``overrides``."""
    from ..models.build import sot_defaults_of

    return cls(**{**sot_defaults_of(model), **overrides})


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
        self.config = config or default_config(model, SOTConfig)
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
        with torch.inference_mode():
            cur = self.model.with_tokens(self.features(f))  # shared by every reference
            for ref in self._refs:
                _, decoded, _ = self.detect_targets(ref.feats, cur, ref.maps, cfg.upstream_fp16)
                for k, target in enumerate(ref.ids):
                    best, boxes, scores, _ = select_target(decoded[k], f.r, self.input_size, self._boxes[target], cfg)
                    if best is not None:  # upstream: top-1; otherwise keep the previous box, marked lost
                        self._boxes[target] = boxes[best]
                        self._scores[target] = float(scores[best])
                    else:
                        self._scores[target] = 0.0
                    self._states[target] = "tracked" if best is not None else "lost"
        self.frame_index += 1
        return self._result(f.size)

    def _result(self, size: tuple[int, int]) -> FrameResult:
        ids = self.object_ids
        boxes = np.array([self._boxes[i] for i in ids], np.float32).reshape(-1, 4)
        scores = np.array([self._scores[i] for i in ids], np.float32)
        states = np.array([self._states.get(i, "tracked") for i in ids], object)
        return FrameResult(self.frame_index, size, np.array(ids, np.int64), boxes, scores,
                           np.zeros(len(ids), np.int64), states=states)
