"""Track a video into a result folder: the one job behind ``unicorn track``, the web demo and the tools.

Order of work: the folder and the prompts are checked, the source is opened and the prompts fitted to its
first frame, the model is loaded (when named) and the tracker built, and only then is the folder created,
with a ``summary.json`` that says ``running`` until the run ends (``complete``, ``interrupted`` or
``failed``, with the reason; see :mod:`unicorn.run_folder`).

Example:
    >>> import unicorn
    >>> run = unicorn.track_to_folder("video.mp4", "runs/dog", task="sot", boxes=[(42, 86, 36, 68)])
    >>> run.summary["status"], run.files["video"]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import UserError
from .outputs import FORMATS, OUTPUT_NAMES
from .run_folder import (
    DISK_FULL,
    RunSummary,
    check_result_folder,
    create_result_folder,
    describe_os_error,
    sigterm_as_interrupt,
)

# What each task writes when the formats are not given: the annotated video and the benchmark files.
DEFAULT_FORMATS = {"sot": ("video", "pytracking", "mot", "json"), "vos": ("video", "davis", "json"),
                   "mot": ("video", "mot", "json"), "mots": ("video", "mots", "mot", "json")}
DAVIS_MAX_ID = 255  # DAVIS palette PNGs hold object ids 1..255
CONFIDENCE_PLOT = "confidence.png"  # SOT/VOS: each target's score over time, lost frames shaded


@dataclass
class FolderRun:
    """A finished run.

    Attributes:
        folder: the result folder.
        summary: what its ``summary.json`` holds (status, counts, settings, outputs).
        files: result file (or folder) per format, e.g. ``files["video"]``.
        config: the settings the tracker ran with (``tracker.config``).
    """

    folder: Path
    summary: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    config: Any = None


def check_formats(task: str, formats: Sequence[str] | None) -> tuple[str, ...]:
    """The formats to write for ``task`` (its defaults when None), refusing unknown ones and masks without masks."""
    chosen = tuple(formats) if formats else DEFAULT_FORMATS[task]
    bad = [f for f in chosen if f not in FORMATS]
    if bad:
        raise UserError(f"unknown format(s) {bad}; choose from {', '.join(FORMATS)}")
    if task in ("sot", "mot") and "davis" in chosen:
        raise UserError("the davis format holds masks; use it with task vos or mots")
    return chosen


def class_ids(classes: Sequence[int | str] | None, names: Sequence[str]) -> tuple[int, ...] | None:
    """Class ids for a list of ids or names of the classes the tracker outputs (``names``)."""
    if classes is None:
        return None
    out = []
    for item in classes:
        text = str(item).strip()
        if text.isdigit() and int(text) < len(names):
            out.append(int(text))
        elif text.isdigit():
            raise UserError(f"class id {text} does not exist: this detector has {len(names)} classes (0 to "
                            f"{len(names) - 1}); give an id in that range or a class name")
        elif text in names:
            out.append(list(names).index(text))
        else:
            raise UserError(f"unknown class {text!r}; this model knows: {', '.join(names)}")
    return tuple(out)


def _check_prompts(task: str, boxes: Any, masks: Any, formats: tuple[str, ...], size: tuple[int, int]
                   ) -> dict[str, Any]:
    """``init`` arguments for the task, checked against a first frame of ``size`` (H, W)."""
    from .inputs import check_boxes_xywh, check_masks, mask_ids

    if task == "sot" and boxes is None:
        raise UserError("SOT needs at least one box x,y,w,h on the first frame")
    if task == "vos" and boxes is None and masks is None:
        raise UserError("VOS needs a first-frame mask, or a box x,y,w,h per object (each box is made into a mask)")
    if task in ("mot", "mots"):
        if boxes is not None or masks is not None:
            raise UserError(f"{task.upper()} finds its objects itself; it takes no boxes or masks")
        return {}
    if masks is not None and task == "vos":
        check_masks(masks, size)
        if np.ndim(masks) == 2 and "davis" in formats and max(mask_ids(masks)) > DAVIS_MAX_ID:
            raise UserError(f"the mask has object ids up to {max(mask_ids(masks))}, but DAVIS PNGs hold ids "
                            f"1..{DAVIS_MAX_ID}; renumber the objects, or leave davis out of the formats")
        return {"masks": masks}
    check_boxes_xywh(boxes, size)
    return {"boxes": boxes}


def track_to_folder(source: Any, out: str | Path, task: str = "sot", *, model: Any = "unicorn-lite",
                    boxes: Any = None, masks: Any = None, classes: Sequence[int | str] | None = None,
                    settings: dict[str, Any] | None = None, detector: Any = None,
                    input_size: tuple[int, int] | None = None, formats: Sequence[str] | None = None,
                    overwrite: bool = False, max_frames: int | None = None, device: str | None = None,
                    threads: int | None = None, backend: str = "auto",
                    progress: Callable[[int, int | None], None] | None = None, info: dict[str, Any] | None = None,
                    video_name: str | None = None, fourcc: str = "mp4v",
                    corrections: dict[int, Any] | None = None) -> FolderRun:
    """Track ``source`` into the result folder ``out``.

    Args:
        source: video file, folder of frames, webcam index or stream URL (see
            :func:`unicorn.data.video_io.open_video`).
        out: result folder: must not hold results unless ``overwrite``.
        task: ``"sot"``, ``"vos"``, ``"mot"`` or ``"mots"``.
        model: a loaded model, or a variant name / checkpoint path, loaded (on ``device`` with
            ``threads``) only after every check has passed.
        boxes: SOT targets (or VOS objects, each made into a mask), x, y, w, h in pixels.
        masks: VOS first-frame masks ((H, W) index map or (K, H, W) binary).
        classes: MOT/MOTS classes to keep, by id or name of the classes the tracker outputs.
        settings: tracker settings by name (see :class:`unicorn.Tracker`); the video's frame rate sets
            ByteTrack's ``frame_rate`` unless it is among them.
        detector: MOT: your own detections (callable or det.txt) or a built-in detector's name.
        input_size: network input (H, W).
        formats: result formats (subset of :data:`unicorn.outputs.FORMATS`); default: the task's.
        overwrite: replace a result folder that holds results.
        max_frames: stop after this many frames.
        device, threads, backend: how a named model runs (see :func:`unicorn.load`).
        progress: called as ``progress(frames_done, frames_total or None)`` after every frame.
        info: more entries for ``summary.json`` (e.g. the input's display name).
        video_name: file name of the annotated video (default ``annotated.mp4``).
        fourcc: codec of the annotated video (``"mp4v"``; ``"VP80"`` with a ``.webm`` name plays in browsers).
        corrections: SOT/VOS: frame index k (0-based, >= 1) -> the user's boxes or masks there (see
            :mod:`unicorn.corrections`): the tracker's ``correct`` runs on frame k instead of ``step``, frames
            before k are as without it, and ``summary.json`` records them.

    Returns:
        The finished run. SOT/VOS runs also record each target's ``lost_spans`` (first and last frame of each
        run of frames where it was lost) and ``state_frames`` in the summary, and plot its score over time
        (``confidence.png``, with matplotlib). Ctrl+C or SIGTERM ends a run as ``interrupted`` (raised again).

    Raises:
        UserError: a bad argument, prompt or setting (before anything is created), or a failure while tracking
            (the summary says ``failed`` and why; complete frames are kept).
    """
    from . import load  # the package's attribute: what `unicorn.load` is at call time
    from .api import Tracker, check_settings
    from .corrections import check_corrections, describe_corrections, prompt_ids
    from .data.video_io import open_video
    from .evaluation.timeline import TargetTimeline
    from .run import open_writers, run_tracker
    from .trackers.settings import check_task, output_class_names, tracker_config

    task = check_task(task)
    out = Path(out)
    formats = check_formats(task, formats)
    settings = dict(settings or {})
    check_settings(task, detector, input_size, **settings)
    check_result_folder(out, overwrite)
    with open_video(source) as video:
        prompts = _check_prompts(task, boxes, masks, formats, video.size)
        total = min(x for x in (max_frames, video.frame_count) if x) if (max_frames or video.frame_count) else None
        known = prompt_ids(prompts, video.size) if corrections and task in ("sot", "vos") else []
        fixes = check_corrections(task, corrections, known, video.size, total)
        if isinstance(model, str | Path):
            model = load(model, device, threads=threads, backend=backend)
        fps = video.fps or None
        config = tracker_config(model, task, settings, fps=fps, detector_given=_own(detector))
        names = output_class_names(model, config, _own(detector)) if task in ("mot", "mots") else None
        if classes is not None and task in ("mot", "mots"):
            settings["classes"] = class_ids(classes, names)
        tracker = Tracker(model, task, input_size=input_size, detector=detector, fps=fps, **settings)
        create_result_folder(out, overwrite)
        summary = RunSummary(out, {"input": str(source), "task": task, "weights": _model_name(model),
                                   "device": str(tracker.device), "video_fps": video.fps,
                                   "size_hw": list(video.size), **(info or {}),
                                   **({"corrections": describe_corrections(fixes)} if fixes else {})})
        done = [0]

        def on_frame(n: int) -> None:
            done[0] = n
            if progress is not None:
                progress(n, total)

        timeline = TargetTimeline(out / CONFIDENCE_PLOT) if task in ("sot", "vos") else None
        try:
            with sigterm_as_interrupt():
                writers = open_writers(out, formats, video.fps or 25.0, names, video_name=video_name, fourcc=fourcc)
                writers += [timeline] if timeline is not None else []
                stats = run_tracker(tracker, video, prompts, writers, max_frames, on_frame=on_frame, corrections=fixes)
        except KeyboardInterrupt as exc:
            by = exc.args[0] if exc.args else "Ctrl+C (SIGINT)"
            _finish(summary, "interrupted", f"stopped by {by}", frames=done[0])
            raise
        except OSError as exc:
            _finish(summary, "failed", describe_os_error(exc), frames=done[0])
            what = "the disk is full" if exc.errno in DISK_FULL else describe_os_error(exc)
            raise UserError(f"{what}: stopped after {done[0]} complete frame(s), kept in {out}; free space (or fix "
                            "the cause) and rerun with --overwrite (overwrite=True)") from None
        except UserError as exc:
            _finish(summary, "failed", str(exc), frames=done[0])
            raise
        except BaseException as exc:
            _finish(summary, "failed", f"{type(exc).__name__}: {exc}", frames=done[0])
            raise
    extra = {} if timeline is None else {
        "lost_spans": {str(t): [list(r) for r in runs] for t, runs in timeline.spans("lost").items()},
        "state_frames": {str(t): c for t, c in timeline.counts().items()}}
    try:
        summary.finish("complete", **{k: stats[k] for k in ("frames", "tracks", "seconds", "fps", "truncated")},
                       settings=_plain(settings), **extra)
    except OSError as exc:
        raise UserError(f"all {stats['frames']} frames are in {out}, but summary.json could not be updated "
                        f"({describe_os_error(exc)}); it still says running") from None
    files = {f: out / (video_name if f == "video" and video_name else OUTPUT_NAMES[f]) for f in formats}
    if (out / CONFIDENCE_PLOT).is_file():
        files["confidence"] = out / CONFIDENCE_PLOT
    return FolderRun(out, summary.data, files, tracker.config)


def _own(detector: Any) -> bool:
    from .trackers.configs import DETECTORS

    return detector is not None and not (isinstance(detector, str) and detector in DETECTORS
                                         and not Path(detector).is_file())


def _model_name(model: Any) -> str:
    return str(getattr(model, "variant", None) or getattr(model, "source", None) or type(model).__name__)


def _plain(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings as JSON values (tuples become lists, other objects their text)."""
    return {k: (list(v) if isinstance(v, tuple) else v if isinstance(v, str | int | float | bool | None) else str(v))
            for k, v in settings.items()}


def _finish(summary: RunSummary, status: str, reason: str, frames: int) -> None:
    """Record a run that did not complete; a summary that cannot be written keeps saying ``running``."""
    try:
        summary.finish(status, reason, frames=frames)
    except OSError:
        pass


__all__ = ["DEFAULT_FORMATS", "FolderRun", "check_formats", "class_ids", "track_to_folder"]
