"""The MOT peer baseline: the model's own detections fed to BoT-SORT of roboflow's ``trackers`` package.

``pip install trackers==2.6.1`` (in the ``eval`` extra); without it the card leaves the row out with a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from unicorn.data.datasets.base import TrackAnnotations
from unicorn.errors import UserError
from unicorn.evaluation.card.data import MotClip, read_frame
from unicorn.evaluation.card.detections import RecordedDetections
from unicorn.evaluation.card.runs import log, progress_bar
from unicorn.evaluation.card.scores import score_mot
from unicorn.probe import Stopwatch

BOTSORT_PIN = "trackers==2.6.1"
SETTINGS = ("high_conf_det_threshold", "track_activation_threshold", "minimum_consecutive_frames",
            "minimum_iou_threshold_first_assoc", "minimum_iou_threshold_second_assoc",
            "minimum_iou_threshold_unconfirmed_assoc", "maximum_frames_without_update",
            "instant_first_frame_activation", "enable_cmc")


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
    """The method name of the BoT-SORT row."""
    return f"NanoDet-g + BoT-SORT (trackers {version})"


def botsort_tuned() -> dict[str, float]:
    """BoT-SORT thresholds set to those of ``ByteTrackConfig.nanodet()`` (first pass above ``track_thresh``,
    new tracks from ``track_thresh + new_track_margin``), for a second row next to the library defaults."""
    from unicorn.trackers.association.bytetrack import ByteTrackConfig

    ours = ByteTrackConfig.nanodet()
    return {"high_conf_det_threshold": ours.track_thresh,
            "track_activation_threshold": round(ours.track_thresh + ours.new_track_margin, 6)}


def _rows(res: Any, t: int) -> list[tuple]:
    """MOTChallenge rows (frame t + 1, id + 1, box x, y, w, h, score) of BoT-SORT's confirmed tracks."""
    ok = np.asarray(res.tracker_id) >= 0
    conf = res.confidence if res.confidence is not None else np.ones(len(res))
    return [(t + 1, int(tid) + 1, float(x1), float(y1), float(x2 - x1), float(y2 - y1), float(s))
            for (x1, y1, x2, y2), tid, s in zip(res.xyxy[ok], np.asarray(res.tracker_id)[ok], conf[ok])]


def mot_botsort(clips: Sequence[MotClip], detections: dict[str, list] | RecordedDetections,
                desc: str = "MOT BoT-SORT", **settings: Any) -> tuple[dict[str, TrackAnnotations], dict]:
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
    out, watch = {}, Stopwatch()
    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with progress_bar(sum(len(c.frames) for c in clips), desc) as bar:
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
                    with watch:
                        res = tracker.update(dets, frame=frame)
                    rows += _rows(res, t)
                    bar.update()
                arr = np.asarray(rows, np.float64).reshape(-1, 7)
                out[clip.name] = TrackAnnotations(arr[:, 0], arr[:, 1], arr[:, 2:6], confidences=arr[:, 6],
                                                  source=f"BoT-SORT on {clip.name}")
    finally:
        cv2.setNumThreads(cv_threads)
    defaults = BoTSORTTracker(**settings)
    used = {k: getattr(defaults, k) for k in SETTINGS}
    if defaults.cmc is not None:
        used.update(cmc_method=str(defaults.cmc.cfg.method), cmc_downscale=int(defaults.cmc.cfg.downscale))
    n, total = len(watch.seconds), watch.total
    info = {"settings": used, "frames_timed": n, "tracker_s": total,
            "tracker_fps": n / total if total > 0 else None,
            "tracker_ms_per_frame": 1000.0 * total / n if n else None, "opencv_threads": 1}
    return out, info


def mot_peer_section(results: dict, mot: Sequence[MotClip], dets: RecordedDetections) -> None:
    """Add the BoT-SORT rows (library defaults, then our thresholds) to ``results["mot17"]``, or a note why not."""
    notes, section = results["notes"], results["mot17"]
    version = botsort_version()
    if version is None:
        notes["botsort"] = (f"BoT-SORT baseline not run: the `trackers` package cannot be imported; run "
                            f"`pip install {BOTSORT_PIN}` (it is in the `eval` extra)")
    elif dets.detector != "nanodet-g" or set(dets.per_sequence) != {c.name for c in mot}:
        notes["botsort"] = ("BoT-SORT baseline not run: it needs the model's MOT tracker to use the separate "
                            "NanoDet-g detector (this model detects with its own head)")
    if "botsort" in notes:
        log(notes["botsort"])
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
    log(f"MOT MOT17-mini {name}: HOTA {section['methods'][name]['HOTA']:.1f}, tracker alone "
        f"{info['tracker_fps'] or 0:.0f} frames/s")
    tuned = botsort_tuned()
    tuned_name = f"{name}, our thresholds"
    tracks, info = mot_botsort(mot, dets, desc=f"MOT MOT17-mini {tuned_name}", **tuned)
    section["methods"][tuned_name] = score_mot(tracks, mot)
    section["botsort"]["tuned"] = {"label": tuned_name, "settings": tuned}
    log(f"MOT MOT17-mini {tuned_name}: HOTA {section['methods'][tuned_name]['HOTA']:.1f}")
