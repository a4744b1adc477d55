"""The tracker settings: one frozen dataclass per task, every field checked for type and range.

Which values a tracker runs with (the defaults, the model variant's, the video's, yours) is decided in
:mod:`unicorn.trackers.settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..checks import FLAG, at_least, check_fields, check_ids, checked, one_of, positive, unit
from ..errors import UserError
from .association.bytetrack import ByteTrackConfig
from .association.embedding import EmbeddingMatcherConfig

SOT_SETTINGS = {"conf_thresh": unit(example=0.001), "nms_thresh": unit(example=0.65), "upstream_fp16": FLAG,
                "motion_sigma": at_least(0), "scale_penalty": at_least(0), "min_score": unit(),
                "max_target_size": at_least(0), "method": one_of("head", "propagation"),
                "features": one_of("trained", "imagenet"), "topk": at_least(1, int), "memory_frames": at_least(0, int),
                "memory_radius": at_least(0), "memory_confidence": unit(), "lost_score": unit(),
                "search_size": at_least(64, int), "search_context": at_least(0),
                "snap": one_of("none", "nanodet-g"), "snap_iou": unit(), "snap_score": unit()}


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
        snap: with ``"propagation"``, SOT in a search region: ``"nanodet-g"`` gives a target of a COCO class
            the box of the bundled detector's detection of that class that best overlaps its propagated box
            (:mod:`unicorn.trackers.snap`); ``"none"``: the propagated box.
        snap_iou: with ``snap``: the least IoU between the detection and the prompt box (which names the
            class) or the propagated box (later frames).
        snap_score: with ``snap``: detections at or below this class score are ignored.

    ``snap`` was chosen on the same validation clips (SOT AUC): ``"nanodet-g"`` against ``"none"``: 73.5
    vs 62.8 (8 of the 11 clips gain, none loses). With the detector seeing 2.5x the target, ``snap_iou``
    0.1 / 0.2 / 0.3 / 0.5: 72.7 / 73.1 / 72.7 / 69.9, and at 0.3, ``snap_score`` 0.2 / 0.3 / 0.5: 72.9 /
    72.7 / 64.1; at ``snap_iou=0.2``, the detector seeing 1.5x / 2x / 2.5x the target: 73.1 / 73.5 / 73.1
    (2x at 256 instead of 320 pixels: 72.0).
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
    snap: str = "none"
    snap_iou: float = 0.2
    snap_score: float = 0.3

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


@dataclass(frozen=True)
class VOSConfig(SOTConfig):
    """VOS thresholds: the same as SOT's (upstream conf 0.001, NMS 0.65, optional fp16 prior; optional
    motion prior on the box whose mask is taken; with ``min_score`` > 0 an object whose best score is
    below it keeps its last mask)."""


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
            loaded from a file). MOTS needs masks: from the model's head, or, for a model with a memory
            embedding (``unicorn-lite``), from its embedding inside each detected box. NanoDet-g keeps boxes above
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
            reads its object / background label from (:func:`~unicorn.trackers.propagation.box_prior`).
        bytetrack: ByteTrack thresholds; None: those of the detector that runs (``ByteTrackConfig.mot17()``
            for the model's head and for your own detections, ``ByteTrackConfig.nanodet()`` for NanoDet-g;
            see :data:`unicorn.trackers.settings.DETECTOR_DEFAULTS`). A tracker's ``config`` has them set.
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
    bytetrack: ByteTrackConfig | None = None
    embedding: EmbeddingMatcherConfig = field(default_factory=EmbeddingMatcherConfig.mot17)

    def __post_init__(self) -> None:
        check_fields(self, MOT_SETTINGS)
        if self.classes is not None:
            object.__setattr__(self, "classes", check_ids("classes", self.classes))
        for name, kind in (("bytetrack", ByteTrackConfig), ("embedding", EmbeddingMatcherConfig)):
            if not isinstance(getattr(self, name), kind) and not (name == "bytetrack" and self.bytetrack is None):
                raise UserError(f"{name} must be a {kind.__name__}; got {getattr(self, name)!r}")
        if self.detector_size % 32:
            raise UserError(f"detector_size must be a positive multiple of 32 (e.g. 416 or 608); got "
                            f"{self.detector_size}")
