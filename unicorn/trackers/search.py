"""SOT in a search region: each target is tracked in a square crop around its last box, scaled so
the target spans a fixed number of stride-8 cells whatever its size in the frame.

A small target (a pedestrian 60 pixels tall in a 1080p frame is 2 cells of a full-frame 320x512 input)
is enlarged until it holds enough cells to be told apart from its neighbours; a large one is shrunk.
The memory keeps each remembered cell's position in frame pixels, so recent frames are still read only
near a pixel although every crop has its own scale and place. A lost target is searched for in a
growing region until it is found again or the region holds the whole frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from ..geometry import clip_boxes_xyxy, mask_boxes_xyxy, xywh_to_xyxy
from ..inputs import check_boxes_xywh, check_frame, check_prompt_ids
from ..models.interaction.memory import propagate_blocks, reach_bias
from ..models.unicorn import Unicorn
from ..types import FrameResult
from .base import BaseTracker
from .configs import SOTConfig
from .crops import Crop, search_crop
from .memory import kept_cells
from .regions import box_offsets, box_prior, main_blobs, with_offsets
from .snap import DetectorSnap, SnapTarget


@dataclass
class _Cells:
    keys: torch.Tensor  # (C, n)
    labels: torch.Tensor  # (2, n): background, target
    pos: torch.Tensor  # (n, 2) frame pixels


@dataclass
class SearchTarget:
    """One SOT target's memory: the cells of its prompt frames (the first, then corrected ones) and of its
    recent frames (with frame positions)."""

    prompts: list[_Cells] = field(default_factory=list)
    recent: list[_Cells] = field(default_factory=list)

    def remember(self, emb: torch.Tensor, labels: torch.Tensor, crop: Crop, prompt: bool, keep: int,
                 confidence: float = 0.0) -> None:
        """Store a crop's (C, h, w) embedding and (2, h, w) labels (see :func:`kept_cells`; a search region is
        small, so every background cell is kept, and a recent frame's uncertain cells are dropped)."""
        cells = kept_cells(labels, stride=1, min_confidence=0.0 if prompt else confidence)
        pos = crop.cell_positions(tuple(emb.shape[-2:])).to(emb.device)
        entry = _Cells(emb.flatten(1)[:, cells], labels.flatten(1)[:, cells], pos[cells])
        if prompt:
            self.prompts.append(entry)
        elif keep > 0:
            self.recent = (self.recent + [entry])[-keep:]

    def read(self, emb: torch.Tensor, crop: Crop, topk: int, temperature: float, radius_cells: float) -> torch.Tensor:
        """(2, h, w) labels of a crop; recent cells are read within ``radius_cells`` cells of this crop."""
        grid = tuple(emb.shape[-2:])
        blocks = [(e.keys, e.labels, None) for e in self.prompts]
        if self.recent:
            bias = None
            if radius_cells > 0:
                pos = crop.cell_positions(grid).to(emb.device)
                recent_pos = torch.cat([e.pos for e in self.recent])
                bias = reach_bias(torch.cdist(pos, recent_pos) <= radius_cells * 8 / crop.scale)
            blocks.append((torch.cat([e.keys for e in self.recent], 1), torch.cat([e.labels for e in self.recent], 1),
                           bias))
        return propagate_blocks(emb.flatten(1), blocks, topk, temperature).view(2, *grid)


def region_box(labels: torch.Tensor, crop: Crop) -> np.ndarray | None:
    """Frame-pixel xyxy box of the crop pixels where the target wins over the background, or None."""
    h, w = labels.shape[-2:]
    up = F.interpolate(labels[None], size=(h * 8, w * 8), mode="bilinear", align_corners=False)[0]
    mask = main_blobs((up[1] > up[0]).cpu().numpy())
    return None if mask is None else crop.to_frame(mask_boxes_xyxy(mask[None])[0])


class SearchSOTTracker(BaseTracker):
    """SOT by label propagation in a search region around each target (``method="propagation"`` with
    ``search_context`` > 0; see the module docstring).

    Args:
        model: the network (its backbone; its memory embedding with ``features="trained"``).
        config: settings (``SOTConfig``: ``search_size``, ``search_context``, ``topk``, ``memory_frames``,
            ``memory_radius``, ``lost_score``, ``snap``).
        input_size: unused (the search region has its own size); kept for the common signature.
    """

    task = "sot"
    shared_attributes = (*BaseTracker.shared_attributes, "snapper")  # the snap's detector network

    def __init__(self, model: Unicorn, config: SOTConfig, input_size: tuple[int, int] | None = None) -> None:
        super().__init__(model, input_size)
        self.config = config
        self.snapper = DetectorSnap(config.snap_iou, config.snap_score, self.device) if config.snap != "none" else None
        if config.features == "trained" and not model.has_memory_embedding:
            raise UserError("method='propagation' with features='trained' needs a model with a memory embedding "
                            "(unicorn-lite); use features='imagenet' for this model")
        self.reset()

    def reset(self) -> None:
        super().reset()
        trained = self.config.features == "trained"
        self.temperature = self.model.memory_temperature if trained else 0.05
        self._targets: dict[int, SearchTarget] = {}
        self._boxes: dict[int, np.ndarray] = {}
        self._scores: dict[int, float] = {}
        self._states: dict[int, str] = {}
        self._area: dict[int, float] = {}  # recent target area in frame pixels (for the score)
        self._pad: dict[int, np.ndarray] = {}  # prompt box - region box, in region sizes
        self._misses: dict[int, int] = {}  # frames since the target was last found
        self._snaps: dict[int, SnapTarget | None] = {}
        self._size: tuple[int, int] | None = None

    @property
    def object_ids(self) -> list[int]:
        return sorted(self._targets)

    def _embed(self, frame: np.ndarray, crop: Crop) -> torch.Tensor:
        image = torch.from_numpy(crop.image(frame))[None].to(self.device)
        image = image.permute(0, 3, 1, 2).float().contiguous(memory_format=torch.channels_last)
        return self.model.memory_features(image, self.config.features == "trained")[0].contiguous()

    def _crop(self, frame_hw: tuple[int, int], box: np.ndarray, misses: int = 0) -> Crop:
        context = self.config.search_context * 2 ** min(misses, 4)  # a lost target: look wider each frame
        return search_crop(box, frame_hw, self.config.search_size, context)

    def init(self, frame: np.ndarray, boxes, ids=None) -> FrameResult:
        """Start a video from boxes (x, y, w, h each) on its first frame."""
        self.reset()
        self.frame_index = 0
        return self._add(frame, boxes, ids)

    def add_objects(self, frame: np.ndarray, boxes, ids=None) -> FrameResult:
        """Track the existing targets into ``frame`` and add new ones prompted on it."""
        self._require_init()
        self._check(frame, boxes, ids)
        self.step(frame)
        return self._add(frame, boxes, ids)

    def remove_objects(self, ids) -> None:
        """Stop tracking these target ids."""
        for i in (int(v) for v in np.atleast_1d(ids).tolist()):
            for d in (self._targets, self._boxes, self._scores, self._states, self._area, self._pad, self._misses,
                      self._snaps):
                d.pop(i, None)

    def _check(self, frame: np.ndarray, boxes, ids) -> tuple[np.ndarray, list[int]]:
        xywh = check_boxes_xywh(boxes, check_frame(frame).shape[:2])
        start = max(self._targets, default=0) + 1
        ids = list(range(start, start + len(xywh))) if ids is None else check_prompt_ids(ids, len(xywh))
        clash = sorted(set(ids) & set(self._targets))
        if clash:
            raise UserError(f"target ids {clash} are already tracked; remove them first or use new ids")
        return xywh, ids

    def _add(self, frame: np.ndarray, boxes, ids) -> FrameResult:
        xywh, ids = self._check(frame, boxes, ids)
        frame = self.check_frame_size(frame)  # (H, W) grey frames become BGR
        self._size = frame.shape[:2]
        with torch.inference_mode():
            for box, i in zip(xywh_to_xyxy(xywh), ids):
                self._targets[i] = SearchTarget()
                self._prompt(frame, i, box)
        return self._result()

    def _prompt(self, frame: np.ndarray, i: int, box: np.ndarray) -> None:
        """Remember target ``i`` at the xyxy ``box`` of ``frame`` as one of its prompt frames."""
        crop = self._crop(self._size, box)
        emb = self._embed(frame, crop)
        fg = box_prior(emb, crop.to_input(box[None]), self.config.topk)
        labels = torch.cat([1 - fg, fg])
        self._targets[i].remember(emb, labels, crop, prompt=True, keep=self.config.memory_frames)
        self._pad[i] = box_offsets(box, region_box(labels, crop))
        self._boxes[i], self._scores[i], self._states[i] = box, 1.0, "tracked"
        self._area[i] = float(fg.sum()) * (8 / crop.scale) ** 2
        self._misses[i] = 0
        self._snaps[i] = self.snapper.learn(frame, box) if self.snapper is not None else None

    def step(self, frame: np.ndarray) -> FrameResult:
        """Track every target into the next frame."""
        self._require_init()
        frame = self.check_frame_size(frame)
        with torch.inference_mode():
            for i in self._targets:
                self._track_target(frame, i)
        self.frame_index += 1
        return self._result()

    def correct(self, frame: np.ndarray, boxes, ids=None) -> FrameResult:
        """Call instead of ``step`` on a frame where the user fixed boxes (x, y, w, h each) of tracked ``ids``
        (default: every target, in order): they are the answer and an extra prompt frame of their targets."""
        xywh = check_boxes_xywh(boxes, check_frame(frame).shape[:2])
        ids = self.correction_ids(ids, len(xywh))
        frame = self.check_frame_size(frame)
        with torch.inference_mode():
            for i in self._targets:
                if i not in ids:
                    self._track_target(frame, i)
            for i, box in zip(ids, xywh_to_xyxy(xywh)):
                self._prompt(frame, i, box)
        self.frame_index += 1
        return self._result()

    def _track_target(self, frame: np.ndarray, i: int) -> None:
        cfg, target = self.config, self._targets[i]
        crop = self._crop(self._size, self._boxes[i], self._misses[i])
        emb = self._embed(frame, crop)
        labels = target.read(emb, crop, cfg.topk, self.temperature, cfg.memory_radius)
        region = labels.argmax(0) == 1
        area = float(labels[1][region].sum()) * (8 / crop.scale) ** 2
        conf = float(labels[1][region].mean()) if bool(region.any()) else 0.0
        score = conf * min(1.0, area / max(self._area[i], 1e-6))
        box = region_box(labels, crop) if score >= cfg.lost_score else None
        if box is None:  # not found: keep the last box, marked lost; look wider next frame
            self._scores[i], self._states[i] = 0.0, "lost"
            self._misses[i] += 1
            return
        self._area[i] = 0.8 * self._area[i] + 0.2 * area
        box = with_offsets(box, self._pad[i])
        if self._snaps[i] is not None:
            snapped = self.snapper.snap(frame, box, self._snaps[i])
            box = box if snapped is None else snapped
        self._boxes[i] = clip_boxes_xyxy(box, self._size)
        self._scores[i] = score
        self._states[i] = "uncertain" if score < 2 * cfg.lost_score else "tracked"
        self._misses[i] = 0
        target.remember(emb, labels, crop, prompt=False, keep=cfg.memory_frames, confidence=cfg.memory_confidence)

    def _result(self) -> FrameResult:
        ids = self.object_ids
        return FrameResult(self.frame_index, self._size, np.array(ids, np.int64),
                           np.array([self._boxes[i] for i in ids], np.float32).reshape(-1, 4),
                           np.array([self._scores[i] for i in ids], np.float32), np.zeros(len(ids), np.int64),
                           states=np.array([self._states[i] for i in ids], object))
