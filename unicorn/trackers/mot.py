"""Multi-object tracking (and MOTS): detect with a zero prior, associate, optionally segment."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path

import numpy as np
import torch

from ..checks import check_ids
from ..errors import UserError
from ..models.postprocess import box_to_frame, masks_to_frame, postprocess
from ..models.unicorn import FrameFeatures, Unicorn
from ..types import FrameResult
from .association.base import Tracks
from .association.bytetrack import ByteTrack
from .association.embedding import EmbeddingMatcher
from .base import BaseTracker
from .configs import MOTConfig
from .settings import complete_mot_config, tracker_config

# A detector callable: (frame_bgr, frame_index) -> (boxes_xyxy (N,4), scores (N,), class_ids (N,))
Detector = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


def remove_overlaps(masks: np.ndarray, track_ids: np.ndarray) -> np.ndarray:
    """Make masks disjoint: a pixel claimed by several tracks goes to the lowest track id.

    Args:
        masks: (N, H, W) bool.
        track_ids: (N,) ids.

    Returns:
        (N, H, W) bool, disjoint.
    """
    out = masks.copy()
    taken = np.zeros(masks.shape[1:], bool)
    for i in np.argsort(track_ids, kind="stable"):
        out[i] &= ~taken
        taken |= out[i]
    return out


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


class MOTTracker(BaseTracker):
    """Tracks every object of the chosen classes; with ``segment=True`` it is the MOTS tracker.

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

    task = "mot"

    def __init__(self, model: Unicorn, config: MOTConfig | None = None, input_size: tuple[int, int] | None = None,
                 segment: bool = False, detector: Detector | str | Path | None = None) -> None:
        super().__init__(model, input_size)
        task, own = ("mots" if segment else "mot"), detector is not None
        cfg = config if config is not None else tracker_config(model, task, detector_given=own)
        self.config = cfg = complete_mot_config(model, task, cfg, detector_given=own)
        self.segment = segment
        kind = "own" if own else cfg.detector
        if segment:
            self.task = "mots"
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

    def _box_masks(self, f, boxes_xyxy: np.ndarray) -> np.ndarray:
        return _box_masks_impl(self, f, boxes_xyxy)

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
        size = frame.shape[:2]
        cfg = self.config
        self.frame_index += 1
        # the network's features serve its own detections, embedding association and masks; nothing else
        needs_network = self.detector is None or cfg.association == "embedding" or self.segment
        with torch.inference_mode():
            f = self.preprocess(frame) if needs_network else None
            box_masks = self.segment and self.detector is not None  # MOTS masks from the embedding alone
            cur = self.features(f) if f is not None and not (box_masks and cfg.association == "bytetrack") else None
            head_out = idx = locations = boxes_in = None
            if self.detector is None:
                head_out = self.model.detect(cur, None, "mot")
                decoded, locations = self.model.decode(head_out)
                dets, idx = postprocess(decoded[0], self.model.num_classes, cfg.conf_thresh, cfg.nms_thresh)
                boxes_in = dets[:, :4]
                scores = (dets[:, 4] * dets[:, 5]).cpu().numpy()
                classes = dets[:, 6].long().cpu().numpy()
                boxes = box_to_frame(boxes_in, f.r, self.input_size).astype(np.float32).reshape(-1, 4)
            else:
                boxes, scores, classes = check_detector_output(self.detector(frame, self.frame_index), size)
                if f is not None:
                    boxes_in = torch.from_numpy(boxes * f.r).to(self.device)
            keep = np.ones(len(scores), bool)
            if cfg.classes is not None:
                keep &= np.isin(classes, cfg.classes)
            if cfg.association == "embedding":
                keep &= scores > cfg.min_score
            sel = np.flatnonzero(keep)
            if cfg.association == "embedding":
                ref = self._prev if self._prev is not None else cur
                e_cur = self.model.embed_current(ref, cur)
                sel_t = torch.from_numpy(sel).to(self.device)
                centres = (boxes_in[sel_t, :2] + boxes_in[sel_t, 2:4]) / 2
                embeds = self.model.id_features(e_cur, centres).float().cpu().numpy()
                tracks = self._assoc.update(boxes[sel], scores[sel], embeds, classes[sel])
                self.model.tokens(cur)
                self._prev = FrameFeatures([], cur.c4, cur.tokens)  # keep only what the next frame needs
            else:
                tracks = self._assoc.update(boxes[sel], scores[sel], classes[sel])
            masks = None
            if self.segment and self.detector is not None:  # masks from the memory embedding, inside each box
                masks = self._box_masks(f, tracks.boxes_xyxy)
                keep = masks.any(axis=(1, 2))
                masks = masks[keep]
                tracks = Tracks(*(getattr(tracks, f.name)[keep] for f in fields(Tracks)))
            elif self.segment:
                masks = np.zeros((len(tracks), *f.size), bool)
                if len(tracks):
                    rows = torch.from_numpy(sel[tracks.detection_indices]).to(self.device)
                    mask_feats, up_weights = self.model.segment(cur)
                    probs = self.model.instance_masks(head_out, mask_feats, up_weights, idx[rows], locations)
                    masks = masks_to_frame(probs, f.r, f.size).float().cpu().numpy() > cfg.mask_thresh
                    masks = remove_overlaps(masks, tracks.track_ids)
                    keep = masks.reshape(len(masks), -1).any(1)  # a track that lost every pixel is not reported
                    masks = masks[keep]
                    tracks = Tracks(*(getattr(tracks, f.name)[keep] for f in fields(Tracks)))
        return FrameResult(self.frame_index, size, tracks.track_ids, tracks.boxes_xyxy, tracks.scores,
                           tracks.class_ids, masks)


def _box_masks_impl(tracker: MOTTracker, f, boxes_xyxy: np.ndarray) -> np.ndarray:
    """(N, H, W) disjoint masks of the tracked boxes from the memory embedding (MOTS with a box detector)."""
    from .propagation import box_prior

    h0, w0 = f.size
    if len(boxes_xyxy) == 0:
        return np.zeros((0, h0, w0), bool)
    model = tracker.model
    c3, c4, _ = model.backbone(f.image)
    emb = model.embedding(c3, c4)[0]
    probs = box_prior(emb, np.asarray(boxes_xyxy, np.float64) * f.r, tracker.config.mask_topk)
    h, w = probs.shape[-2:]
    up = torch.nn.functional.interpolate(probs[None], size=(h * 8, w * 8), mode="bilinear", align_corners=False)
    up = up[..., :round(h0 * f.r), :round(w0 * f.r)]
    up = torch.nn.functional.interpolate(up, size=(h0, w0), mode="bilinear", align_corners=False)[0]
    masks = up.cpu().numpy() > 0.5
    order = np.argsort(-np.asarray([(b[2] - b[0]) * (b[3] - b[1]) for b in boxes_xyxy]))
    return remove_overlaps(masks, np.argsort(order))  # nearer (larger) boxes win shared pixels


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
    h, w = size
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h)
    return boxes, scores, classes
