"""Trackers run over the card's clips: the model through ``unicorn.Tracker``, and the classical baselines.

Every run returns predictions per clip name: SOT ``(K, T, 4)`` boxes x, y, w, h, VOS ``T`` (H, W) bool masks,
MOT MOTChallenge-style ``TrackAnnotations``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unicorn.data.datasets.base import TrackAnnotations
from unicorn.evaluation import baselines
from unicorn.evaluation.card.data import DavisClip, MotClip, SotSequence, read_frame
from unicorn.evaluation.card.detections import RecordedDetections, describe_detector, record_detections
from unicorn.types import FrameResult

if TYPE_CHECKING:
    from tqdm import tqdm

    from unicorn.models.unicorn import Unicorn
    from unicorn.trackers.base import BaseTracker

Snapshots = dict[int, tuple[Path, FrameResult]]


def progress_bar(total: int, desc: str) -> tqdm:
    """A transient per-frame progress bar."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="frame", leave=False, dynamic_ncols=True)


def log(text: str) -> None:
    """One line to stderr that does not break a progress bar."""
    from tqdm import tqdm

    tqdm.write(text, file=sys.stderr)


def snapshot_frames(num_frames: int, count: int = 4) -> set[int]:
    """``count`` frame indices spread evenly over a clip (first and last included)."""
    return {int(round(v)) for v in np.linspace(0, num_frames - 1, min(count, num_frames))}


def track_clips(tracker: BaseTracker, clips: Sequence[Any], desc: str, collect: Callable[[Any, int, FrameResult], Any],
                *, prompts: Callable[[Any], dict] | None = None, snapshots: Snapshots | None = None,
                clip_done: Callable[[Any], None] | None = None) -> dict[str, list]:
    """Run a tracker over every frame of every clip under inference mode, with a progress bar.

    Args:
        tracker: from ``unicorn.Tracker``; ``init(frame, **prompts(clip))`` on frame 0, ``step(frame)`` after.
        clips: objects with ``.name`` and ``.frames`` (image paths).
        desc: progress bar label.
        collect: ``collect(clip, t, result)`` is kept for each frame.
        prompts: the ``init`` keywords of a clip (none when None).
        snapshots: receives ``{t: (path, result)}`` for a few frames of the first clip.
        clip_done: called with each clip after its last frame.

    Returns:
        ``{clip.name: [collect(...) per frame]}``.
    """
    import torch

    out = {}
    with progress_bar(sum(len(c.frames) for c in clips), desc) as bar, torch.inference_mode():
        for ci, clip in enumerate(clips):
            per_frame = []
            keep = snapshot_frames(len(clip.frames)) if snapshots is not None and ci == 0 else set()
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


def sot_model(model: Unicorn, seqs: Sequence[SotSequence], input_size: tuple[int, int] | None = None,
              snapshots: Snapshots | None = None, desc: str = "SOT", **settings: Any) -> dict[str, np.ndarray]:
    """(K, T, 4) boxes per sequence from the model's multi-target SOT tracker (one pass per sequence)."""
    import unicorn

    def ids(seq: SotSequence) -> list[int]:
        return list(range(1, len(seq.init) + 1))

    def boxes(seq: SotSequence, t: int, res: FrameResult) -> np.ndarray:
        return res.boxes_xywh[np.searchsorted(res.track_ids, ids(seq))]

    tracker = unicorn.Tracker(model, "sot", input_size=input_size, **settings)
    per_frame = track_clips(tracker, seqs, desc, boxes, prompts=lambda seq: {"boxes": seq.init, "ids": ids(seq)},
                            snapshots=snapshots)
    return {name: np.stack(b, axis=1).astype(np.float64) for name, b in per_frame.items()}


def vos_model(model: Unicorn, clips: Sequence[DavisClip], input_size: tuple[int, int] | None = None,
              snapshots: Snapshots | None = None, desc: str = "VOS", **settings: Any) -> dict[str, list[np.ndarray]]:
    """Masks per frame from the model's VOS tracker, initialised with the first-frame mask."""
    import unicorn

    def mask(clip: DavisClip, t: int, res: FrameResult) -> np.ndarray:
        return res.masks[0] if res.masks is not None and len(res) else np.zeros(clip.size, bool)

    tracker = unicorn.Tracker(model, "vos", input_size=input_size, **settings)
    return track_clips(tracker, clips, desc, mask, prompts=lambda clip: {"masks": clip.masks[0].astype(np.uint8)},
                       snapshots=snapshots)


def mot_model(model: Unicorn, clips: Sequence[MotClip], input_size: tuple[int, int] | None = None,
              classes: Sequence[int] | None = None, model_label: str = "model", snapshots: Snapshots | None = None,
              desc: str = "MOT", detections: RecordedDetections | None = None,
              ) -> tuple[dict[str, TrackAnnotations], str]:
    """MOTChallenge-style rows per sequence from the model's default MOT tracker, and its detector's description.

    Args:
        detections: receives, per sequence, the detections the tracker's association was given on each frame
            (``record_detections``); it stays empty when the model detects with its own head.
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
    per_clip = track_clips(tracker, clips, desc, rows, snapshots=snapshots, clip_done=keep_detections)
    out = {}
    for name, per_frame in per_clip.items():
        arr = np.asarray([r for frame_rows in per_frame for r in frame_rows], np.float64).reshape(-1, 7)
        out[name] = TrackAnnotations(arr[:, 0], arr[:, 1], arr[:, 2:6], confidences=arr[:, 6],
                                     source=f"{model_label} on {name}")
    return out, detector


def sot_held(seqs: Sequence[SotSequence]) -> dict[str, np.ndarray]:
    """The first-frame boxes held on every frame."""
    return {s.name: np.stack([baselines.held_boxes(b, len(s.frames)) for b in s.init]) for s in seqs}


def sot_opencv(kind: str, seqs: Sequence[SotSequence], threads: int, desc: str) -> dict[str, np.ndarray]:
    """OpenCV CSRT / KCF boxes ("csrt" / "kcf"), one OpenCV tracker per target."""
    jobs = [{"name": s.name, "frames": s.frames, "boxes": s.init} for s in seqs]
    with progress_bar(sum(len(s.frames) for s in seqs), desc) as bar:
        return baselines.run_opencv_trackers(kind, jobs, threads, progress=bar.update)


def vos_held(clips: Sequence[DavisClip]) -> dict[str, list[np.ndarray]]:
    """The first-frame mask held on every frame."""
    return {c.name: baselines.held_masks(c.masks[0], len(c.frames)) for c in clips}


def vos_flow(clips: Sequence[DavisClip], desc: str = "VOS flow") -> dict[str, list[np.ndarray]]:
    """The first-frame mask propagated by backward Farneback warping (threshold 0.5)."""
    out = {}
    with progress_bar(sum(len(c.frames) for c in clips), desc) as bar:
        for clip in clips:
            prop = baselines.FlowMaskPropagation()
            masks = []
            for t, path in enumerate(clip.frames):
                frame = read_frame(path)
                masks.append(prop.init(frame, clip.masks[0]) if t == 0 else prop.step(frame))
                bar.update()
            out[clip.name] = masks
    return out
