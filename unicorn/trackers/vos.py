"""Video object segmentation: first-frame masks -> box priors -> per-object top-1 mask -> soft aggregation.

As upstream, each object's mask is reduced to its bounding box for the prior; objects added at a
later frame keep that frame as their own reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import UserError
from ..geometry import filled_box_masks, mask_boxes_xyxy, xywh_to_xyxy
from ..inputs import check_boxes_xywh, check_frame, check_masks, check_prompt_ids, mask_ids
from ..models.features import FrameFeatures
from ..models.postprocess import masks_to_frame, postprocess
from ..models.unicorn import Unicorn
from ..types import FrameResult
from .base import BaseTracker
from .configs import VOSConfig
from .settings import tracker_config
from .sot import select_target

HELD_PROB = 0.9  # probability given to a held mask in the soft aggregation


@dataclass
class _Reference:
    """A reference frame and the objects that were prompted on it."""

    feats: FrameFeatures  # as later frames read it (BaseTracker.reference_features)
    object_ids: list[int] = field(default_factory=list)
    maps: list[torch.Tensor] = field(default_factory=list)  # each (1, h/8, w/8)


def soft_aggregate(probs: np.ndarray) -> np.ndarray:
    """Merge per-object probabilities into one label map.

    background = prod(1 - p_i); label = argmax over [background, p_1, ..., p_N].

    Args:
        probs: (N, H, W) object probabilities.

    Returns:
        (H, W) int64 labels: 0 background, i + 1 for object i.
    """
    if len(probs) == 0:
        raise ValueError("soft_aggregate needs at least one object")
    background = np.prod(1.0 - probs, axis=0, keepdims=True)
    return np.argmax(np.concatenate([background, probs], 0), axis=0)


class VOSTracker(BaseTracker):
    """Segments objects given by masks; objects can be added and removed while tracking."""

    task = "vos"

    def __init__(self, model: Unicorn, config: VOSConfig | None = None,
                 input_size: tuple[int, int] | None = None) -> None:
        if not model.has_masks:
            raise UserError("VOS needs a model with a mask head (a *_mask variant or unicorn-lite)")
        super().__init__(model, input_size)
        self.config = config or tracker_config(model, "vos")
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._refs: list[_Reference] = []
        self._objects: dict[int, _Reference] = {}
        self._last_score: dict[int, float] = {}
        self._last_box: dict[int, np.ndarray] = {}  # xyxy of the last non-empty mask, for the motion prior
        self._last_mask: dict[int, np.ndarray] = {}  # the last non-empty mask, held when the score gate rejects

    @property
    def object_ids(self) -> list[int]:
        return sorted(self._objects)

    def init(self, frame: np.ndarray, masks=None, ids=None, boxes=None) -> FrameResult:
        """Start a video from masks of the first frame ((H, W) index map or (K, H, W) binary).

        ``boxes`` (x, y, w, h each) instead of masks gives upstream's box-initialised VOS: each
        box becomes a mask through :meth:`masks_from_boxes`.
        """
        if (masks is None) == (boxes is None):
            raise UserError("VOS init needs either masks= or boxes= (not both)")
        self.reset()
        if boxes is not None:
            masks, _ = self.masks_from_boxes(frame, boxes)
        self.frame_index = 0
        return self._add(frame, masks, ids)

    def masks_from_boxes(self, frame: np.ndarray, boxes_xywh, mask_thresh: float = 0.5
                         ) -> tuple[np.ndarray, np.ndarray]:
        """First-frame masks for boxes from the model's own mask head (upstream's box-initialised VOS).

        Each box map is propagated onto the frame itself, the SOT head detects with that prior,
        and the top-1 detection's mask is thresholded at ``mask_thresh``. A box whose target gives
        no detection, or an empty mask, falls back to the filled box. The tracker's state is untouched.

        Args:
            frame: (H, W, 3) uint8 BGR frame.
            boxes_xywh: (x, y, w, h) or (K, 4) of them, in pixels.
            mask_thresh: probability above which a pixel belongs to the object.

        Returns:
            masks: (K, H, W) bool, none empty; from_head: (K,) bool, False where the filled box was used.
        """
        xywh = check_boxes_xywh(boxes_xywh, check_frame(frame).shape[:2])
        xyxy = xywh_to_xyxy(xywh)
        if not self._refs:  # before the video starts: the scale its first prompt will get
            self.fit_targets(xyxy, frame.shape[:2], self.config.max_target_size)
        f = self.preprocess(frame)
        cfg = self.config
        masks = filled_box_masks(xywh, f.size)
        from_head = np.zeros(len(xywh), bool)
        with torch.inference_mode():
            feats = self.features(f)  # the frame is its own reference
            head_out, decoded, locations = self.detect_targets(feats, feats, self.box_maps(xyxy, f.r),
                                                               cfg.upstream_fp16)
            mask_feats, up_weights = self.model.segment(feats)
            for k in range(len(xywh)):
                dets, idx = postprocess(decoded[k], 1, cfg.conf_thresh, cfg.nms_thresh)
                if len(dets) == 0:
                    continue
                probs = self.model.instance_masks(head_out, mask_feats, up_weights, idx[:1], locations, batch_idx=k)
                mask = masks_to_frame(probs, f.r, f.size)[0].float().cpu().numpy() > mask_thresh
                if mask.any():
                    masks[k], from_head[k] = mask, True
        return masks, from_head

    def add_objects(self, frame: np.ndarray, masks, ids=None) -> FrameResult:
        """Add objects on the current frame (call instead of ``step`` for that frame).

        Existing objects are tracked into this frame as usual; the new ones start from their masks.
        """
        self._require_init()
        self._check_new(frame, masks, ids)  # refuse bad prompts before the frame is consumed
        return self._add(frame, masks, ids, previous=self.step(frame))

    def remove_objects(self, ids) -> None:
        """Stop tracking these object ids."""
        for i in np.atleast_1d(ids).tolist():
            self._objects.pop(int(i), None)
            for ref in self._refs:  # its first reference and any corrected frame
                if int(i) in ref.object_ids:
                    pos = ref.object_ids.index(int(i))
                    del ref.object_ids[pos], ref.maps[pos]
        self._refs = [r for r in self._refs if r.object_ids]

    def _check_new(self, frame: np.ndarray, masks, ids) -> tuple[np.ndarray, list[int]]:
        bin_masks = check_masks(masks, check_frame(frame).shape[:2])
        arr = np.asarray(masks)
        if arr.ndim == 2 and ids is None:  # an index map: its values are the ids
            ids = [v for v in mask_ids(arr) if v != 0]
        start = max(self._objects, default=0) + 1
        ids = list(range(start, start + len(bin_masks))) if ids is None else check_prompt_ids(ids, len(bin_masks))
        clash = sorted(set(ids) & set(self._objects))
        if clash:
            raise UserError(f"object ids {clash} are already tracked; remove them first or use new ids")
        return bin_masks, ids

    def correct(self, frame: np.ndarray, masks=None, ids=None, boxes=None) -> FrameResult:
        """Call instead of ``step`` on a frame where the user fixed masks (or boxes, made into masks as by
        ``init``) of tracked ``ids`` (default: an index map's values, or every object in order). They are
        this frame's answer, and the frame an extra reference of those objects (their first one stays)."""
        if (masks is None) == (boxes is None):
            raise UserError("correct needs either masks= or boxes= (not both)")
        if boxes is not None:
            masks, _ = self.masks_from_boxes(frame, boxes)
        bin_masks = check_masks(masks, check_frame(frame).shape[:2])
        if np.asarray(masks).ndim == 2 and ids is None:
            ids = [v for v in mask_ids(np.asarray(masks)) if v != 0]
        ids = self.correction_ids(ids, len(bin_masks))
        return self._add(frame, bin_masks, ids, previous=self.step(frame), correction=True)

    def _add(self, frame: np.ndarray, masks, ids, previous: FrameResult | None = None,
             correction: bool = False) -> FrameResult:
        bin_masks, ids = (masks, ids) if correction else self._check_new(frame, masks, ids)
        if not self._refs:  # the first prompt fixes the video's frame scale
            self.fit_targets(mask_boxes_xyxy(bin_masks), frame.shape[:2], self.config.max_target_size)
        f = self.preprocess(frame)
        with torch.inference_mode():
            ref = _Reference(self.reference_features(f))
        maps = self.box_maps(mask_boxes_xyxy(bin_masks), f.r)[0]  # (K, h/8, w/8)
        for i, obj_id in enumerate(ids):
            ref.object_ids.append(obj_id)
            ref.maps.append(maps[i:i + 1])
            self._objects.setdefault(obj_id, ref)
            self._last_score[obj_id] = 1.0
        self._refs.append(ref)
        # The output of this frame: tracked objects (if any) with the new masks painted over them.
        obj_ids = sorted(self._objects)
        probs = np.zeros((len(obj_ids), *f.size), np.float32)
        if previous is not None and previous.masks is not None:
            for tid, m in zip(previous.track_ids.tolist(), previous.masks):
                if tid in obj_ids:
                    probs[obj_ids.index(tid)] = m
        for i, obj_id in enumerate(ids):
            probs[:, bin_masks[i]] = 0.0
            probs[obj_ids.index(obj_id)] = bin_masks[i]
        return self._result(obj_ids, probs, f.size)

    def step(self, frame: np.ndarray) -> FrameResult:
        """Segment every tracked object in the next frame."""
        self._require_init()
        f = self.preprocess(frame)
        cfg = self.config
        obj_ids = sorted(self._objects)
        probs = np.zeros((len(obj_ids), *f.size), np.float32)
        with torch.inference_mode():
            cur = self.model.with_tokens(self.features(f))  # shared by every reference
            mask_feats, up_weights = self.model.segment(cur)
            found: set[int] = set()  # the newest reference that finds an object answers (a corrected frame)
            for ref in self._refs:
                maps = torch.stack(ref.maps, 1)  # (1, K, h, w)
                head_out, decoded, locations = self.detect_targets(ref.feats, cur, maps, cfg.upstream_fp16)
                for k, obj_id in enumerate(ref.object_ids):
                    best, _, scores, idx = select_target(decoded[k], f.r, self.input_size,
                                                         self._last_box.get(obj_id), cfg)
                    if best is None and obj_id in found:
                        continue
                    if best is None:  # nothing found: the object is lost (its last mask held, or none)
                        self._last_score[obj_id] = 0.0
                        if cfg.min_score > 0 and obj_id in self._last_mask:  # gated: hold the last mask
                            probs[obj_ids.index(obj_id)] = np.where(self._last_mask[obj_id], HELD_PROB, 0.0)
                        continue
                    found.add(obj_id)
                    m = self.model.instance_masks(head_out, mask_feats, up_weights, idx[best:best + 1], locations,
                                                  batch_idx=k)
                    probs[obj_ids.index(obj_id)] = masks_to_frame(m, f.r, f.size)[0].float().cpu().numpy()
                    self._last_score[obj_id] = float(scores[best])
        self.frame_index += 1
        return self._result(obj_ids, probs, f.size)

    def _result(self, obj_ids: list[int], probs: np.ndarray, size: tuple[int, int]) -> FrameResult:
        if not obj_ids:
            return FrameResult(self.frame_index, size, masks=np.zeros((0, *size), bool))
        labels = soft_aggregate(probs)
        masks = np.stack([labels == i + 1 for i in range(len(obj_ids))])
        boxes = mask_boxes_xyxy(masks).astype(np.float32)
        for obj_id, box, mask in zip(obj_ids, boxes, masks):
            if mask.any():  # the motion prior starts from the last non-empty mask
                self._last_box[obj_id] = box
                self._last_mask[obj_id] = mask
        scores = np.array([self._last_score[i] for i in obj_ids], np.float32)
        states = np.array(["tracked" if self._last_score[i] > 0 else "lost" for i in obj_ids], object)
        return FrameResult(self.frame_index, size, np.array(obj_ids, np.int64), boxes, scores,
                           np.zeros(len(obj_ids), np.int64), masks, states)
