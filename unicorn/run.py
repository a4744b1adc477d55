"""Run a tracker over frames into result writers: the loop shared by ``unicorn track`` and the demo."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .evaluation import writers as W
from .outputs import FORMATS, OUTPUT_NAMES
from .trackers.base import BaseTracker


def open_writers(out: Path, formats: Sequence[str], fps: float, class_names: Sequence[str] | None = None,
                 video_name: str | None = None, fourcc: str = "mp4v") -> list:
    """Create one writer per requested format in ``out`` (the annotated video first when asked for).

    Args:
        out: result folder (must exist; writers never overwrite files).
        formats: subset of :data:`FORMATS`.
        fps: frame rate of the annotated video.
        class_names: names for the video's labels.
        video_name: file name of the annotated video (default ``annotated.mp4``).
        fourcc: codec of the annotated video.
    """
    makers = {
        "video": lambda: W.AnnotatedVideoWriter(out / (video_name or OUTPUT_NAMES["video"]), fps,
                                                class_names=class_names, fourcc=fourcc),
        "mot": lambda: W.MOTChallengeWriter(out / OUTPUT_NAMES["mot"]),
        "mots": lambda: W.MOTSWriter(out / OUTPUT_NAMES["mots"]),
        "davis": lambda: W.DavisPaletteWriter(out / OUTPUT_NAMES["davis"]),
        "pytracking": lambda: W.PyTrackingWriter(out / OUTPUT_NAMES["pytracking"]),
        "json": lambda: W.CocoTrackWriter(out / OUTPUT_NAMES["json"]),
    }
    return [makers[f]() for f in FORMATS if f in formats]


def close_writers(writers: list) -> Exception | None:
    """Close every writer (finishing json arrays and videos); returns the first error instead of stopping at it."""
    problem = None
    for wr in writers:
        try:
            wr.close()
        except Exception as exc:  # noqa: BLE001 - the others must still be closed
            problem = problem or exc
    return problem


def run_tracker(tracker: BaseTracker, frames: Iterable[np.ndarray], prompts: dict[str, Any], writers: list,
                max_frames: int | None = None, on_frame: Callable[[int], None] | None = None,
                corrections: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Track ``frames`` (``init`` on the first) into ``writers``, closing them all on every exit path.

    Args:
        tracker: a fresh or reset tracker.
        frames: BGR uint8 frames, read one at a time.
        prompts: keyword arguments of the tracker's ``init`` (boxes, masks).
        writers: from :func:`open_writers`.
        max_frames: stop after this many frames.
        on_frame: called with the number of frames done after each frame (progress bars).
        corrections: frame index (0-based, >= 1) -> keyword arguments of the tracker's ``correct``
            (``boxes=``/``masks=``, ``ids=``), called on that frame instead of ``step``.

    Returns:
        Counts: frames, tracks, track_ids, seconds, fps, truncated (stopped at ``max_frames``).
    """
    n, ids, truncated, t0, failed = 0, set(), False, time.perf_counter(), True
    try:
        with torch.inference_mode():
            for frame in frames:
                if max_frames is not None and n >= max_frames:
                    truncated = True
                    break
                if n == 0:
                    result = tracker.init(frame, **prompts)
                elif corrections and n in corrections:
                    result = tracker.correct(frame, **corrections[n])
                else:
                    result = tracker.step(frame)
                for wr in writers:
                    if isinstance(wr, W.AnnotatedVideoWriter):
                        wr.write(frame, result)
                    else:
                        wr.write(result)
                ids.update(result.track_ids.tolist())
                n += 1
                if on_frame is not None:
                    on_frame(n)
        failed = False
    finally:
        problem = close_writers(writers)  # every writer, even when one fails: each finishes what it can
        if problem is not None and not failed:
            raise problem
    seconds = time.perf_counter() - t0
    return {"frames": n, "tracks": len(ids), "track_ids": sorted(int(i) for i in ids), "seconds": round(seconds, 2),
            "fps": round(n / seconds, 2) if seconds else None, "truncated": truncated}
