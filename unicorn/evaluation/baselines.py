"""Baseline trackers that the model card compares the model with, on the same data and metrics.

* ``held_boxes`` / ``held_masks``: the first-frame box (SOT) or mask (VOS) repeated on every frame.
* ``FlowMaskPropagation``: VOS by dense optical flow: each new frame's mask is the previous mask
  warped backwards with Farneback flow (from the new frame to the previous one), thresholded at 0.5.
* OpenCV's CSRT and KCF single-object trackers (``run_opencv_trackers``). They live in
  ``opencv-contrib``, whose ``cv2`` package clashes with the ``opencv-python`` packages this project
  installs, so contrib is installed on its own into a cache folder (``ensure_opencv_contrib``) and
  the trackers run in a subprocess whose ``PYTHONPATH`` puts that folder first.

Run as a script (``python unicorn/evaluation/baselines.py``), this file is that subprocess: it reads
one JSON job from stdin and imports only numpy and cv2 (whichever ``cv2`` comes first on the path).
Job: ``{"tracker": "csrt"|"kcf", "threads": 2, "sequences": [{"name", "frames": [paths],
"boxes": [[x, y, w, h], ...]}]}``, or ``{"check": true}``. Output: JSON lines, ``{"frame": i}`` after
each frame (progress) and finally ``{"boxes": {name: (K, T, 4) list}}``. A failed update keeps the
previous box.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

OPENCV_TRACKERS = {"csrt": "TrackerCSRT", "kcf": "TrackerKCF"}
CONTRIB_PACKAGE = "opencv-contrib-python-headless"
FLOW_THRESHOLD = 0.5
# cv2.calcOpticalFlowFarneback(prev, next, flow, pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags)
FARNEBACK_PARAMS = (0.5, 3, 15, 3, 5, 1.2, 0)


def held_boxes(first_xywh: Sequence[float], num_frames: int) -> np.ndarray:
    """(T, 4) boxes: the first-frame box on every frame."""
    return np.repeat(np.asarray(first_xywh, np.float64).reshape(1, 4), num_frames, axis=0)


def held_masks(first_mask: np.ndarray, num_frames: int) -> list[np.ndarray]:
    """T masks: the first-frame mask on every frame (the same array, not copies)."""
    mask = np.asarray(first_mask, bool)
    return [mask] * num_frames


def flow_warp_mask(prev_gray: np.ndarray, cur_gray: np.ndarray, prev_mask: np.ndarray,
                   threshold: float = FLOW_THRESHOLD) -> np.ndarray:
    """The previous mask moved onto the current frame by backward warping.

    The Farneback flow is computed from the current frame to the previous one, so every pixel p of
    the current frame reads the previous mask at p + flow(p) (bilinear); pixels at or above
    ``threshold`` are foreground.

    Args:
        prev_gray, cur_gray: (H, W) uint8 grey frames.
        prev_mask: (H, W) bool mask of the previous frame.
        threshold: foreground threshold of the warped (soft) mask.

    Returns:
        (H, W) bool mask of the current frame.
    """
    flow = cv2.calcOpticalFlowFarneback(cur_gray, prev_gray, None, *FARNEBACK_PARAMS)
    h, w = cur_gray.shape
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(np.asarray(prev_mask, np.float32), grid_x + flow[..., 0], grid_y + flow[..., 1],
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return warped >= threshold


class FlowMaskPropagation:
    """Streaming optical-flow VOS baseline: ``init(frame, mask)`` then ``step(frame)`` per frame."""

    def __init__(self, threshold: float = FLOW_THRESHOLD) -> None:
        self.threshold = threshold
        self._gray: np.ndarray | None = None
        self._mask: np.ndarray | None = None

    @staticmethod
    def _grey(frame_bgr: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY) if frame_bgr.ndim == 3 else frame_bgr

    def init(self, frame_bgr: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self._gray, self._mask = self._grey(frame_bgr), np.asarray(mask, bool)
        return self._mask

    def step(self, frame_bgr: np.ndarray) -> np.ndarray:
        if self._gray is None:
            raise RuntimeError("call init(frame, mask) before step(frame)")
        gray = self._grey(frame_bgr)
        self._mask = flow_warp_mask(self._gray, gray, self._mask, self.threshold)
        self._gray = gray
        return self._mask


# --------------------------------------------------------------------------------------------------
# OpenCV contrib trackers (parent side)


def contrib_dir() -> Path:
    """Folder that holds the isolated opencv-contrib install (``<unicorn cache>/opencv-contrib``)."""
    from unicorn.hub import cache_dir

    return cache_dir() / "opencv-contrib"


def contrib_install_command(target: Path | None = None) -> list[str]:
    """The pip command that installs opencv-contrib into ``target`` without touching the environment."""
    target = target or contrib_dir()
    return [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(target), CONTRIB_PACKAGE]


def _worker_env(target: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(target)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _run_worker(job: dict, target: Path, on_line: Callable[[dict], None] | None = None) -> dict:
    """Run this file as the worker on ``job``; returns its last JSON line."""
    from unicorn.errors import UserError

    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve())], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_worker_env(target))
    proc.stdin.write(json.dumps(job))
    proc.stdin.close()
    last: dict = {}
    for line in proc.stdout:
        if not line.strip():
            continue
        last = json.loads(line)
        if on_line is not None:
            on_line(last)
    err = proc.stderr.read()
    if proc.wait() != 0 or "error" in last:
        detail = last.get("error") or err.strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"the OpenCV baseline worker failed ({detail if isinstance(detail, str) else detail[0]}); "
                        f"reinstall opencv-contrib with: {' '.join(contrib_install_command(target))}")
    return last


def ensure_opencv_contrib(install: bool = True, log: Callable[[str], None] | None = None) -> dict | None:
    """Make sure the isolated opencv-contrib is there (installing it once when allowed) and usable.

    Args:
        install: run pip when it is missing; False returns None instead.
        log: where to print what is happening (default: stderr).

    Returns:
        ``{"path", "version", "constructors": {kind: name}}``, or None when it is missing and
        ``install`` is False.

    Raises:
        UserError: pip failed, or the installed OpenCV lacks the CSRT / KCF trackers; the message
            gives the exact command to run by hand.
    """
    from unicorn.errors import UserError

    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    target = contrib_dir()
    command = contrib_install_command(target)
    if not (target / "cv2").is_dir():
        if not install:
            return None
        log(f"OpenCV CSRT/KCF need {CONTRIB_PACKAGE}, whose cv2 clashes with the opencv-python packages of this "
            f"environment; installing it once, on its own, into {target} (about 70 MB):\n  {' '.join(command)}")
        if subprocess.run(command).returncode != 0 or not (target / "cv2").is_dir():
            raise UserError(f"installing {CONTRIB_PACKAGE} failed; run `{' '.join(command)}` yourself "
                            "or pass --skip-baselines")
    info = _run_worker({"check": True}, target)
    missing = [k for k, v in info.get("constructors", {}).items() if v is None]
    if missing or not str(info.get("file", "")).startswith(str(target)):
        raise UserError(f"the OpenCV in {target} ({info.get('version')}, {info.get('file')}) has no "
                        f"{', '.join(missing) or 'contrib trackers'}; reinstall with `{' '.join(command)}`")
    return {"path": str(target), "version": info["version"], "constructors": info["constructors"]}


def run_opencv_trackers(kind: str, sequences: Sequence[dict], threads: int = 2,
                        progress: Callable[[], None] | None = None) -> dict[str, np.ndarray]:
    """Track boxes with OpenCV CSRT or KCF in the isolated contrib install.

    Args:
        kind: "csrt" or "kcf".
        sequences: ``[{"name", "frames": [image paths], "boxes": (K, 4) first-frame x, y, w, h}]``.
        threads: OpenCV threads in the worker.
        progress: called once per processed frame.

    Returns:
        ``{name: (K, T, 4) x, y, w, h}``; frame 0 holds the initial boxes.
    """
    if kind not in OPENCV_TRACKERS:
        raise ValueError(f"unknown OpenCV tracker {kind!r}; choose from {sorted(OPENCV_TRACKERS)}")
    job = {"tracker": kind, "threads": int(threads),
           "sequences": [{"name": s["name"], "frames": [str(p) for p in s["frames"]],
                          "boxes": np.asarray(s["boxes"], np.float64).reshape(-1, 4).tolist()} for s in sequences]}

    def on_line(msg: dict) -> None:
        if "frame" in msg and progress is not None:
            progress()

    out = _run_worker(job, contrib_dir(), on_line)
    return {name: np.asarray(boxes, np.float64).reshape(len(boxes), -1, 4) for name, boxes in out["boxes"].items()}


# --------------------------------------------------------------------------------------------------
# OpenCV contrib trackers (worker side: numpy and cv2 only)


def _constructor(kind: str):
    """The factory of an OpenCV tracker across API generations (``cv2.TrackerX_create`` in 5.x,
    ``cv2.TrackerX.create`` in 4.5+, ``cv2.legacy.TrackerX_create``), or None."""
    name = OPENCV_TRACKERS[kind]
    candidates = [getattr(cv2, f"{name}_create", None), getattr(getattr(cv2, name, None), "create", None)]
    legacy = getattr(cv2, "legacy", None)
    if legacy is not None:
        candidates.append(getattr(legacy, f"{name}_create", None))
    return next((c for c in candidates if callable(c)), None)


def _constructor_name(kind: str) -> str | None:
    fn = _constructor(kind)
    return None if fn is None else getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))


def _int_box(box: Sequence[float], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A box rounded to whole pixels inside the image, at least 1x1 (what the OpenCV trackers accept)."""
    h, w = size
    x1 = int(np.clip(np.floor(box[0]), 0, w - 1))
    y1 = int(np.clip(np.floor(box[1]), 0, h - 1))
    x2 = int(np.clip(np.ceil(box[0] + box[2]), x1 + 1, w))
    y2 = int(np.clip(np.ceil(box[1] + box[3]), y1 + 1, h))
    return x1, y1, x2 - x1, y2 - y1


def _track_sequence(kind: str, seq: dict, emit: Callable[[dict], None]) -> list:
    create = _constructor(kind)
    boxes = [list(map(float, b)) for b in seq["boxes"]]
    out = [[b] for b in boxes]
    trackers = []
    for t, path in enumerate(seq["frames"]):
        frame = cv2.imread(path, cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f"cannot read image {path}")
        if t == 0:
            for box in boxes:
                tracker = create()
                tracker.init(frame, _int_box(box, frame.shape[:2]))
                trackers.append(tracker)
        else:
            for k, tracker in enumerate(trackers):
                try:
                    ok, box = tracker.update(frame)
                except cv2.error:
                    ok, box = False, None
                out[k].append([float(v) for v in box] if ok and box is not None and box[2] > 0 and box[3] > 0
                              else out[k][-1])
        emit({"frame": t})
    return out


def _worker_main() -> int:
    def emit(msg: dict) -> None:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()

    job = json.loads(sys.stdin.read())
    if job.get("check"):
        emit({"version": cv2.__version__, "file": cv2.__file__,
              "constructors": {k: _constructor_name(k) for k in OPENCV_TRACKERS}})
        return 0
    kind = job["tracker"]
    if _constructor(kind) is None:
        emit({"error": f"this OpenCV ({cv2.__version__} at {cv2.__file__}) has no {OPENCV_TRACKERS[kind]}"})
        return 1
    cv2.setNumThreads(int(job.get("threads", 2)))
    results = {seq["name"]: _track_sequence(kind, seq, emit) for seq in job["sequences"]}
    emit({"boxes": results})
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main())
