"""Every number of a model's model card, next to baselines measured on the same real data.

    python tools/model_card.py [--model unicorn-lite] [--data ../shared/data] [--out docs/model_card]
                               [--threads 2] [--device cpu] [--skip-baselines] [--skip-speed] [--quick]
                               [--frame-grids]

Data (read in place, never copied): ``<data>/davis2016_val`` (DAVIS-2016 val masks; JPEG frames of
blackswan and car-shadow) and ``<data>/mot17_mini/train/MOT17-XX-FRCNN`` (7 MOT17 sequences, the
first 4-8 frames of each; their length is the number of images present).

What it measures, with the project's own metric code (``unicorn/evaluation``):

* Speed: median seconds per tracker step (frames/s) at the model's input size over >= 20 real frames
  after a warm-up, ``--threads`` CPU threads, inference mode; SOT with one target and VOS with one
  object on DAVIS blackswan, MOT (detection included) on MOT17-04 looped. Each task runs in its own
  child process, whose peak resident memory (``VmHWM``) is reported.
* SOT (pytracking convention, percent): DAVIS blackswan and car-shadow with the bounding box of the
  mask as ground truth, and MOT17-mini pedestrians (rule in ``MOT17_SOT_RULE``), one pass per
  sequence with every target tracked at once.
* VOS: DAVIS-2016 J, F and J&F from the first-frame mask (first and last frames not scored).
* MOT: HOTA, DetA, AssA, MOTA, IDF1 on MOT17-mini (TrackEval metrics, MOT17 preprocessing), the
  person class only.
* Baselines: OpenCV CSRT and KCF (SOT; opencv-contrib installed once into a cache folder), the
  first-frame box or mask held constant, optical-flow mask propagation (VOS), and for MOT the peer
  baseline "NanoDet-g + BoT-SORT": the very detections the model's tracker received (recorded while it
  ran) fed to BoT-SORT of roboflow's ``trackers`` package (``pip install trackers==2.6.1``, in the
  ``eval`` extra) with its default settings; left out with a note when it is not installed.

Writes ``results.json``, ``results.md`` and plots into ``--out`` and prints the table.
``--frame-grids`` also writes annotated frame grids; they show DAVIS / MOT17 images (research-only
licences), so keep them out of the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from anywhere without an install
    sys.path.insert(0, str(REPO))
if str(Path(__file__).resolve().parent) not in sys.path:  # tools/benchmark.py's helpers
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from unicorn.data.datasets.base import TrackAnnotations  # noqa: E402
from unicorn.data.datasets.davis import DAVIS, read_label_png  # noqa: E402
from unicorn.data.datasets.mot_challenge import MOTChallenge  # noqa: E402
from unicorn.errors import UserError  # noqa: E402
from unicorn.evaluation import baselines, sot, vos  # noqa: E402
from unicorn.evaluation.mot import evaluate_mot  # noqa: E402
from unicorn.evaluation.report import json_ready  # noqa: E402
from unicorn.geometry import mask_boxes_xyxy  # noqa: E402
from unicorn.inputs import check_boxes_xywh  # noqa: E402
from unicorn.types import FrameResult  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("UNICORN_TEST_DATA") or REPO.parent / "shared" / "data")
DAVIS_SEQUENCES = ("blackswan", "car-shadow")
QUICK_FRAMES = 4
QUICK_MOT_SEQUENCES = ("MOT17-05-FRCNN",)
SPEED_STEPS, SPEED_WARMUP = 20, 3
QUICK_SPEED_STEPS, QUICK_SPEED_WARMUP = 3, 1
MOT_SPEED_SEQUENCE = "MOT17-04-FRCNN"
PERSON_NAMES = ("person", "pedestrian")
MIN_VISIBILITY, MIN_AREA = 0.5, 32 * 32
MOT17_SOT_RULE = (f"every gt track of class 1 (pedestrian) with flag 1 that is in the sequence's first frame with "
                  f"visibility >= {MIN_VISIBILITY} and box area (width x height) >= 32 x 32 px; initialised from that "
                  "first box (clipped to the image), tracked through the frames present; gt boxes clipped to the "
                  "image, frames where the track is not annotated count as failures")
DAVIS_SOT_RULE = ("ground-truth box = bounding box of the DAVIS mask in each frame (an empty mask = absent target, "
                  "a failure); initialised from frame 0's box")
SOT_NOTE = ("pytracking convention (percent): AUC over 21 IoU thresholds, Precision at 20 px, "
            "frame 0 counts and is set to the ground truth; dataset AUC = mean of per-target AUC")
VOS_NOTE = ("DAVIS-2016 protocol of the project's vos metrics (percent): J = region IoU, F = boundary F-measure, "
            "first and last frames not scored, means over sequences")
MOT_NOTE = ("TrackEval metrics with MOT17 preprocessing (percent), all sequences combined; "
            "only the model's person class is tracked")

# Method keys -> display names (the model's own name is used for key "model").
METHODS = {"csrt": "OpenCV CSRT", "kcf": "OpenCV KCF", "held_box": "first-frame box held",
           "held_mask": "first-frame mask held", "flow": "optical flow (Farneback)",
           "imagenet": "training-free (ImageNet features)"}
# The training-free baseline: label propagation on the frozen backbone's own features (no training).
TRAINING_FREE = {"method": "propagation", "features": "imagenet"}


# --------------------------------------------------------------------------------------------------
# data


@dataclass
class DavisClip:
    """One DAVIS sequence: frame paths, (H, W) bool masks (the same number) and the image size."""

    name: str
    frames: list[Path]
    masks: list[np.ndarray]
    size: tuple[int, int]


@dataclass
class MotClip:
    """One MOT17-mini sequence: frame paths, gt rows of those frames, image size."""

    name: str
    frames: list[Path]
    gt: TrackAnnotations
    size: tuple[int, int]


@dataclass
class SotSequence:
    """Single-object targets of one sequence, all tracked in one pass.

    Attributes:
        init: (K, 4) first-frame boxes x, y, w, h (clipped to the image).
        gt: (K, T, 4) ground-truth boxes, NaN rows where the target is absent.
        target_ids: K ids (the gt track ids; 1 for DAVIS).
    """

    name: str
    frames: list[Path]
    init: np.ndarray
    gt: np.ndarray
    target_ids: list[int] = field(default_factory=list)


def read_frame(path: Path) -> np.ndarray:
    frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if frame is None:
        raise UserError(f"cannot read image {path}")
    return frame


def check_data(data: Path) -> Path:
    data = Path(data)
    if not data.is_dir():
        raise UserError(f"data folder '{data}' not found; pass --data DIR (the folder with davis2016_val/ and "
                        "mot17_mini/, see its README.md) or set UNICORN_TEST_DATA")
    return data


def load_davis(data: Path, names: Sequence[str] = DAVIS_SEQUENCES, max_frames: int | None = None) -> list[DavisClip]:
    """DAVIS-2016 val sequences with frames and masks (``max_frames``: keep only the first frames)."""
    root = check_data(data) / "davis2016_val"
    if not root.is_dir():
        raise UserError(f"DAVIS-2016 data not found at '{root}' (expected Annotations/480p/<seq> and "
                        "JPEGImages/480p/<seq>)")
    reader = DAVIS(root, 2016)
    clips = []
    for name in names:
        if not (reader.annotation_root / name).is_dir():
            raise UserError(f"DAVIS sequence '{name}': masks not found at '{reader.annotation_root / name}'")
        seq = reader.load(name)
        if not seq.frame_paths:
            raise UserError(f"DAVIS sequence '{name}': JPEG frames not found at "
                            f"'{root / 'JPEGImages' / '480p' / name}'")
        n = min(len(seq.frame_paths), len(seq.mask_paths), max_frames or 10**9)
        if n < 3:
            raise UserError(f"DAVIS sequence '{name}' needs at least 3 frames with masks (first and last are "
                            f"not scored); found {n}")
        masks = [read_label_png(p) > 0 for p in seq.mask_paths[:n]]
        if not masks[0].any():
            raise UserError(f"DAVIS sequence '{name}': the first-frame mask {seq.mask_paths[0]} is empty")
        clips.append(DavisClip(name, list(seq.frame_paths[:n]), masks, masks[0].shape))
    return clips


def load_mot17(data: Path, names: Sequence[str] | None = None, max_frames: int | None = None) -> list[MotClip]:
    """MOT17-mini sequences (all 7 by default); the length is the number of images present."""
    root = check_data(data) / "mot17_mini"
    if not root.is_dir():
        raise UserError(f"MOT17-mini data not found at '{root}' (expected train/MOT17-XX-FRCNN/{{img1,gt/gt.txt}})")
    reader = MOTChallenge(root, "MOT17", detector="FRCNN")
    clips = []
    for name in names or reader.sequence_names():
        folder = reader.split_root / name
        if not (folder / "gt" / "gt.txt").is_file():
            raise UserError(f"MOT17 sequence '{name}': ground truth not found at '{folder / 'gt' / 'gt.txt'}'")
        seq = reader.load(name)
        if not seq.frame_paths:
            raise UserError(f"MOT17 sequence '{name}': no images in '{folder / 'img1'}'")
        n = min(len(seq.frame_paths), max_frames or 10**9)
        size = seq.image_size or read_frame(seq.frame_paths[0]).shape[:2]
        clips.append(MotClip(name, list(seq.frame_paths[:n]), seq.tracks.select(seq.tracks.frames <= n), size))
    return clips


def mask_box_xywh(mask: np.ndarray) -> np.ndarray:
    """(4,) x, y, w, h of the mask's bounding box (pixel counts), NaN when the mask is empty."""
    if not mask.any():
        return np.full(4, np.nan)
    x1, y1, x2, y2 = mask_boxes_xyxy(mask[None])[0]
    return np.array([x1, y1, x2 - x1, y2 - y1], np.float64)


def davis_sot_sequences(clips: Sequence[DavisClip]) -> list[SotSequence]:
    """One SOT target per DAVIS sequence (see ``DAVIS_SOT_RULE``)."""
    out = []
    for clip in clips:
        gt = np.stack([mask_box_xywh(m) for m in clip.masks])[None]
        out.append(SotSequence(clip.name, clip.frames, check_boxes_xywh(gt[:, 0], clip.size), gt, [1]))
    return out


def clip_xywh(boxes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(N, 4) x, y, w, h boxes cut to the part inside an (H, W) image (zero width / height when outside)."""
    b = np.asarray(boxes, np.float64).reshape(-1, 4)
    h, w = size
    x1, y1 = b[:, 0].clip(0, w), b[:, 1].clip(0, h)
    x2, y2 = (b[:, 0] + b[:, 2]).clip(0, w), (b[:, 1] + b[:, 3]).clip(0, h)
    return np.stack([x1, y1, np.maximum(x2 - x1, 0), np.maximum(y2 - y1, 0)], 1)


def mot17_sot_sequences(clips: Sequence[MotClip]) -> list[SotSequence]:
    """The pedestrian targets of each MOT17-mini sequence (see ``MOT17_SOT_RULE``)."""
    out = []
    for clip in clips:
        g, n = clip.gt, len(clip.frames)
        first = (g.frames == 1) & (g.classes == 1) & (g.flags == 1) & (g.visibility >= MIN_VISIBILITY)
        first &= g.boxes_xywh[:, 2] * g.boxes_xywh[:, 3] >= MIN_AREA
        ids = sorted(int(i) for i in g.ids[first])
        if not ids:
            continue
        gt = np.full((len(ids), n, 4), np.nan)
        for k, tid in enumerate(ids):
            rows = np.flatnonzero((g.ids == tid) & (g.classes == 1))
            gt[k, g.frames[rows] - 1] = clip_xywh(g.boxes_xywh[rows], clip.size)
        out.append(SotSequence(clip.name, clip.frames, check_boxes_xywh(gt[:, 0], clip.size), gt, ids))
    return out


# --------------------------------------------------------------------------------------------------
# methods


def _bar(total: int, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", leave=False, dynamic_ncols=True)


def _snapshot_frames(num_frames: int, count: int = 4) -> set[int]:
    return {int(round(v)) for v in np.linspace(0, num_frames - 1, min(count, num_frames))}


def _track_clips(tracker, clips: Sequence, desc: str, collect, *, prompts=None, snapshots: dict | None = None,
                 clip_done=None) -> dict[str, list]:
    """Run a ``unicorn.Tracker`` over every frame of every clip (``.name``, ``.frames``) under inference mode,
    with a progress bar: ``init(frame, **prompts(clip))`` on frame 0, ``step(frame)`` on the others.

    Returns ``{clip.name: [collect(clip, t, result) per frame]}``. ``clip_done(clip)`` runs after each clip's
    last frame; ``snapshots`` (when given) receives ``{t: (path, result)}`` for a few frames of the first clip.
    """
    import torch

    out = {}
    with _bar(sum(len(c.frames) for c in clips), desc) as bar, torch.inference_mode():
        for ci, clip in enumerate(clips):
            per_frame = []
            keep = _snapshot_frames(len(clip.frames)) if snapshots is not None and ci == 0 else set()
            for t, path in enumerate(clip.frames):
                frame = read_frame(path)
                res = tracker.init(frame, **(prompts(clip) if prompts else {})) if t == 0 else tracker.step(frame)
                per_frame.append(collect(clip, t, res))
                if t in keep:
                    snapshots[t] = (path, res)
                bar.update()
            out[clip.name] = per_frame
            if clip_done is not None:
                clip_done(clip)
    return out


def sot_model(model, seqs: Sequence[SotSequence], input_size=None, snapshots: dict | None = None,
              desc: str = "SOT", **settings) -> dict[str, np.ndarray]:
    """Boxes (K, T, 4) per sequence from the model's multi-target SOT tracker (one pass per sequence)."""
    import unicorn

    def ids(seq: SotSequence) -> list[int]:
        return list(range(1, len(seq.init) + 1))

    def boxes(seq: SotSequence, t: int, res: FrameResult) -> np.ndarray:
        return res.boxes_xywh[np.searchsorted(res.track_ids, ids(seq))]

    tracker = unicorn.Tracker(model, "sot", input_size=input_size, **settings)
    per_frame = _track_clips(tracker, seqs, desc, boxes, prompts=lambda seq: {"boxes": seq.init, "ids": ids(seq)},
                             snapshots=snapshots)
    return {name: np.stack(b, axis=1).astype(np.float64) for name, b in per_frame.items()}


def sot_held(seqs: Sequence[SotSequence]) -> dict[str, np.ndarray]:
    """The first-frame boxes held on every frame."""
    return {s.name: np.stack([baselines.held_boxes(b, len(s.frames)) for b in s.init]) for s in seqs}


def sot_opencv(kind: str, seqs: Sequence[SotSequence], threads: int, desc: str) -> dict[str, np.ndarray]:
    """OpenCV CSRT / KCF boxes (one OpenCV tracker per target) from the isolated contrib install."""
    jobs = [{"name": s.name, "frames": s.frames, "boxes": s.init} for s in seqs]
    with _bar(sum(len(s.frames) for s in seqs), desc) as bar:
        return baselines.run_opencv_trackers(kind, jobs, threads, progress=bar.update)


def vos_model(model, clips: Sequence[DavisClip], input_size=None, snapshots: dict | None = None,
              desc: str = "VOS", **settings) -> dict[str, list[np.ndarray]]:
    """Masks per frame from the model's VOS tracker, initialised with the first-frame mask."""
    import unicorn

    def mask(clip: DavisClip, t: int, res: FrameResult) -> np.ndarray:
        return res.masks[0] if res.masks is not None and len(res) else np.zeros(clip.size, bool)

    tracker = unicorn.Tracker(model, "vos", input_size=input_size, **settings)
    return _track_clips(tracker, clips, desc, mask, prompts=lambda clip: {"masks": clip.masks[0].astype(np.uint8)},
                        snapshots=snapshots)


def vos_held(clips: Sequence[DavisClip]) -> dict[str, list[np.ndarray]]:
    """The first-frame mask held on every frame."""
    return {c.name: baselines.held_masks(c.masks[0], len(c.frames)) for c in clips}


def vos_flow(clips: Sequence[DavisClip], desc: str = "VOS flow") -> dict[str, list[np.ndarray]]:
    """The first-frame mask propagated by backward Farneback warping (threshold 0.5)."""
    out = {}
    with _bar(sum(len(c.frames) for c in clips), desc) as bar:
        for clip in clips:
            prop = baselines.FlowMaskPropagation()
            masks = []
            for t, path in enumerate(clip.frames):
                frame = read_frame(path)
                masks.append(prop.init(frame, clip.masks[0]) if t == 0 else prop.step(frame))
                bar.update()
            out[clip.name] = masks
    return out


def default_mot_detector(model) -> str:
    """What a default MOT tracker detects with: "model" (its own head) or a built-in detector's name."""
    try:
        from unicorn.trackers.mot import MOTConfig, resolve_detector
    except ImportError:  # a tracker without built-in detectors
        return "model"
    return resolve_detector(MOTConfig().detector, model)


def person_classes(model, detector: str = "model") -> tuple[int, ...] | None:
    """The person class id, as ``unicorn track --classes person`` maps it (name -> index in the model's
    class names); COCO id 0 when a built-in COCO detector (NanoDet-g) detects instead of the model."""
    if detector not in ("model", "own"):
        return (0,)
    names = tuple(model.config.class_names)
    for name in PERSON_NAMES:
        if name in names:
            return (names.index(name),)
    return (0,) if model.config.num_classes == 1 else None


def describe_detector(tracker, model_label: str) -> str:
    """Which detector a MOT tracker uses: a built-in detector, user detections, or the model's own head."""
    kind = getattr(tracker, "detector_name", None)
    if kind is None:  # trackers without built-in detectors: a callable / file, or the model
        kind = "model" if getattr(tracker, "detector", None) is None else "own"
    text = {"model": f"{model_label}'s own MOT detection head", "own": "user-supplied detections",
            "nanodet-g": "NanoDet-g (bundled COCO detector)"}.get(kind, str(kind))
    if kind == "nanodet-g" and hasattr(tracker.detector, "network_size"):
        h, w = tracker.detector.network_size((1080, 1920))
        text += f", input {h}x{w} for 1920x1080 video"
    configured = getattr(tracker.config, "detector", None)
    return text + (f" [MOTConfig.detector={configured!r}]" if configured is not None else "")


@dataclass
class RecordedDetections:
    """What a MOT tracker's association received, per sequence and frame, and the detector's settings.

    Attributes:
        per_sequence: ``{sequence: [(boxes_xyxy (N, 4) float32, scores (N,), class_ids (N,)) per frame]}``.
        score_floor: the detector keeps scores above this (NanoDet-g: ``score_thresh``), None if unknown.
        nms_thresh: the detector's NMS IoU, None if unknown.
        max_detections: the detector's cap on boxes per frame (after NMS), None if unknown.
        detector: ``MOTTracker.detector_name`` ("nanodet-g", "own").
    """

    per_sequence: dict[str, list] = field(default_factory=dict)
    score_floor: float | None = None
    nms_thresh: float | None = None
    max_detections: int | None = None
    detector: str = ""


def mot_model(model, clips: Sequence[MotClip], input_size=None, classes=None, model_label: str = "model",
              snapshots: dict | None = None, desc: str = "MOT",
              detections: RecordedDetections | None = None) -> tuple[dict[str, TrackAnnotations], str]:
    """MOTChallenge-style rows per sequence from the model's default MOT tracker, and its detector.

    ``detections`` receives, per sequence, the detections the tracker's association was given on each
    frame (see ``record_detections``); it stays empty when the tracker has no separate detector (it
    detects with the model's own head).
    """
    import unicorn

    def rows(clip: MotClip, t: int, res: FrameResult) -> list[tuple]:
        return [(t + 1, int(i), *map(float, b), float(s)) for i, b, s in zip(res.track_ids, res.boxes_xywh, res.scores)]

    def keep_detections(clip: MotClip) -> None:
        if detections is not None and sink:
            detections.per_sequence[clip.name] = list(sink)
        sink.clear()

    tracker = unicorn.Tracker(model, "mot", input_size=input_size, classes=classes)
    detector = describe_detector(tracker, model_label)
    sink: list = []
    if detections is not None and getattr(tracker, "detector", None) is not None:
        record_detections(tracker, sink, detections)
    per_clip = _track_clips(tracker, clips, desc, rows, snapshots=snapshots, clip_done=keep_detections)
    out = {}
    for name, per_frame in per_clip.items():
        arr = np.asarray([r for frame_rows in per_frame for r in frame_rows], np.float64).reshape(-1, 7)
        out[name] = TrackAnnotations(arr[:, 0], arr[:, 1], arr[:, 2:6], confidences=arr[:, 6],
                                     source=f"{model_label} on {name}")
    return out, detector


def record_detections(tracker, sink: list, meta: RecordedDetections | None = None) -> None:
    """Make a MOT tracker with a separate detector (NanoDet-g) append to ``sink``, on every frame, what its
    association receives: ``(boxes_xyxy (N, 4) float32 clipped to the frame, scores (N,), class_ids (N,))``
    of the tracked classes (``MOTTracker.step``'s clipping and class filter), all scores above the
    detector's own floor (NanoDet-g: ``score_thresh``), which goes into ``meta`` with its NMS IoU."""
    detect, classes = tracker.detector, tracker.config.classes
    if meta is not None:
        floor, nms = getattr(detect, "score_thresh", None), getattr(detect, "nms_thresh", None)
        meta.score_floor = None if floor is None else float(floor)
        meta.nms_thresh = None if nms is None else float(nms)
        cap = getattr(detect, "max_detections", None)
        meta.max_detections = None if cap is None else int(cap)
        meta.detector = str(getattr(tracker, "detector_name", ""))

    from unicorn.trackers.mot import check_detector_output

    def recording(frame: np.ndarray, index: int):
        out = detect(frame, index)
        boxes, scores, ids = check_detector_output(out, frame.shape[:2])
        keep = np.isin(ids, classes) if classes is not None else np.ones(len(scores), bool)
        sink.append((boxes[keep], scores[keep], ids[keep]))
        return out

    tracker.detector = recording


BOTSORT_PIN = "trackers==2.6.1"


def botsort_version() -> str | None:
    """The installed roboflow ``trackers`` version (BoT-SORT baseline), or None when it cannot be imported."""
    try:
        import trackers
        from trackers import BoTSORTTracker  # noqa: F401
    except Exception:  # noqa: BLE001 - a missing or broken install only drops the baseline row
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trackers")
    except PackageNotFoundError:
        return getattr(trackers, "__version__", "unknown")


def botsort_label(version: str | None) -> str:
    return f"NanoDet-g + BoT-SORT (trackers {version})"


def botsort_tuned() -> dict:
    """BoT-SORT thresholds set to those of ``ByteTrackConfig.nanodet()`` (first pass above ``track_thresh``,
    new tracks from ``track_thresh + new_track_margin``), for a second row next to the library defaults."""
    from unicorn.trackers.association.bytetrack import ByteTrackConfig

    ours = ByteTrackConfig.nanodet()
    return {"high_conf_det_threshold": ours.track_thresh,
            "track_activation_threshold": round(ours.track_thresh + ours.new_track_margin, 6)}


def mot_botsort(clips: Sequence[MotClip], detections: dict[str, list] | RecordedDetections,
                desc: str = "MOT BoT-SORT", **settings) -> tuple[dict[str, TrackAnnotations], dict]:
    """Peer baseline: the given per-frame detections fed to roboflow ``trackers``' BoT-SORT.

    Args:
        clips: the sequences (frames are read again: BoT-SORT's camera motion compensation needs them).
        detections: ``{sequence: [(boxes_xyxy, scores, class_ids) per frame]}``, or ``mot_model``'s record.
        settings: ``BoTSORTTracker`` arguments to change (none: the library's defaults).

    Returns:
        MOTChallenge-style rows per sequence (only confirmed tracks, ``tracker_id >= 0``; id + 1 so ids
        start at 1; the box is the matched detection's box, which is what BoT-SORT outputs) and timing /
        settings info: tracker-only frames/s (``update`` incl. camera motion compensation, 1 OpenCV thread,
        frame decoding not timed).
    """
    import supervision as sv
    from trackers import BoTSORTTracker

    if isinstance(detections, RecordedDetections):
        detections = detections.per_sequence
    out, times = {}, []
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with _bar(sum(len(c.frames) for c in clips), desc) as bar:
            for clip in clips:
                per_frame = detections[clip.name]
                if len(per_frame) != len(clip.frames):
                    raise UserError(f"{clip.name}: {len(per_frame)} frames of detections for {len(clip.frames)} "
                                    "frames")
                tracker = BoTSORTTracker(**settings)  # defaults: CMC by sparse optical flow, downscale 2
                rows = []
                for t, (path, (boxes, scores, ids)) in enumerate(zip(clip.frames, per_frame)):
                    frame = read_frame(path)
                    dets = sv.Detections(xyxy=np.asarray(boxes, np.float32).reshape(-1, 4),
                                         confidence=np.asarray(scores, np.float32).reshape(-1),
                                         class_id=np.asarray(ids, np.int64).reshape(-1))
                    t0 = time.perf_counter()
                    res = tracker.update(dets, frame=frame)
                    times.append(time.perf_counter() - t0)
                    ok = np.asarray(res.tracker_id) >= 0
                    conf = res.confidence if res.confidence is not None else np.ones(len(res))
                    for (x1, y1, x2, y2), tid, s in zip(res.xyxy[ok], np.asarray(res.tracker_id)[ok], conf[ok]):
                        rows.append((t + 1, int(tid) + 1, float(x1), float(y1), float(x2 - x1), float(y2 - y1),
                                     float(s)))
                    bar.update()
                arr = np.asarray(rows, np.float64).reshape(-1, 7)
                out[clip.name] = TrackAnnotations(arr[:, 0], arr[:, 1], arr[:, 2:6], confidences=arr[:, 6],
                                                  source=f"BoT-SORT on {clip.name}")
    finally:
        cv2.setNumThreads(cv_threads)
    defaults = BoTSORTTracker(**settings)
    settings = {k: getattr(defaults, k) for k in ("high_conf_det_threshold", "track_activation_threshold",
                                                  "minimum_consecutive_frames", "minimum_iou_threshold_first_assoc",
                                                  "minimum_iou_threshold_second_assoc",
                                                  "minimum_iou_threshold_unconfirmed_assoc",
                                                  "maximum_frames_without_update", "instant_first_frame_activation",
                                                  "enable_cmc")}
    if defaults.cmc is not None:
        settings.update(cmc_method=str(defaults.cmc.cfg.method), cmc_downscale=int(defaults.cmc.cfg.downscale))
    total = float(sum(times))
    info = {"settings": settings, "frames_timed": len(times), "tracker_s": total,
            "tracker_fps": len(times) / total if total > 0 else None,
            "tracker_ms_per_frame": 1000.0 * total / len(times) if times else None, "opencv_threads": 1}
    return out, info


# --------------------------------------------------------------------------------------------------
# scores (the project's metric functions)


def score_sot(preds: dict[str, np.ndarray], seqs: Sequence[SotSequence]) -> dict:
    """pytracking AUC / precision per sequence and over all targets (percent)."""
    curves, per_seq = [], {}
    for seq in seqs:
        seq_curves = [sot.pytracking_curves(preds[seq.name][k], seq.gt[k]) for k in range(len(seq.init))]
        summary = sot.ope_summary(*(np.stack([c[i] for c in seq_curves]) for i in range(3)))
        per_seq[seq.name] = {"AUC": summary["AUC"], "Precision": summary["Precision"], "targets": len(seq_curves)}
        curves += seq_curves
    stacked = [np.stack([c[i] for c in curves]) for i in range(3)]
    summary = sot.ope_summary(*stacked)
    return {"AUC": summary["AUC"], "Precision": summary["Precision"], "OP50": summary["OP50"],
            "NormPrecision": summary["NormPrecision"], "targets": len(curves), "per_sequence": per_seq,
            "success_curve": stacked[0].mean(0).tolist()}


def score_vos(preds: dict[str, list[np.ndarray]], clips: Sequence[DavisClip]) -> dict:
    """DAVIS-2016 J, F and J&F per sequence and their means (percent; per-frame J and F of frames 1..T-2)."""
    per_seq, scores = {}, []
    for clip in clips:
        s = vos.davis2016_merged_sequence([m.astype(np.uint8) for m in clip.masks],
                                          [np.asarray(p, np.uint8) for p in preds[clip.name]])
        scores.append(s)
        per_seq[clip.name] = {"J": 100 * s["J_mean"], "F": 100 * s["F_mean"],
                              "J&F": 50 * (s["J_mean"] + s["F_mean"]),
                              "J_frames": (100 * s["J"]).tolist(), "F_frames": (100 * s["F"]).tolist()}
    summary = vos.davis_summary(scores)
    return {"J": 100 * summary["J_mean"], "F": 100 * summary["F_mean"], "J&F": 100 * summary["J&F_mean"],
            "J_recall": 100 * summary["J_recall"], "F_recall": 100 * summary["F_recall"], "per_sequence": per_seq}


MOT_KEYS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "MOTP")
MOT_COUNTS = ("IDSW", "FP", "FN", "TP")


def score_mot(preds: dict[str, TrackAnnotations], clips: Sequence[MotClip]) -> dict:
    """HOTA / CLEAR / Identity over all sequences with the project's TrackEval bridge (percent)."""
    result = evaluate_mot({c.name: (c.gt, preds[c.name], len(c.frames)) for c in clips}, "MOT17")

    def pick(d: dict) -> dict:
        return {**{k: 100 * d[k] for k in MOT_KEYS}, **{k: d[k] for k in MOT_COUNTS}}

    return {**pick(result.combined), "sequences": len(clips), "frames": sum(len(c.frames) for c in clips),
            "per_sequence": {name: pick(v) for name, v in result.per_sequence.items()}}


# --------------------------------------------------------------------------------------------------
# speed (one child process per task)


def speed_jobs(model: str, device: str, threads: int, data: Path, quick: bool, classes) -> dict[str, dict]:
    """The child-process jobs of the three speed measurements."""
    davis = load_davis(data, ("blackswan",))[0]
    mot_root = check_data(data) / "mot17_mini"
    names = [c.name for c in load_mot17(data)] if mot_root.is_dir() else []
    if not names:
        raise UserError(f"no MOT17-mini sequence found under '{mot_root}' for the MOT speed measurement")
    if MOT_SPEED_SEQUENCE in names:
        mot = load_mot17(data, (MOT_SPEED_SEQUENCE,))[0]
    else:
        mot = max(load_mot17(data), key=lambda c: len(c.frames))
    steps, warmup = (QUICK_SPEED_STEPS, QUICK_SPEED_WARMUP) if quick else (SPEED_STEPS, SPEED_WARMUP)
    mask_path = str(DAVIS(data / "davis2016_val", 2016).load("blackswan").mask_paths[0])
    base = {"model": model, "device": device, "threads": threads, "steps": steps, "warmup": warmup}
    frames = [str(p) for p in davis.frames]
    return {
        "sot": {**base, "task": "sot", "frames": frames, "boxes": [mask_box_xywh(davis.masks[0]).tolist()],
                "source": "DAVIS blackswan, 1 target"},
        "vos": {**base, "task": "vos", "frames": frames, "mask": mask_path, "source": "DAVIS blackswan, 1 object"},
        "mot": {**base, "task": "mot", "frames": [str(p) for p in mot.frames], "classes": classes,
                "source": f"{mot.name} ({len(mot.frames)} frames looped, {mot.size[1]}x{mot.size[0]})"},
    }


def speed_child(job: dict) -> dict:
    """Run inside the child: time ``steps`` tracker steps after ``warmup`` ones; peak memory at the end."""
    import torch
    from benchmark import _rss_mb

    import unicorn

    torch.set_num_threads(int(job["threads"]))
    cv2.setNumThreads(int(job["threads"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = unicorn.load(job["model"], job["device"])
    after_load = _rss_mb()
    task, paths = job["task"], job["frames"]
    settings = {"classes": tuple(job["classes"])} if task == "mot" and job.get("classes") else {}
    tracker = unicorn.Tracker(model, task, **settings)
    if task == "sot":
        prompts = {"boxes": job["boxes"]}
    elif task == "vos":
        prompts = {"masks": (read_label_png(job["mask"]) > 0).astype(np.uint8)}
    else:
        prompts = {}
    label = Path(str(job["model"])).stem if Path(str(job["model"])).suffix else str(job["model"])
    times = []
    with torch.inference_mode():
        tracker.init(read_frame(Path(paths[0])), **prompts)
        for k in range(job["warmup"] + job["steps"]):
            # SOT/VOS walk forward through the clip; MOT loops its short sequence (frame 0 included)
            index = (1 + k) % len(paths) if task == "mot" else 1 + k % (len(paths) - 1)
            frame = read_frame(Path(paths[index]))  # decoding is not timed
            t0 = time.perf_counter()
            tracker.step(frame)
            if k >= job["warmup"]:
                times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {"fps": 1.0 / median, "ms_per_frame": 1000.0 * median, "peak_mb": _rss_mb(), "after_load_mb": after_load,
            "steps": len(times),
            "warmup": job["warmup"], "input_size": list(tracker.input_size), "threads": torch.get_num_threads(),
            "source": job["source"], "detector": describe_detector(tracker, label) if task == "mot" else None}


def measure_speed(job: dict) -> dict:
    """Run one speed job in a fresh Python process (so VmHWM is that task's own peak)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(job["threads"]), MKL_NUM_THREADS=str(job["threads"]))
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--speed-child", json.dumps(job)],
                          capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"the {job['task']} speed measurement failed: {tail}")
    return json.loads(lines[-1])


# --------------------------------------------------------------------------------------------------
# the whole card


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    names = [ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")]
    return f"{names[0]} ({len(names)} logical CPUs)" if names else platform.processor() or platform.machine()


def _versions() -> dict:
    import torch

    out = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
           "opencv": cv2.__version__}
    try:
        out["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                           text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def model_label(model: str) -> str:
    path = Path(str(model))
    return path.stem if path.suffix else str(model)


def _log(text: str) -> None:
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


def run_card(model: str = "unicorn-lite", data: str | Path = DEFAULT_DATA, out: str | Path = REPO / "docs" /
             "model_card", threads: int = 2, device: str = "cpu", skip_baselines: bool = False,
             skip_speed: bool = False, quick: bool = False, install_opencv: bool = True,
             frame_grids: bool = False) -> dict:
    """Measure everything, write ``results.json``, ``results.md`` and the plots into ``out``; returns the results.

    Args:
        model: anything ``unicorn.load`` accepts.
        data: the shared data folder (``davis2016_val``, ``mot17_mini``).
        out: output folder (created; only this script's files are replaced).
        threads: torch / OpenCV threads, here and in the speed children.
        device: "cpu" (the card's setting) or "cuda".
        skip_baselines: only the model.
        skip_speed: no speed / memory children.
        quick: the first ``QUICK_FRAMES`` frames of DAVIS blackswan and MOT17-05 only, 3 timed steps (tests).
        install_opencv: pip-install opencv-contrib into the cache when missing; False leaves CSRT/KCF
            out with a note (tests never download).
        frame_grids: also write annotated frame grids (DAVIS / MOT17 images: keep them out of the repository).
    """
    import torch

    import unicorn

    started = time.perf_counter()
    data, out = check_data(Path(data)), Path(out)
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    label = model_label(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = unicorn.load(model, device)
    load_warnings = sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)})
    for text in load_warnings:
        _log(f"warning: {text}")
    max_frames = QUICK_FRAMES if quick else None
    davis = load_davis(data, DAVIS_SEQUENCES[:1] if quick else DAVIS_SEQUENCES, max_frames)
    mot = load_mot17(data, QUICK_MOT_SEQUENCES if quick else None, max_frames)
    classes = person_classes(net, default_mot_detector(net))
    input_size = list(unicorn.Tracker(net, "sot").input_size)
    results: dict = {
        "setup": {"model": str(model), "label": label, "input_size": input_size, "threads": threads,
                  "device": device, "cpu": cpu_model(), **_versions(), "quick": quick, "data": str(data),
                  "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  "load_average_1m": round(os.getloadavg()[0], 2), "load_warnings": load_warnings},
        "notes": {}, "speed": {}, "sot_davis": {}, "sot_mot17": {}, "vos_davis": {}, "mot17": {},
    }
    notes = results["notes"]
    snaps: dict[str, dict] = {"sot": {}, "vos": {}, "mot": {}} if frame_grids else {}

    # speed and memory
    if not skip_speed:
        load, cpus = os.getloadavg()[0], os.cpu_count() or 1
        if load > 0.5 * cpus:
            notes["busy"] = (f"the machine was busy when the speed was measured (load average {load:.1f} on {cpus} "
                             "CPUs): frames/s are lower than on an idle machine")
            _log(f"warning: {notes['busy']}")
        for task, job in speed_jobs(str(model), device, threads, data, quick, classes).items():
            _log(f"speed: {task} ({job['source']}) in a child process ...")
            results["speed"][task] = measure_speed(job)
        if results["speed"].get("mot", {}).get("detector"):
            _log(f"MOT speed includes detection with: {results['speed']['mot']['detector']}")

    # OpenCV contrib for CSRT / KCF
    contrib = None
    if not skip_baselines:
        contrib = baselines.ensure_opencv_contrib(install_opencv, log=_log)
        if contrib is None:
            notes["opencv"] = (f"OpenCV CSRT/KCF not run: opencv-contrib is not installed; run "
                               f"`{' '.join(baselines.contrib_install_command())}`")
            _log(notes["opencv"])
        else:
            results["setup"]["opencv_contrib"] = contrib["version"]

    # SOT
    sot_sets = {"sot_davis": (davis_sot_sequences(davis), DAVIS_SOT_RULE, "DAVIS-2016"),
                "sot_mot17": (mot17_sot_sequences(mot), MOT17_SOT_RULE, "MOT17-mini")}
    for key, (seqs, rule, title) in sot_sets.items():
        section = results[key]
        section.update({"protocol": rule, "convention": SOT_NOTE, "sequences": [s.name for s in seqs],
                        "targets": int(sum(len(s.init) for s in seqs)), "methods": {}})
        if not seqs:
            section["note"] = "no target satisfies the rule"
            continue
        free = [METHODS["imagenet"]] if net.has_memory_embedding else []
        names = [label] + free + ([] if skip_baselines else
                                  [METHODS[k] for k in ("csrt", "kcf") if contrib is not None] + [METHODS["held_box"]])
        for name in names:
            desc = f"SOT {title} {name}"
            if name == label:
                preds = sot_model(net, seqs, snapshots=snaps.get("sot") if key == "sot_davis" else None, desc=desc)
            elif name == METHODS["imagenet"]:
                preds = sot_model(net, seqs, desc=desc, **TRAINING_FREE)
            elif name == METHODS["held_box"]:
                preds = sot_held(seqs)
            else:
                kind = next(k for k, v in METHODS.items() if v == name)
                preds = sot_opencv(kind, seqs, threads, desc)
            section["methods"][name] = score_sot(preds, seqs)
            _log(f"SOT {title:10s} {name:26s} AUC {section['methods'][name]['AUC']:5.1f}")

    # VOS
    section = results["vos_davis"]
    section.update({"convention": VOS_NOTE, "sequences": [c.name for c in davis], "methods": {}})
    runs = {label: lambda: vos_model(net, davis, snapshots=snaps.get("vos"), desc=f"VOS DAVIS {label}")}
    if net.has_memory_embedding:
        runs[METHODS["imagenet"]] = lambda: vos_model(net, davis, desc=f"VOS DAVIS {METHODS['imagenet']}",
                                                      **TRAINING_FREE)
    if not skip_baselines:
        runs[METHODS["held_mask"]] = lambda: vos_held(davis)
        runs[METHODS["flow"]] = lambda: vos_flow(davis, desc=f"VOS DAVIS {METHODS['flow']}")
    for name, fn in runs.items():
        section["methods"][name] = score_vos(fn(), davis)
        _log(f"VOS DAVIS-2016 {name:26s} J&F {section['methods'][name]['J&F']:5.1f}")

    # MOT (the model's detections are recorded for the BoT-SORT baseline)
    dets = RecordedDetections()
    tracks, detector = mot_model(net, mot, classes=classes, model_label=label, snapshots=snaps.get("mot"),
                                 desc=f"MOT MOT17-mini {label}", detections=None if skip_baselines else dets)
    section = results["mot17"]
    section.update({"convention": MOT_NOTE, "detector": detector, "classes": list(classes) if classes else None,
                    "class_names": ["person"] if classes and default_mot_detector(net) not in ("model", "own")
                    else [net.config.class_names[c] for c in classes] if classes else None,
                    "methods": {label: score_mot(tracks, mot)}})
    _log(f"MOT MOT17-mini {label} with {detector}: HOTA {section['methods'][label]['HOTA']:.1f}")
    if not skip_baselines:
        mot_peer_baseline(results, mot, dets)

    results["setup"]["wall_time_s"] = round(time.perf_counter() - started, 1)
    results["files"] = write_outputs(results, out, snaps, davis, mot, net.config.class_names)
    return results


def mot_peer_baseline(results: dict, mot: Sequence[MotClip], dets: RecordedDetections) -> None:
    """The BoT-SORT row of the MOT section on the model's recorded detections, or a note why it is missing."""
    notes, section = results["notes"], results["mot17"]
    version = botsort_version()
    if version is None:
        notes["botsort"] = (f"BoT-SORT baseline not run: the `trackers` package cannot be imported; run "
                            f"`pip install {BOTSORT_PIN}` (it is in the `eval` extra)")
    elif dets.detector != "nanodet-g" or set(dets.per_sequence) != {c.name for c in mot}:
        notes["botsort"] = ("BoT-SORT baseline not run: it needs the model's MOT tracker to use the separate "
                            "NanoDet-g detector (this model detects with its own head)")
    if "botsort" in notes:
        _log(notes["botsort"])
        return
    name = botsort_label(version)
    tracks, info = mot_botsort(mot, dets, desc=f"MOT MOT17-mini {name}")
    section["methods"][name] = score_mot(tracks, mot)
    scores = np.concatenate([np.zeros(0)] + [d[1] for v in dets.per_sequence.values() for d in v])
    st = info["settings"]
    section["botsort"] = {"label": name, "version": version, **info, "score_floor": dets.score_floor,
                          "nms_thresh": dets.nms_thresh, "max_detections": dets.max_detections,
                          "detections": len(scores),
                          "detections_high": int((scores >= st["high_conf_det_threshold"]).sum()),
                          "detections_activation": int((scores >= st["track_activation_threshold"]).sum())}
    _log(f"MOT MOT17-mini {name}: HOTA {section['methods'][name]['HOTA']:.1f}, tracker alone "
         f"{info['tracker_fps'] or 0:.0f} frames/s")
    tuned = botsort_tuned()
    tuned_name = f"{name}, our thresholds"
    tracks, info = mot_botsort(mot, dets, desc=f"MOT MOT17-mini {tuned_name}", **tuned)
    section["methods"][tuned_name] = score_mot(tracks, mot)
    section["botsort"]["tuned"] = {"label": tuned_name, "settings": tuned}
    _log(f"MOT MOT17-mini {tuned_name}: HOTA {section['methods'][tuned_name]['HOTA']:.1f}")


# --------------------------------------------------------------------------------------------------
# outputs


def _f(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(_f(v) if not isinstance(v, str) else v for v in row) + " |" for row in rows]


def render_markdown(results: dict) -> str:
    """The model card's numbers as a markdown document (every number of ``results.json`` that a reader needs)."""
    s = results["setup"]
    h, w = s["input_size"]
    lines = [f"# Model card numbers: {s['label']}", "",
             f"- model: `{s['model']}`, input {h}x{w}, {s['threads']} threads, device {s['device']}",
             f"- CPU: {s['cpu']}", f"- torch {s['torch']}, numpy {s['numpy']}, OpenCV {s['opencv']}"
             + (f", OpenCV contrib {s['opencv_contrib']} (CSRT/KCF)" if s.get("opencv_contrib") else ""),
             f"- data: `{s['data']}`; {s['date']}; commit {s.get('git_commit') or 'unknown'}; "
             f"wall time {s.get('wall_time_s', 0):.0f} s; load average at start {s.get('load_average_1m')}"
             + (" — QUICK MODE (first frames only)" if s["quick"] else "")]
    lines += [f"- warning: {t}" for t in s.get("load_warnings", [])]
    lines += [f"- note: {t}" for t in results.get("notes", {}).values()]
    sp = results.get("speed") or {}
    if sp:
        lines += ["", "## Speed and memory (CPU)", ""]
        names = {"sot": "SOT, 1 target", "vos": "VOS, 1 object", "mot": "MOT incl. detection"}
        rows = [[names[k], v["fps"], v["ms_per_frame"], v["peak_mb"], v["after_load_mb"],
                 f"{v['steps']} (+{v['warmup']} warm-up)",
                 v["source"] + (f"; detector: {v['detector']}" if v.get("detector") else "")] for k, v in sp.items()]
        lines += _table(["task", "frames/s", "ms/frame", "peak MB", "MB after load", "timed steps", "frames"], rows)
        lines += ["", "Median time of one tracker step (pre-processing, network, post-processing; frame decoding "
                  "not timed), inference mode, each task in its own process; peak MB = the process's peak "
                  "resident memory at the end (VmHWM: Python, torch, the model and the tracker); MB after load = "
                  "the same peak right after the model was loaded, before tracking."]
    for key, title in (("sot_davis", "SOT on DAVIS-2016 val"), ("sot_mot17", "SOT on MOT17-mini pedestrians")):
        sec = results.get(key) or {}
        if not sec:
            continue
        seqs = sec.get("sequences", [])
        lines += ["", f"## {title} ({sec.get('targets', 0)} targets)", ""]
        per_seq_cols = seqs if key == "sot_davis" else []
        rows = [[name, m["AUC"], m["Precision"], m["OP50"], *[m["per_sequence"].get(q, {}).get("AUC")
                                                              for q in per_seq_cols]]
                for name, m in sec.get("methods", {}).items()]
        lines += _table(["method", "AUC", "Precision", "OP50", *[f"{q} AUC" for q in per_seq_cols]], rows)
        lines += ["", f"Protocol: {sec['protocol']}. {sec['convention']}."]
        if key == "sot_mot17" and sec.get("methods"):
            first = next(iter(sec["methods"].values()))
            lines += ["Targets per sequence: " + ", ".join(f"{n} {v['targets']}"
                                                           for n, v in first["per_sequence"].items()) + "."]
    sec = results.get("vos_davis") or {}
    if sec:
        seqs = sec.get("sequences", [])
        lines += ["", "## VOS on DAVIS-2016 val (first-frame mask)", ""]
        rows = [[name, m["J"], m["F"], m["J&F"], *[m["per_sequence"][q]["J&F"] for q in seqs]]
                for name, m in sec.get("methods", {}).items()]
        lines += _table(["method", "J", "F", "J&F", *[f"{q} J&F" for q in seqs]], rows)
        lines += ["", f"{sec['convention']}. Optical flow: Farneback flow from each frame to the previous one, "
                  "previous mask warped backwards (bilinear), threshold 0.5."]
    sec = results.get("mot17") or {}
    if sec:
        m = next(iter(sec["methods"].items()))
        lines += ["", "## MOT on MOT17-mini", ""]
        rows = [[name, v["HOTA"], v["DetA"], v["AssA"], v["MOTA"], v["IDF1"], v["IDSW"], v["FP"], v["FN"]]
                for name, v in sec["methods"].items()]
        lines += _table(["method", "HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDSW", "FP", "FN"], rows)
        lines += ["", f"{sec['convention']} (class {sec.get('class_names')}, ids {sec.get('classes')}); "
                  f"{m[1]['sequences']} sequences, {m[1]['frames']} frames. Detector: {sec['detector']}."]
        b = sec.get("botsort")
        if b:
            st = b["settings"]
            lines += ["", f"{b['label']}: peer baseline on the same data — the very detections {m[0]}'s tracker "
                      f"received ({b['detections']} person boxes, NanoDet-g score floor > {_f(b['score_floor'], 2)}, "
                      f"NMS IoU {_f(b['nms_thresh'], 2)}, at most {_f(b.get('max_detections'))} per frame) fed to "
                      f"`trackers.BoTSORTTracker` with its default settings: high/low split at "
                      f"{st['high_conf_det_threshold']} (low pass > 0.1), new tracks from score "
                      f">= {st['track_activation_threshold']}, a track reported after "
                      f"`minimum_consecutive_frames`={st['minimum_consecutive_frames']} matched frames (first-frame "
                      f"tracks at once), camera motion compensation {st.get('cmc_method', 'off')}; rows = confirmed "
                      f"tracks (tracker_id >= 0) with the matched detection's box. Of the {b['detections']} boxes, "
                      f"{b.get('detections_high')} reach the high pass and {b.get('detections_activation')} can start "
                      f"a track (NanoDet-g scores run low). Tracker alone (CMC included, "
                      f"detection and frame decoding not): {_f(b['tracker_fps'], 0)} frames/s "
                      f"({_f(b['tracker_ms_per_frame'], 2)} ms/frame, {b['frames_timed']} frames, "
                      f"{b['opencv_threads']} OpenCV thread)."]
            if b.get("tuned"):
                t = b["tuned"]["settings"]
                lines += ["", f"{b['tuned']['label']}: the same, with the first pass above "
                          f"{t['high_conf_det_threshold']} and new tracks from {t['track_activation_threshold']}, "
                          f"the thresholds {m[0]}'s ByteTrack uses for NanoDet-g (`ByteTrackConfig.nanodet()`)."]
    if results.get("files"):
        lines += ["", "Files: " + ", ".join(f"`{Path(p).name}`" for p in results["files"])]
    return "\n".join(lines) + "\n"


def _write_plots(results: dict, out: Path) -> list[Path]:
    from unicorn.evaluation import plots

    written = []
    for key, title in (("sot_davis", "SOT DAVIS-2016 (box of the mask)"), ("sot_mot17", "SOT MOT17-mini pedestrians")):
        methods = results.get(key, {}).get("methods") or {}
        if methods:
            curves = {f"{n} [AUC {m['AUC']:.1f}]": 100 * np.asarray(m["success_curve"]) for n, m in methods.items()}
            fig = plots.curve_figure(sot.THRESHOLDS_OVERLAP, curves, f"Success plot: {title}",
                                     "Overlap threshold (IoU)", "Success rate (%)")
            fig.axes[0].set_ylim(0, 100)
            written.append(plots.save(fig, out / f"{key}_success.png"))
    methods = results.get("vos_davis", {}).get("methods") or {}
    if methods:
        fig = plots.bar_figure({n: m["J&F"] for n, m in methods.items()}, "J&F (%)",
                               f"VOS J&F on DAVIS-2016 ({', '.join(results['vos_davis']['sequences'])})", "method")
        written.append(plots.save(fig, out / "vos_davis_jf.png"))
    return written


def _write_grids(snaps: dict, out: Path, davis: Sequence[DavisClip], class_names: Sequence[str]) -> list[Path]:
    from unicorn.evaluation.video_writer import annotate_frame

    written = []
    gt_boxes = davis_sot_sequences(davis[:1])[0].gt[0] if davis else None
    for task, shots in snaps.items():
        tiles = []
        for t, (path, res) in sorted(shots.items()):
            frame = read_frame(path)
            if task == "sot" and gt_boxes is not None and np.isfinite(gt_boxes[t]).all():
                x, y, bw, bh = gt_boxes[t]
                res = FrameResult(res.frame_index, res.image_size, np.r_[res.track_ids, 0],
                                  np.r_[res.boxes_xyxy, [[x, y, x + bw, y + bh]]], np.r_[res.scores, 1.0],
                                  np.r_[np.zeros(len(res), np.int64), 1])
                image = annotate_frame(frame, res, class_names=["prediction", "ground truth"], show_scores=False)
            else:
                image = annotate_frame(frame, res, class_names=class_names if task == "mot" else None)
            cv2.putText(image, f"frame {t}", (10, image.shape[0] - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.8,
                        (255, 255, 255), 2, cv2.LINE_AA)
            scale = 480 / image.shape[1]
            tiles.append(cv2.resize(image, (480, int(round(image.shape[0] * scale))), interpolation=cv2.INTER_AREA))
        if not tiles:
            continue
        tiles += [np.zeros_like(tiles[0])] * (len(tiles) % 2)
        rows = [np.hstack(tiles[i:i + 2]) for i in range(0, len(tiles), 2)]
        path = out / f"frames_{task}.jpg"
        cv2.imwrite(str(path), np.vstack(rows), [cv2.IMWRITE_JPEG_QUALITY, 85])
        written.append(path)
    return written


def write_outputs(results: dict, out: Path, snaps: dict, davis, mot, class_names) -> list[str]:
    """Write plots (and grids), then ``results.md`` and ``results.json``; returns the written paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = _write_plots(results, out) + (_write_grids(snaps, out, davis, class_names) if snaps else [])
    files = [str(p) for p in files] + [str(out / "results.md"), str(out / "results.json")]
    results["files"] = files
    (out / "results.md").write_text(render_markdown(results))
    (out / "results.json").write_text(json.dumps(json_ready(results), indent=1) + "\n")
    return files


def print_markdown(text: str) -> None:
    try:
        from rich.console import Console
        from rich.markdown import Markdown
    except ImportError:
        print(text)
        return
    Console().print(Markdown(text))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--speed-child"]:
        print(json.dumps(speed_child(json.loads(argv[1]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="unicorn-lite", help="anything unicorn.load accepts (default unicorn-lite)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="shared data folder (default %(default)s)")
    parser.add_argument("--out", default=str(REPO / "docs" / "model_card"), help="output folder (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--skip-baselines", action="store_true", help="only the model, no CSRT/KCF/held/flow")
    parser.add_argument("--skip-speed", action="store_true", help="no speed / memory measurements")
    parser.add_argument("--quick", action="store_true",
                        help=f"first {QUICK_FRAMES} frames of DAVIS blackswan and MOT17-05 only (for tests)")
    parser.add_argument("--frame-grids", action="store_true",
                        help="also write annotated frame grids (dataset images: keep them out of the repository)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    try:
        results = run_card(args.model, args.data, args.out, args.threads, args.device, args.skip_baselines,
                           args.skip_speed, args.quick, frame_grids=args.frame_grids)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print_markdown(render_markdown(results))
    print(f"wrote {len(results['files'])} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
