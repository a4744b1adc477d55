"""Multi-object tracking (and MOTS): detect with a zero prior, associate, optionally segment."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..checks import check_ids
from ..errors import UserError
from ..geometry import clip_boxes_xyxy
from ..models.features import FrameFeatures
from ..models.heads.detection import HeadOutput
from ..models.postprocess import box_to_frame, postprocess
from ..models.unicorn import Unicorn
from ..types import FrameResult
from .association.base import Tracks
from .association.bytetrack import ByteTrack
from .association.embedding import EmbeddingMatcher
from .base import BaseTracker, Frame
from .configs import MOTConfig
from .mots import box_masks, drop_empty, head_masks
from .settings import complete_mot_config, tracker_config

# A detector callable: (frame_bgr, frame_index) -> (boxes_xyxy (N,4), scores (N,), class_ids (N,))
Detector = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def load_mot_detections(path: str | Path) -> dict[int, np.ndarray]:
    """Read a MOTChallenge det.txt (frame, -1, x, y, w, h, score, ...) into {frame (1-based): (N, 5) xyxy+score}."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"detections file {path} does not exist")
    out: dict[int, list] = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.replace(" ", "").split(",")
        try:
            frame, x, y, w, h, score = float(parts[0]), *map(float, parts[2:7])
        except (ValueError, IndexError):
            frame = x = y = w = h = score = math.nan
        if not (np.isfinite([frame, x, y, w, h, score]).all() and frame >= 1 and frame == int(frame)
                and w >= 0 and h >= 0):
            raise UserError(f"{path}:{n}: expected 'frame,id,x,y,w,h,score,...' with a frame number >= 1 and finite "
                            f"numbers, width and height >= 0; got {line.strip()!r}")
        frame = int(frame)
        out.setdefault(frame, []).append((x, y, x + w, y + h, score))
    return {k: np.asarray(v, np.float32) for k, v in out.items()}


@dataclass
class _Detections:
    """One frame's detections.

    Attributes:
        boxes: (N, 4) float32 xyxy boxes in frame pixels.
        scores: (N,) float32.
        classes: (N,) int64.
        boxes_in: (N, 4) the boxes in input pixels on the model's device (None when the network does not run).
        head_out, anchor_idx, locations: for the model's own detections, the MOT head's output, each
            detection's anchor and the anchor centres (what MOTS reads their masks from).
    """

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    boxes_in: torch.Tensor | None
    head_out: HeadOutput | None = None
    anchor_idx: torch.Tensor | None = None
    locations: torch.Tensor | None = None


class MOTTracker(BaseTracker):
    """Tracks every object of the chosen classes; with ``segment=True`` it is the MOTS tracker (its masks:
    :mod:`unicorn.trackers.mots`).

    Args:
        model: the network.
        config: detection and association settings; default: :func:`~unicorn.trackers.settings.tracker_config`
            (the defaults < the model variant's). ``detector="auto"`` and ``bytetrack=None`` are completed
            the same way; ``self.config`` is what runs.
        input_size: network input (H, W).
        segment: also output masks (MOTS).
        detector: bring your own detections: a callable or a MOTChallenge det.txt path. Without one,
            ``config.detector`` chooses between the model's MOT head and the bundled NanoDet-g.

    With ByteTrack association and a detector other than the model, the Unicorn network is not run
    at all (its features only serve embedding association and masks).

    Attributes:
        detector_name: ``"model"``, ``"nanodet-g"`` or ``"own"`` (a given callable or det.txt).
    """

    def __init__(self, model: Unicorn, config: MOTConfig | None = None, input_size: tuple[int, int] | None = None,
                 segment: bool = False, detector: Detector | str | Path | None = None) -> None:
        super().__init__(model, input_size)
        task, own = ("mots" if segment else "mot"), detector is not None
        cfg = config if config is not None else tracker_config(model, task, detector_given=own)
        self.config = cfg = complete_mot_config(model, task, cfg, detector_given=own)
        self.segment = segment
        kind = "own" if own else cfg.detector
        if segment:
            if not model.has_masks:
                raise UserError("MOTS needs a model with a mask head (a *_mask variant or unicorn-lite)")
            if kind == "own" and not model.has_memory_embedding:
                raise UserError("MOTS needs the model's own detections (their masks); drop --detections")
            if kind not in ("model", "own") and not model.has_memory_embedding:
                raise UserError(f"MOTS needs the model's own detections (their masks); detector {kind!r} has no "
                                "masks, use detector 'model' (or 'auto')")
        if kind == "model" and cfg.classes is not None:
            check_ids("classes", cfg.classes, model.num_classes)
        if cfg.association == "embedding" and model.embedding is None:
            raise UserError("the embedding matcher needs a tracking model; this is a plain detector")
        if isinstance(detector, str | Path):
            table = load_mot_detections(detector)
            self.detector: Detector | None = lambda frame, i: _rows(table.get(i + 1))
        elif kind == "nanodet-g":
            from ..detectors.nanodet import NanoDetDetector

            low = cfg.bytetrack.low_thresh if cfg.association == "bytetrack" else cfg.min_score
            widest = int(np.ceil(cfg.detector_size * 16 / 9 / 32)) * 32  # 16:9 video fills the input
            self.detector = NanoDetDetector(score_thresh=max(cfg.conf_thresh, low), nms_thresh=cfg.nms_thresh,
                                            classes=cfg.classes, device=self.device, input_size=cfg.detector_size,
                                            max_long_side=widest)
        else:
            self.detector = detector
        self.detector_name = kind
        self.reset()

    @property
    def task(self) -> str:
        """``"mots"`` when the tracker segments, else ``"mot"``."""
        return "mots" if self.segment else "mot"

    def reset(self) -> None:
        super().reset()
        cfg = self.config
        self._assoc = ByteTrack(cfg.bytetrack) if cfg.association == "bytetrack" else EmbeddingMatcher(cfg.embedding)
        self._prev: FrameFeatures | None = None

    def init(self, frame: np.ndarray) -> FrameResult:
        """Start a video (MOT needs no prompt) and track its first frame."""
        self.reset()
        return self.step(frame)

    def step(self, frame: np.ndarray) -> FrameResult:
        """Detect, associate (and segment) one frame."""
        frame = self.check_frame_size(frame)
        self.frame_index += 1
        # the network's features serve its own detections and embedding association; MOTS masks of boxes
        # from another detector need the letterboxed frame only
        needs_features = self.detector is None or self.config.association == "embedding"
        with torch.inference_mode():
            f = self.preprocess(frame) if needs_features or self.segment else None
            cur = self.features(f) if needs_features else None
            dets = self._detect(frame, f, cur)
            tracks, rows = self._associate(dets, cur)
            masks = None
            if self.segment:
                tracks, masks = drop_empty(tracks, self._masks(tracks, rows, dets, f, cur))
        return FrameResult(self.frame_index, frame.shape[:2], tracks.track_ids, tracks.boxes_xyxy, tracks.scores,
                           tracks.class_ids, masks)

    def _detect(self, frame: np.ndarray, f: Frame | None, cur: FrameFeatures | None) -> _Detections:
        """This frame's detections, from the model's MOT head or from the detector."""
        cfg = self.config
        if self.detector is not None:
            boxes, scores, classes = check_detector_output(self.detector(frame, self.frame_index), frame.shape[:2])
            boxes_in = torch.from_numpy(boxes * f.r).to(self.device) if f is not None else None
            return _Detections(boxes, scores, classes, boxes_in)
        head_out = self.model.detect_objects(cur)
        decoded, locations = self.model.decode(head_out)
        dets, anchor_idx = postprocess(decoded[0], self.model.num_classes, cfg.conf_thresh, cfg.nms_thresh)
        boxes = box_to_frame(dets[:, :4], f.r, self.input_size).astype(np.float32).reshape(-1, 4)
        return _Detections(boxes, (dets[:, 4] * dets[:, 5]).cpu().numpy(), dets[:, 6].long().cpu().numpy(),
                           dets[:, :4], head_out, anchor_idx, locations)

    def _associate(self, dets: _Detections, cur: FrameFeatures | None) -> tuple[Tracks, np.ndarray]:
        """The tracks after this frame, and the rows of ``dets`` offered to the associator (the tracks'
        ``detection_indices`` index these rows)."""
        cfg = self.config
        keep = np.ones(len(dets.scores), bool)
        if cfg.classes is not None:
            keep &= np.isin(dets.classes, cfg.classes)
        if cfg.association == "bytetrack":
            rows = np.flatnonzero(keep)
            return self._assoc.update(dets.boxes[rows], dets.scores[rows], dets.classes[rows]), rows
        rows = np.flatnonzero(keep & (dets.scores > cfg.min_score))
        cur = self.model.with_tokens(cur)  # read again by the next frame
        e_cur = self.model.embed_current(self._prev if self._prev is not None else cur, cur)
        rows_t = torch.from_numpy(rows).to(self.device)
        centres = (dets.boxes_in[rows_t, :2] + dets.boxes_in[rows_t, 2:4]) / 2
        embeds = self.model.id_features(e_cur, centres).float().cpu().numpy()
        self._prev = cur.for_reference()  # keep only what the next frame needs
        return self._assoc.update(dets.boxes[rows], dets.scores[rows], embeds, dets.classes[rows]), rows

    def _masks(self, tracks: Tracks, rows: np.ndarray, dets: _Detections, f: Frame,
               cur: FrameFeatures | None) -> np.ndarray:
        """(N, H, W) disjoint masks of the tracks (MOTS): the mask head's for the model's own detections,
        else the memory embedding's inside each tracked box."""
        if self.detector is not None:
            return box_masks(self.model, f, tracks.boxes_xyxy, self.config.mask_topk)
        anchor_idx = dets.anchor_idx[torch.from_numpy(rows[tracks.detection_indices]).to(self.device)]
        return head_masks(self.model, tracks, f, cur, dets.head_out, anchor_idx, dets.locations,
                          self.config.mask_thresh)


def _rows(table_rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if table_rows is None:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64)
    return table_rows[:, :4], table_rows[:, 4], np.zeros(len(table_rows), np.int64)


def check_detector_output(out, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A detector's ``(boxes_xyxy, scores, class_ids)`` as float32 (N, 4), float32 (N,), int64 (N,), with the
    boxes clipped to a frame of ``size`` (H, W): what MOT association receives. Raises ``UserError``."""
    try:
        boxes, scores, classes = out
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        scores = np.asarray(scores, np.float32).reshape(-1)
        classes = np.asarray(classes, np.int64).reshape(-1)
    except (TypeError, ValueError):
        raise UserError("a detector must return (boxes_xyxy (N,4), scores (N,), class_ids (N,))") from None
    if not (len(boxes) == len(scores) == len(classes)):
        raise UserError(f"detector returned {len(boxes)} boxes, {len(scores)} scores, {len(classes)} classes")
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
        raise UserError("detector returned a box or score that is not a finite number; filter NaN/inf detections "
                        "before returning them")
    return clip_boxes_xyxy(boxes, size), scores, classes
