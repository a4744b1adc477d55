"""The demo's work without the web page: check an uploaded video, track it, write and zip the results.

Everything here uses the public API (``unicorn.open_video``, ``unicorn.track_to_folder``) and holds no
state between calls, so every browser session gets its own tracker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import unicorn
from unicorn import TASKS, UserError, open_video
from unicorn.track_folder import DEFAULT_FORMATS

VIDEO_NAME = "annotated.webm"  # VP8 in WebM: browsers play it and OpenCV's own FFmpeg can write it


@dataclass(frozen=True)
class Limits:
    """What one run may use; the defaults suit a shared CPU machine.

    Attributes:
        max_frames: longest video, in frames.
        max_seconds: longest video, in seconds (by its own frame rate).
        max_upload_mb: largest upload, in megabytes.
    """

    max_frames: int = 300
    max_seconds: float = 60.0
    max_upload_mb: float = 100.0

    @classmethod
    def from_env(cls, **overrides: float | None) -> Limits:
        """Defaults, then ``UNICORN_DEMO_MAX_FRAMES`` / ``_MAX_SECONDS`` / ``_MAX_UPLOAD_MB``, then ``overrides``."""
        values: dict[str, float] = {}
        for name, cast in (("max_frames", int), ("max_seconds", float), ("max_upload_mb", float)):
            env = os.environ.get(f"UNICORN_DEMO_{name.upper()}")
            if env:
                try:
                    values[name] = cast(env)
                except ValueError:
                    raise UserError(f"UNICORN_DEMO_{name.upper()}={env!r} is not a number") from None
            if overrides.get(name) is not None:
                values[name] = cast(overrides[name])
        return cls(**values)

    def describe(self) -> str:
        return f"{self.max_frames} frames / {self.max_seconds:g} s, {self.max_upload_mb:g} MB"


@dataclass
class VideoInfo:
    """An uploaded video that passed the checks.

    Attributes:
        path: the file.
        name: the name the user gave it (for messages and the zip).
        first_frame: (H, W, 3) uint8 BGR.
        fps: frames per second (25 when the file does not say).
        frame_count: frames according to the container (None when unknown).
    """

    path: Path
    name: str
    first_frame: np.ndarray
    fps: float
    frame_count: int | None

    @property
    def size(self) -> tuple[int, int]:
        return int(self.first_frame.shape[0]), int(self.first_frame.shape[1])

    def describe(self) -> str:
        h, w = self.size
        n = f"{self.frame_count} frames" if self.frame_count else "unknown length"
        return f"{self.name}: {w}x{h}, {n}, {self.fps:g} fps"


def _friendly(exc: UserError, path: Path, name: str) -> str:
    """The error message with the server-side temporary path replaced by the file's own name."""
    return str(exc).replace(str(path), name)


def probe_video(path: str | Path, limits: Limits, name: str | None = None) -> VideoInfo:
    """Check that a file is a video the demo can track, and read its first frame.

    Args:
        path: the uploaded file.
        limits: caps on size and length.
        name: name to show (default: the file name).

    Raises:
        UserError: missing, empty, too large, not a video, or too long; the message says what to do.
    """
    path = Path(path)
    name = name or path.name
    if not path.is_file():
        raise UserError(f"{name} was not received; upload it again")
    size_mb = path.stat().st_size / 1e6
    if size_mb > limits.max_upload_mb:
        raise UserError(f"{name} is {size_mb:.0f} MB; this demo accepts videos up to {limits.max_upload_mb:g} MB. "
                        "Trim or compress it, or run `unicorn track` on your own machine.")
    try:
        with open_video(path) as video:
            first = next(iter(video))
            fps = float(video.fps or 25.0)
            count = video.frame_count
    except UserError as exc:
        raise UserError(_friendly(exc, path, name)) from None
    except StopIteration:
        raise UserError(f"{name} has no frames; re-export it as H.264 MP4") from None
    if first.shape[0] < 8 or first.shape[1] < 8:
        raise UserError(f"{name} is {first.shape[1]}x{first.shape[0]} pixels; frames must be at least 8x8")
    info = VideoInfo(path, name, first, fps, count)
    check_length(info, limits)
    return info


def check_length(info: VideoInfo, limits: Limits) -> None:
    """Raise a UserError when the video is longer than the caps (when the container says its length)."""
    if not info.frame_count:
        return
    seconds = info.frame_count / info.fps
    if info.frame_count > limits.max_frames or seconds > limits.max_seconds:
        raise UserError(
            f"{info.name} is too long for this demo: {info.frame_count} frames ({seconds:.1f} s at {info.fps:g} fps); "
            f"the limit is {limits.max_frames} frames and {limits.max_seconds:g} s. Trim it (e.g. "
            f"`ffmpeg -i in.mp4 -t {min(limits.max_seconds, limits.max_frames / info.fps):.0f} out.mp4`) or run "
            "`unicorn track` on your own machine, which has no limit."
        )


@dataclass
class RunRequest:
    """One tracking job.

    Attributes:
        task: ``sot``, ``vos``, ``mot`` or ``mots``.
        boxes_xywh: SOT targets, or VOS targets turned into masks by the mask head.
        mask: VOS first-frame index map (takes precedence over boxes).
        classes: MOT/MOTS class ids to keep (None = all).
        thresholds: extra ``unicorn.Tracker`` settings (e.g. ``nms_thresh``, ``track_thresh``).
        corrections: SOT/VOS: frame k -> {target id: true box x, y, w, h} (see ``unicorn.track_to_folder``).
    """

    task: str
    boxes_xywh: list[tuple[float, float, float, float]] = field(default_factory=list)
    mask: np.ndarray | None = None
    classes: tuple[int, ...] | None = None
    thresholds: dict[str, float | str] = field(default_factory=dict)
    corrections: dict[int, dict[int, tuple[float, float, float, float]]] | None = None


@dataclass
class RunResult:
    """What a run produced.

    Attributes:
        folder: the result folder.
        video: the annotated video.
        archive: the zip of every result file.
        summary: what ``summary.json`` holds (and ``truncated_at_limit``: stopped at the frame cap).
    """

    folder: Path
    video: Path
    archive: Path
    summary: dict


def _zip(out: Path, zip_name: str) -> Path:
    """Zip every file of the result folder (``summary.json`` included); returns the zip."""
    archive = out / zip_name
    files = sorted(p for p in out.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(out).as_posix())
    return archive


def run_tracking(model: torch.nn.Module, video: VideoInfo, request: RunRequest, out: Path, limits: Limits,
                 progress: Callable[[int, int | None], None] | None = None, model_name: str = "") -> RunResult:
    """Track a checked video and write the task's result files, ``summary.json`` and a zip of them all.

    Args:
        model: from ``unicorn.load`` (shared; only read).
        video: from :func:`probe_video`.
        request: task, prompts and thresholds.
        out: a new result folder (must not exist).
        limits: at most ``limits.max_frames`` frames are read, whatever the container claimed.
        progress: called as ``progress(frames_done, frames_total)`` after every frame.
        model_name: recorded in the summary.

    Raises:
        UserError: missing prompts, bad thresholds, or a video that is too long or stops decoding.
    """
    if request.task not in TASKS:
        raise UserError(f"unknown task {request.task!r}; choose one of {', '.join(TASKS)}")
    check_length(video, limits)
    task, boxes = request.task, (list(request.boxes_xywh) or None)
    if task == "sot" and not boxes:
        raise UserError("SOT needs a box: click two opposite corners of the target on the first frame")
    if task == "vos" and request.mask is None and not boxes:
        raise UserError("VOS needs objects: draw a box around each (two clicks) or upload a first-frame mask PNG")
    masks = request.mask if task == "vos" else None
    info = {"input": video.name, "weights": model_name, "classes": list(request.classes) if request.classes else None,
            "thresholds": dict(request.thresholds)}
    if task == "vos":
        info["init"] = "mask" if masks is not None else "boxes"
    if task in ("sot", "vos") and masks is None:
        info["boxes_xywh"] = [list(map(float, b)) for b in boxes]
    formats = ("video", *(f for f in DEFAULT_FORMATS[task] if f != "video"))
    report = None if progress is None else (lambda n, total: progress(n, max(total or n, n)))
    try:
        run = unicorn.track_to_folder(
            video.path, out, task, model=model, boxes=boxes if masks is None and task in ("sot", "vos") else None,
            masks=masks, classes=request.classes, settings=dict(request.thresholds), formats=formats,
            max_frames=limits.max_frames, progress=report, info=info, video_name=VIDEO_NAME, fourcc="VP80",
            corrections=request.corrections if task in ("sot", "vos") else None)
    except UserError as exc:
        raise UserError(_friendly(exc, video.path, video.name)) from None
    run.summary["truncated_at_limit"] = run.summary["truncated"]
    archive = _zip(out, f"{Path(video.name).stem or 'video'}_{task}_results.zip")
    return RunResult(out, run.files["video"], archive, run.summary)


def read_frame(video: VideoInfo, index: int) -> np.ndarray:
    """Frame ``index`` (0-based) of a checked video, (H, W, 3) uint8 BGR.

    Raises:
        UserError: the video has fewer frames.
    """
    for i, frame in enumerate(open_video(video.path)):
        if i == index:
            return frame
    raise UserError(f"{video.name} has no frame {index}; it ends before")


def new_run_folder(root: Path, max_age_s: float = 3600.0) -> Path:
    """A fresh folder name under ``root`` (not created); folders older than ``max_age_s`` are removed."""
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for old in root.iterdir():
        try:
            if old.is_dir() and now - old.stat().st_mtime > max_age_s:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # another session removed it first
            pass
    return Path(tempfile.mkdtemp(prefix="run-", dir=root)) / "results"
