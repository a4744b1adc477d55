"""Multi-object tracking (and MOTS): detect with a zero prior, associate, optionally segment."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch

from ..checks import at_least, check_fields, check_ids, one_of, positive, unit
from ..errors import UserError
from ..geometry import clip_boxes_xyxy
from ..models.build import mot_detector_of
from ..models.features import FrameFeatures
from ..models.postprocess import box_to_frame, masks_to_frame, postprocess
from ..models.unicorn import Unicorn
from ..types import FrameResult
from .association.base import Tracks
from .association.bytetrack import ByteTrack, ByteTrackConfig
from .association.embedding import EmbeddingMatcher, EmbeddingMatcherConfig
from .base import BaseTracker
from .regions import box_prior

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

    task = "mot"

    def __init__(self, model: Unicorn, config: MOTConfig | None = None, input_size: tuple[int, int] | None = None,
                 segment: bool = False, detector: Detector | str | Path | None = None) -> None:
        super().__init__(model, input_size)
        self.config = cfg = config or MOTConfig()
        self.segment = segment
        kind = "own" if detector is not None else resolve_detector(cfg.detector, model, segment)
        if kind == "nanodet-g" and cfg.bytetrack == ByteTrackConfig.mot17():  # untouched defaults
            self.config = cfg = replace(cfg, bytetrack=ByteTrackConfig.nanodet())
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
                head_out = self.model.detect_objects(cur)
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
                cur = self.model.with_tokens(cur)  # read again by the next frame
                ref = self._prev if self._prev is not None else cur
                e_cur = self.model.embed_current(ref, cur)
                sel_t = torch.from_numpy(sel).to(self.device)
                centres = (boxes_in[sel_t, :2] + boxes_in[sel_t, 2:4]) / 2
                embeds = self.model.id_features(e_cur, centres).float().cpu().numpy()
                tracks = self._assoc.update(boxes[sel], scores[sel], embeds, classes[sel])
                self._prev = cur.for_reference()  # keep only what the next frame needs
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
    return clip_boxes_xyxy(boxes, size), scores, classes
