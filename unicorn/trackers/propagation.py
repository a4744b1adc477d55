"""SOT and VOS by label propagation: the target prior is the answer (``method="propagation"``).

Each frame is embedded once (:class:`~unicorn.models.interaction.memory.MemoryEmbedding`, or the
frozen ImageNet features with ``features="imagenet"``); the labels of the prompt frames and of the
last ``memory_frames`` frames are propagated to it (:class:`~unicorn.trackers.memory.LabelMemory`).
VOS objects are the arg-max of the propagated labels, upsampled to the frame; SOT targets are the box
of that region, corrected by how the prompt box related to its region on the prompt frame. A box
prompt becomes labels by propagating within its own frame from the box's core (object) and a ring
around the box (background), so background inside the box is not taken for the target.

Every target carries a state (``tracked`` / ``uncertain`` / ``lost``, see ``SOTConfig.lost_score``);
a lost target keeps its last box or mask, marked ``lost`` with score 0, and is looked for again in
every frame through its prompt frame.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from ..geometry import clip_boxes_xyxy, filled_box_masks, mask_boxes_xyxy, xywh_to_xyxy
from ..inputs import check_boxes_xywh, check_frame, check_masks, check_prompt_ids
from ..models.unicorn import Unicorn
from ..types import FrameResult
from .base import BaseTracker, Frame
from .configs import SOTConfig
from .memory import LabelMemory
from .regions import box_offsets, box_prior, cell_fractions, channel_argmax, main_blobs, with_offsets
from .settings import tracker_config


class PropagationTracker(BaseTracker):
    """SOT (boxes) or VOS (masks) by label propagation over a frame memory.

    Args:
        model: the network (its backbone; its embedding with ``features="trained"``).
        task: ``"sot"`` or ``"vos"``.
        config: settings (``SOTConfig`` / ``VOSConfig`` with ``method="propagation"``).
        input_size: network input (H, W).
    """

    def __init__(self, model: Unicorn, task: str, config: SOTConfig | None = None,
                 input_size: tuple[int, int] | None = None) -> None:
        super().__init__(model, input_size)
        self.task = task
        self.config = config or tracker_config(model, task, {"method": "propagation"})
        if self.config.features == "trained" and not model.has_memory_embedding:
            raise UserError("method='propagation' with features='trained' needs a model with a memory embedding "
                            "(unicorn-lite); use features='imagenet' for this model")
        self.reset()

    def reset(self) -> None:
        super().reset()
        temperature = self.model.memory_temperature if self.config.features == "trained" else 0.05
        cfg = self.config
        self.memory = LabelMemory(cfg.topk, temperature, cfg.memory_frames, cfg.memory_radius, cfg.memory_confidence)
        self._ids: list[int] = []
        self._boxes: dict[int, np.ndarray] = {}
        self._masks: dict[int, np.ndarray] = {}
        self._scores: dict[int, float] = {}
        self._states: dict[int, str] = {}
        self._mass: dict[int, float] = {}  # each object's recent area in cells (for its score)
        self._box_pad: dict[int, np.ndarray] = {}  # SOT: prompt box - region box, in region sizes
        self._size: tuple[int, int] | None = None
        self._last_labels: torch.Tensor | None = None

    @property
    def object_ids(self) -> list[int]:
        return list(self._ids)

    # ------------------------------------------------------------------ frames
    def _embed(self, frame: np.ndarray) -> tuple[Frame, torch.Tensor]:
        """Letterbox and embed a frame: (C, h, w) over the cells the frame covers."""
        f = self.preprocess(frame)  # checks the frame has the video's size
        emb = self.model.memory_features(f.image, self.config.features == "trained")
        h, w = self._valid(f)
        return f, emb[0, :, :h, :w].contiguous(memory_format=torch.contiguous_format)

    @staticmethod
    def _valid(f: Frame) -> tuple[int, int]:
        return int(np.ceil(f.size[0] * f.r / 8)), int(np.ceil(f.size[1] * f.r / 8))

    def _input_maps(self, masks: np.ndarray, f: Frame) -> torch.Tensor:
        """(K, H0, W0) bool masks -> (K, h, w) cell fractions."""
        hr, wr = round(f.size[0] * f.r), round(f.size[1] * f.r)
        t = torch.from_numpy(masks.astype(np.float32))[:, None].to(self.device)
        t = F.interpolate(t, size=(hr, wr), mode="area")[:, 0]
        return cell_fractions(t, self._valid(f))

    def masks_from_boxes(self, frame: np.ndarray, boxes_xywh, mask_thresh: float = 0.5
                         ) -> tuple[np.ndarray, np.ndarray]:
        """First-frame masks for boxes from the embedding alone (:func:`box_prior`); the state is untouched.

        Returns:
            masks: (K, H, W) bool, none empty; from_prior: (K,) bool, False where the filled box was used.
        """
        xywh = check_boxes_xywh(boxes_xywh, check_frame(frame).shape[:2])
        xyxy = xywh_to_xyxy(xywh)
        with torch.inference_mode():
            f, emb = self._embed(frame)
            probs = self._upsample(torch.cat([torch.zeros_like(emb[:1]), self.box_labels(emb, xyxy, f)]), f)[1:]
        masks = probs.cpu().numpy() > mask_thresh
        from_prior = masks.reshape(len(masks), -1).any(1)
        masks[~from_prior] = filled_box_masks(xywh[~from_prior], f.size)
        return masks, from_prior

    def box_labels(self, emb: torch.Tensor, boxes_xyxy: np.ndarray, f: Frame) -> torch.Tensor:
        """Object probability of every cell for box prompts: (K, h, w) (see :func:`box_prior`)."""
        return box_prior(emb, np.asarray(boxes_xyxy, np.float64) * f.r, self.config.topk)

    # ------------------------------------------------------------------ prompts
    def init(self, frame: np.ndarray, boxes=None, masks=None, ids=None) -> FrameResult:
        """Start a video from boxes (x, y, w, h each) or masks ((H, W) index map or (K, H, W) binary)."""
        if (masks is None) == (boxes is None):
            raise UserError(f"{self.task.upper()} init needs either boxes= or masks= (not both)")
        self.reset()
        self.frame_index = 0
        return self._add(frame, boxes, masks, ids, previous=None)

    def add_objects(self, frame: np.ndarray, boxes=None, masks=None, ids=None) -> FrameResult:
        """Track the existing targets into ``frame`` and add new ones prompted on it."""
        self._require_init()
        if (masks is None) == (boxes is None):
            raise UserError("add_objects needs either boxes= or masks= (not both)")
        self._prompt(frame, boxes, masks, ids)  # refuse bad prompts before the frame is consumed
        return self._add(frame, boxes, masks, ids, previous=self._track(frame))

    def remove_objects(self, ids) -> None:
        """Stop tracking these target ids."""
        for i in (int(v) for v in np.atleast_1d(ids).tolist()):
            if i in self._ids:
                self.memory.remove_object(1 + self._ids.index(i))
                self._ids.remove(i)
                for d in (self._boxes, self._masks, self._scores, self._states, self._mass, self._box_pad):
                    d.pop(i, None)

    def _prompt(self, frame: np.ndarray, boxes, masks, ids) -> tuple[np.ndarray | None, np.ndarray | None, list[int]]:
        size = check_frame(frame).shape[:2]
        xywh = check_boxes_xywh(boxes, size) if boxes is not None else None
        bin_masks = check_masks(masks, size) if masks is not None else None
        if masks is not None and ids is None and np.asarray(masks).ndim == 2:
            ids = [int(v) for v in np.unique(np.asarray(masks)) if v != 0]
        n = len(xywh) if xywh is not None else len(bin_masks)
        start = max(self._ids, default=0) + 1
        ids = list(range(start, start + n)) if ids is None else check_prompt_ids(ids, n)
        clash = sorted(set(ids) & set(self._ids))
        if clash:
            raise UserError(f"target ids {clash} are already tracked; remove them first or use new ids")
        return xywh, bin_masks, ids

    def _add(self, frame: np.ndarray, boxes, masks, ids, previous: torch.Tensor | None) -> FrameResult:
        xywh, bin_masks, ids = self._prompt(frame, boxes, masks, ids)
        with torch.inference_mode():
            f, emb = self._embed(frame)
            self._size = f.size
            if bin_masks is not None:
                new = self._input_maps(bin_masks, f)
                prompt_xyxy = mask_boxes_xyxy(bin_masks)
            else:
                prompt_xyxy = xywh_to_xyxy(xywh)
                new = self.box_labels(emb, prompt_xyxy, f)
            old = previous if previous is not None else torch.zeros((1, *new.shape[1:]), device=new.device)
            old = old.clone()
            old[1:] *= (1 - new.sum(0, keepdim=True)).clamp(min=0)  # new objects take their cells
            labels = torch.cat([old[1:], new])
            labels = torch.cat([(1 - labels.sum(0, keepdim=True)).clamp(min=0), labels])
            self.memory.add_prompt(emb, labels)
            self._last_labels = labels
            self._ids += ids
            for k, i in enumerate(ids):
                self._mass[i] = float(new[k].sum())
            self._finish(labels, f)
            if bin_masks is None:  # the prompt box, kept relative to the region it holds
                for k, i in enumerate(ids):
                    self._box_pad[i] = box_offsets(prompt_xyxy[k], self._region_box(labels, 1 + self._ids.index(i), f))
                    self._boxes[i] = prompt_xyxy[k]
            else:
                for k, i in enumerate(ids):
                    self._masks[i] = bin_masks[k]
                    self._boxes[i] = prompt_xyxy[k]
            for i in ids:
                self._scores[i], self._states[i] = 1.0, "tracked"
        return self._result(f.size)

    # ------------------------------------------------------------------ tracking
    def step(self, frame: np.ndarray) -> FrameResult:
        """Track every target into the next frame."""
        self._require_init()
        self._track(frame)
        return self._result(self._size)

    def correct(self, frame: np.ndarray, boxes=None, masks=None, ids=None) -> FrameResult:
        """Call instead of ``step`` on a frame where the user fixed tracked targets (``ids``, default every
        target in order): boxes (x, y, w, h each; VOS makes them masks as ``init`` does) or masks. They are
        this frame's answer, and the frame becomes an extra prompt frame of the memory."""
        if (masks is None) == (boxes is None):
            raise UserError("correct needs either boxes= or masks= (not both)")
        size = check_frame(frame).shape[:2]
        if boxes is not None and self.task == "vos":
            masks, boxes = self.masks_from_boxes(frame, boxes)[0], None
        xywh = check_boxes_xywh(boxes, size) if boxes is not None else None
        bin_masks = check_masks(masks, size) if masks is not None else None
        if masks is not None and ids is None and np.asarray(masks).ndim == 2:
            ids = [int(v) for v in np.unique(np.asarray(masks)) if v != 0]
        ids = self.correction_ids(ids, len(xywh) if xywh is not None else len(bin_masks))
        rows = [1 + self._ids.index(i) for i in ids]
        with torch.inference_mode():
            f, emb = self._embed(frame)
            labels = self.memory.read(emb, self._search_region())
            xyxy = xywh_to_xyxy(xywh) if xywh is not None else mask_boxes_xyxy(bin_masks)
            new = self.box_labels(emb, xyxy, f) if xywh is not None else self._input_maps(bin_masks, f)
            labels[1:] *= (1 - new.sum(0, keepdim=True)).clamp(min=0)  # the fixed targets take their cells
            labels[rows] = new
            labels[0] = (1 - labels[1:].sum(0)).clamp(min=0)
            self.memory.add_prompt(emb, labels)
            self.memory.add_frame(emb, labels)
            self._last_labels = labels
            self._finish(labels, f)
            for k, i in enumerate(ids):
                self._mass[i] = float(new[k].sum())
                self._boxes[i], self._scores[i], self._states[i] = xyxy[k], 1.0, "tracked"
                if bin_masks is not None:
                    self._masks[i] = bin_masks[k]
                else:
                    self._box_pad[i] = box_offsets(xyxy[k], self._region_box(labels, rows[k], f))
        self.frame_index += 1
        return self._result(self._size)

    def _track(self, frame: np.ndarray) -> torch.Tensor:
        """Track every target into ``frame``; returns its (1 + K, h, w) labels."""
        with torch.inference_mode():
            labels, f = self._read(frame)
            self._finish(labels, f)
        self.frame_index += 1
        return labels

    def _read(self, frame: np.ndarray) -> tuple[torch.Tensor, Frame]:
        f, emb = self._embed(frame)
        labels = self.memory.read(emb, self._search_region())
        self.memory.add_frame(emb, labels)
        self._last_labels = labels
        return labels, f

    def _search_region(self) -> torch.Tensor | None:
        """Cells within ``memory_radius`` of a target's last cells; None (everywhere) while one is lost."""
        last = getattr(self, "_last_labels", None)
        radius = int(round(self.config.memory_radius))
        if last is None or radius <= 0 or any(self._states.get(i) == "lost" for i in self._ids):
            return None
        near = (last[1:].amax(0) > 0.05).float()[None, None]
        return F.max_pool2d(near, 2 * radius + 1, stride=1, padding=radius)[0, 0] > 0

    def _finish(self, labels: torch.Tensor, f: Frame) -> None:
        """Boxes, masks, scores and states of every object from (1 + K, h, w) labels."""
        winner = labels.argmax(0)
        up = None
        if self.task == "vos":  # arg-max at input pixels, then nearest to frame pixels
            small = channel_argmax(self._upsample(labels, f, full=False)).to(torch.uint8).cpu().numpy()
            up = cv2.resize(small, (f.size[1], f.size[0]), interpolation=cv2.INTER_NEAREST)
        for k, i in enumerate(self._ids):
            region = winner == k + 1
            area = float(labels[k + 1][region].sum())
            conf = float(labels[k + 1][region].mean()) if bool(region.any()) else 0.0
            score = conf * min(1.0, area / max(self._mass.get(i, 1.0), 1e-6))
            if area > 0:
                self._mass[i] = 0.8 * self._mass[i] + 0.2 * area if i in self._mass else area
            lost = score < self.config.lost_score or not bool(region.any())
            self._scores[i] = 0.0 if lost else score
            self._states[i] = "lost" if lost else ("uncertain" if score < 2 * self.config.lost_score else "tracked")
            if lost:
                continue  # keep the last box / mask
            if self.task == "vos":
                mask = up == k + 1
                if mask.any():
                    self._masks[i] = mask
                    self._boxes[i] = mask_boxes_xyxy(mask[None])[0]
            else:
                box = self._region_box(labels, k + 1, f)
                if box is not None:
                    self._boxes[i] = clip_boxes_xyxy(with_offsets(box, self._box_pad.get(i, np.zeros(4))), f.size)

    def _upsample(self, labels: torch.Tensor, f: Frame, full: bool = True) -> torch.Tensor:
        """(1 + K, h, w) labels -> at input pixels (``full=False``) or frame pixels."""
        h, w = labels.shape[-2:]
        up = F.interpolate(labels[None], size=(h * 8, w * 8), mode="bilinear", align_corners=False)
        up = up[..., :round(f.size[0] * f.r), :round(f.size[1] * f.r)]
        if full:
            up = F.interpolate(up, size=f.size, mode="bilinear", align_corners=False)
        return up[0]

    def _region_box(self, labels: torch.Tensor, row: int, f: Frame) -> np.ndarray | None:
        """Frame-pixel xyxy box of the pixels where object ``row`` wins, or None."""
        up = self._upsample(labels, f, full=False)
        mask = main_blobs((channel_argmax(up) == row).cpu().numpy())
        return None if mask is None else mask_boxes_xyxy(mask[None])[0] / f.r

    def _result(self, size: tuple[int, int]) -> FrameResult:
        ids = self._ids
        boxes = np.array([self._boxes[i] for i in ids], np.float32).reshape(-1, 4)
        scores = np.array([self._scores[i] for i in ids], np.float32)
        states = np.array([self._states[i] for i in ids], object)
        masks = None
        if self.task == "vos":
            masks = np.stack([self._masks[i] for i in ids]) if ids else np.zeros((0, *size), bool)
        return FrameResult(self.frame_index, size, np.array(ids, np.int64), boxes, scores,
                           np.zeros(len(ids), np.int64), masks, states)
