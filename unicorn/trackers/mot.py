"""Multi-object tracking (and MOTS): detect with a zero prior, associate, optionally segment."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..checks import at_least, check_fields, check_ids, one_of, positive, unit
from ..errors import UserError
from ..geometry import clip_boxes_xyxy
from ..models.build import mot_detector_of
from ..models.features import FrameFeatures
from ..models.heads.detection import HeadOutput
from ..models.postprocess import box_to_frame, postprocess
from ..models.unicorn import Unicorn
from ..types import FrameResult
from .association.base import Tracks
from .association.bytetrack import ByteTrack, ByteTrackConfig
from .association.embedding import EmbeddingMatcher, EmbeddingMatcherConfig
from .base import BaseTracker, Frame
from .mots import box_masks, drop_empty, head_masks

# A detector callable: (frame_bgr, frame_index) -> (boxes_xyxy (N,4), scores (N,), class_ids (N,))
Detector = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]
# Names of the built-in MOT detectors (MOTConfig.detector).
DETECTORS = ("auto", "model", "nanodet-g")
MOT_SETTINGS = {"association": one_of("bytetrack", "embedding"), "detector": one_of(*DETECTORS),
                "conf_thresh": unit(example=0.01), "nms_thresh": unit(example=0.7), "min_score": unit(example=0.1),
                "detector_size": positive(int, example=608), "mask_thresh": unit(example=0.3),
                "mask_topk": at_least(1, int)}


@dataclass(frozen=True)
class MOTConfig:
    """Detection and association settings (upstream defaults).

    Attributes:
        association: ``"bytetrack"`` (IoU + Kalman, MOT17) or ``"embedding"`` (bi-softmax on ID features).
        detector: where MOT detections come from when no detector object or file is given:
            ``"model"`` (the network's own MOT head), ``"nanodet-g"`` (the bundled NanoDet-g COCO
            detector; ``classes`` are then COCO ids, 0 = person) or ``"auto"`` (the model variant's
            choice: NanoDet-g for ``unicorn-lite``, the model for every other variant and for models
            loaded from a file). MOTS always uses the model. NanoDet-g keeps boxes above
            max(``conf_thresh``, the association's lowest useful score: ``bytetrack.low_thresh`` or
            ``min_score``), i.e. 0.1 by default, and uses ``nms_thresh``.
        detector_size: shorter side of NanoDet-g's input (multiple of 32; the longer side follows the
            frame up to 16:9). 608, above the 416 it was trained at: on 1080p street video it finds
            more of the small, distant people (MOT17-mini: HOTA 57.7 against 53.9 at 416, IDF1 62.1
            against 58.8) and still runs above 8 frames/s on 2 CPU threads; 416 is about twice as fast.
        conf_thresh: detection score threshold before NMS (0.01).
        nms_thresh: NMS IoU (0.7 for MOT17/MOTS; 0.65 in the BDD100K pipeline).
        min_score: detections at or below this score are dropped before embedding matching (0.1).
        classes: class ids to track (None = all classes of the model).
        mask_thresh: probability above which a pixel belongs to a mask (MOTS; 0.3).
        mask_topk: MOTS with a memory-embedding model and a box detector: neighbours each pixel of a box
            reads its object / background label from (:func:`~unicorn.trackers.regions.box_prior`).
        bytetrack: ByteTrack thresholds (with the NanoDet-g detector, untouched defaults become
            ``ByteTrackConfig.nanodet()``).
        embedding: embedding-matcher thresholds.
    """

    association: str = "bytetrack"
    detector: str = "auto"
    conf_thresh: float = 0.01
    nms_thresh: float = 0.7
    min_score: float = 0.1
    classes: tuple[int, ...] | None = None
    detector_size: int = 608
    mask_thresh: float = 0.3
    mask_topk: int = 10
    bytetrack: ByteTrackConfig = field(default_factory=ByteTrackConfig.mot17)
    embedding: EmbeddingMatcherConfig = field(default_factory=EmbeddingMatcherConfig.mot17)

    def __post_init__(self) -> None:
        check_fields(self, MOT_SETTINGS)
        if self.classes is not None:
            object.__setattr__(self, "classes", check_ids("classes", self.classes))
        for name, kind in (("bytetrack", ByteTrackConfig), ("embedding", EmbeddingMatcherConfig)):
            if not isinstance(getattr(self, name), kind):
                raise UserError(f"{name} must be a {kind.__name__}; got {getattr(self, name)!r}")
        if self.detector_size % 32:
            raise UserError(f"detector_size must be a positive multiple of 32 (e.g. 416 or 608); got "
                            f"{self.detector_size}")


def resolve_detector(name: str, model: Unicorn, segment: bool = False) -> str:
    """``"model"`` or ``"nanodet-g"`` for a :attr:`MOTConfig.detector` value (``"auto"``: the variant's choice).

    MOTS needs masks: ``"auto"`` means ``"model"`` there (its mask head), except for a model with a memory
    embedding (``unicorn-lite``), whose masks come from its embedding inside each detected box
    (:func:`~unicorn.trackers.regions.box_prior`), so any detector serves.
    """
    if name == "auto":
        return mot_detector_of(model) if not segment or model.has_memory_embedding else "model"
    return name


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
        config: detection and association settings.
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
        self.config = cfg = config or MOTConfig()
        self.segment = segment
        kind = "own" if detector is not None else resolve_detector(cfg.detector, model, segment)
        if kind == "nanodet-g" and cfg.bytetrack == ByteTrackConfig.mot17():  # untouched defaults
            self.config = cfg = replace(cfg, bytetrack=ByteTrackConfig.nanodet())
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
