"""Draw tracking results (boxes, ids, class names, translucent masks, trails) and write a video."""

from __future__ import annotations

import colorsys
import errno
import shutil
import warnings
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..errors import UserError
from ..types import FrameResult
from ._output import ensure_new, finish_partial, partial_path

# (fourcc, file suffix) tried after the requested codec
_FALLBACK_CODECS = (("mp4v", ".mp4"), ("MJPG", ".avi"))
# FourCCs written as a fragmented MP4 with PyAV when it is installed (codec name in FFmpeg)
_FRAGMENTED = {"mp4v": "mpeg4"}


class FragmentedMp4:
    """An MPEG-4 video written with PyAV as one fragment per frame, each flushed to disk: a run that is
    killed (even with SIGKILL) leaves a file that opens and holds every frame written before the last.

    Same calls as ``cv2.VideoWriter`` (``isOpened``, ``write``, ``release``).
    """

    def __init__(self, path: Path, codec: str, fps: float, size: tuple[int, int]) -> None:
        import av  # installed with the package; without it OpenCV writes the video (unreadable if killed)

        self._av = av
        self._out = av.open(str(path), "w", format="mp4",
                            options={"movflags": "frag_every_frame+empty_moov+default_base_moof",
                                     "flush_packets": "1"})
        try:
            self._stream = self._out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
            self._stream.width, self._stream.height = size
            self._stream.pix_fmt = "yuv420p"
            self._stream.bit_rate = max(1_000_000, int(0.2 * size[0] * size[1] * fps))
        except Exception:
            self._out.close()
            raise

    def isOpened(self) -> bool:  # noqa: N802 - cv2.VideoWriter's name
        return True

    def write(self, image_bgr: np.ndarray) -> None:
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image_bgr), format="bgr24")
        for packet in self._stream.encode(frame):
            self._out.mux(packet)

    def release(self) -> None:
        try:
            for packet in self._stream.encode():
                self._out.mux(packet)
        finally:
            self._out.close()


def _video_writer(path: Path, fourcc: str, fps: float, size: tuple[int, int]):
    """A fragmented MP4 (PyAV) for ``mp4v`` in ``.mp4`` when PyAV can open one, else ``cv2.VideoWriter``."""
    if path.suffix.lower() == ".mp4" and fourcc in _FRAGMENTED:
        try:
            return FragmentedMp4(path, _FRAGMENTED[fourcc], fps, size)
        except Exception:  # noqa: BLE001 - no PyAV, or its FFmpeg lacks the codec: OpenCV writes it
            path.unlink(missing_ok=True)
    return cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)


LOST_COLOR = (160, 160, 160)  # BGR grey of a lost target's held box


def track_color(track_id: int) -> tuple[int, int, int]:
    """A distinct, stable BGR colour per track id (golden-ratio hue steps)."""
    hue = (int(track_id) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def annotate_frame(
    frame_bgr: np.ndarray,
    result: FrameResult | None,
    *,
    class_names: Sequence[str] | None = None,
    trails: dict[int, deque] | None = None,
    mask_alpha: float = 0.5,
    show_scores: bool = True,
) -> np.ndarray:
    """Draw one frame's results on a copy of the frame.

    Args:
        frame_bgr: (H, W, 3) uint8 BGR image.
        result: the frame's tracks (None: nothing drawn).
        class_names: names indexed by ``class_ids`` (None: no class names).
        trails: track id -> recent box centres (x, y) to draw as polylines.
        mask_alpha: opacity of the mask overlay in [0, 1].
        show_scores: append the score to each label.

    Returns:
        (H, W, 3) uint8 annotated image.
    """
    out = np.ascontiguousarray(frame_bgr, dtype=np.uint8).copy()
    if result is None:
        return out
    if result.masks is not None and len(result):
        _draw_masks(out, result, mask_alpha)
    for tid, points in (trails or {}).items():
        if len(points) > 1:
            pts = np.round(np.asarray(points)).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(out, [pts], False, track_color(tid), 2, cv2.LINE_AA)
    thick = max(1, round(min(out.shape[:2]) / 300))
    for i in range(len(result)):
        tid, color = int(result.track_ids[i]), track_color(int(result.track_ids[i]))
        state = str(result.states[i]) if result.states is not None else "tracked"
        x1, y1, x2, y2 = (int(round(v)) for v in result.boxes_xyxy[i])
        if state == "tracked":
            cv2.rectangle(out, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        else:  # uncertain: dashed in the track's colour; lost: the held box dashed in grey
            color = color if state == "uncertain" else LOST_COLOR
            _dashed_rectangle(out, (x1, y1), (x2, y2), color, thick)
        label = str(tid) if state == "tracked" else f"{tid} {state}"
        cls = int(result.class_ids[i])
        if class_names is not None and 0 <= cls < len(class_names):
            label += f" {class_names[cls]}"
        if show_scores and state != "lost":
            label += f" {float(result.scores[i]):.2f}"
        _draw_label(out, label, (x1, y1), color)
    return out


def _dashed_rectangle(img: np.ndarray, p1: tuple[int, int], p2: tuple[int, int], color: tuple[int, int, int],
                      thick: int, dash: int = 8) -> None:
    """A rectangle drawn in dashes of ``dash`` pixels (uncertain and lost targets)."""
    (x1, y1), (x2, y2) = p1, p2
    for a, b in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
        for start in range(0, max(length, 1), 2 * dash):
            t0, t1 = start / max(length, 1), min(start + dash, length) / max(length, 1)
            q0 = (round(a[0] + (b[0] - a[0]) * t0), round(a[1] + (b[1] - a[1]) * t0))
            q1 = (round(a[0] + (b[0] - a[0]) * t1), round(a[1] + (b[1] - a[1]) * t1))
            cv2.line(img, q0, q1, color, thick, cv2.LINE_AA)


def _draw_masks(img: np.ndarray, result: FrameResult, alpha: float) -> None:
    overlay = img.copy()
    covered = np.zeros(img.shape[:2], dtype=bool)
    lost = np.zeros(len(result), bool) if result.states is None else np.asarray(result.states) == "lost"
    for i in np.argsort(-result.track_ids):  # lower ids painted last, so they win overlaps
        if lost[i]:  # a held mask is outlined only, never painted as if it were found
            continue
        m = result.masks[i]
        overlay[m] = track_color(int(result.track_ids[i]))
        covered |= m
    blended = cv2.addWeighted(img, 1.0 - alpha, overlay, alpha, 0.0)
    img[covered] = blended[covered]
    for i in range(len(result)):
        mask = result.masks[i].astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        color = LOST_COLOR if lost[i] else track_color(int(result.track_ids[i]))
        cv2.drawContours(img, contours, -1, color, 1, cv2.LINE_AA)


def _draw_label(img: np.ndarray, text: str, corner: tuple[int, int], color: tuple[int, int, int]) -> None:
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, max(0.4, min(img.shape[:2]) / 1000)
    (tw, th), base = cv2.getTextSize(text, font, scale, 1)
    x, y = max(corner[0], 0), max(corner[1], th + base)
    cv2.rectangle(img, (x, y - th - base), (x + tw, y), color, -1)
    luma = 0.114 * color[0] + 0.587 * color[1] + 0.299 * color[2]
    ink = (0, 0, 0) if luma > 140 else (255, 255, 255)
    cv2.putText(img, text, (x, y - base), font, scale, ink, 1, cv2.LINE_AA)


class AnnotatedVideoWriter:
    """Write frames with their tracking results drawn on top to a video file.

    The file opens on the first frame (its size fixes the video size). The requested codec
    (``mp4v`` by default) is tried first, then ``mp4v`` in ``.mp4`` and ``MJPG`` in ``.avi``;
    a fallback emits a warning and ``self.path`` names the file actually written. Until ``close``
    the video is ``name.partial.mp4``. ``mp4v`` in ``.mp4`` is written with PyAV as a fragmented MP4
    (:class:`FragmentedMp4`), so a killed run's ``name.partial.mp4`` still opens and holds its frames;
    other codecs (OpenCV) leave a file that may not open, under its ``.partial`` name.

    Args:
        path: output video file (``.mp4``).
        fps: frames per second of the output.
        overwrite: replace an existing file.
        class_names: names indexed by ``class_ids`` for the labels.
        trail_length: box-centre history drawn per track, in frames (0: no trails).
        mask_alpha: opacity of the mask overlay.
        fourcc: preferred FourCC code.
    """

    def __init__(self, path: str | Path, fps: float = 30.0, *, overwrite: bool = False,
                 class_names: Sequence[str] | None = None, trail_length: int = 30, mask_alpha: float = 0.5,
                 fourcc: str = "mp4v") -> None:
        self.path = ensure_new(Path(path), overwrite)
        self.fps, self.overwrite, self.class_names = float(fps), overwrite, class_names
        self.trail_length, self.mask_alpha, self.fourcc = trail_length, mask_alpha, fourcc
        self.frames_written = 0
        self.partial = partial_path(self.path)  # the file while it is written; renamed to ``path`` by close
        self._writer: cv2.VideoWriter | FragmentedMp4 | None = None
        self._size: tuple[int, int] | None = None  # (width, height)
        self._trails: dict[int, deque] = {}
        self._last_seen: dict[int, int] = {}

    def write(self, frame_bgr: np.ndarray, result: FrameResult | None = None) -> np.ndarray:
        """Annotate one (H, W, 3) uint8 BGR frame, append it to the video and return it."""
        frame_bgr = np.asarray(frame_bgr)
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
            raise ValueError(f"frame_bgr must have shape (H, W, 3); got {frame_bgr.shape}")
        size = (frame_bgr.shape[1], frame_bgr.shape[0])
        if self._writer is None:
            self._open(size)
        elif size != self._size:
            raise ValueError(f"frame size {size} differs from the video size {self._size} (width, height)")
        if result is not None and self.trail_length > 0:
            self._update_trails(result)
        image = annotate_frame(frame_bgr, result, class_names=self.class_names, trails=self._trails,
                               mask_alpha=self.mask_alpha)
        pad_h, pad_w = image.shape[0] % 2, image.shape[1] % 2
        if pad_h or pad_w:  # most encoders need even sizes and would crop otherwise
            image_out = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE)
        else:
            image_out = image
        silent = isinstance(self._writer, cv2.VideoWriter)  # PyAV raises ENOSPC itself; OpenCV drops the frame
        if silent and shutil.disk_usage(self.partial.parent).free < image_out.nbytes:
            raise OSError(errno.ENOSPC, f"no space left for frame {self.frames_written} of {self.path.name}",
                          str(self.partial))
        self._writer.write(image_out)
        self.frames_written += 1
        return image

    def _update_trails(self, result: FrameResult) -> None:
        for tid, box in zip(result.track_ids.tolist(), result.boxes_xyxy, strict=True):
            centre = ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)
            self._trails.setdefault(tid, deque(maxlen=self.trail_length)).append(centre)
            self._last_seen[tid] = self.frames_written
        for tid in [t for t, f in self._last_seen.items() if self.frames_written - f > self.trail_length]:
            del self._trails[tid], self._last_seen[tid]  # bounded memory on long videos

    def _open(self, size: tuple[int, int]) -> None:
        tried = []
        for fourcc, suffix in ((self.fourcc, self.path.suffix), *_FALLBACK_CODECS):
            path = self.path.with_suffix(suffix) if suffix else self.path
            if (fourcc, path) in tried or (path != self.path and path.exists() and not self.overwrite):
                continue
            tried.append((fourcc, path))
            even = (size[0] + size[0] % 2, size[1] + size[1] % 2)
            partial = partial_path(path)
            writer = _video_writer(partial, fourcc, self.fps, even)
            if writer.isOpened():
                if (fourcc, path) != tried[0]:
                    warnings.warn(f"codec {self.fourcc!r} is not available for {self.path}; wrote {path} "
                                  f"with {fourcc!r} instead", RuntimeWarning, stacklevel=3)
                self._writer, self._size, self.path, self.fourcc = writer, size, path, fourcc
                self.partial = partial
                return
            writer.release()
            partial.unlink(missing_ok=True)  # a name of our own
        raise UserError(
            f"Could not open a video writer for {self.path} (tried {', '.join(f for f, _ in tried)}); "
            f"install an OpenCV build with FFmpeg (pip install opencv-python-headless) or write PNGs instead."
        )

    def close(self) -> None:
        """Finish the video file and give it its final name (idempotent).

        Raises:
            OSError: (ENOSPC) the encoder could not finish the file (OpenCV does not report a full disk
                itself); the incomplete file stays under its ``.partial`` name.
        """
        if self._writer is None:
            return
        try:
            self._writer.release()
        finally:
            self._writer = None
        if self.frames_written == 0:  # refused its first frame: no video
            self.partial.unlink(missing_ok=True)
            return
        check = cv2.VideoCapture(str(self.partial))
        readable = check.isOpened() and check.read()[0]
        check.release()
        if not readable:
            raise OSError(errno.ENOSPC, f"the video encoder could not finish {self.path.name} after "
                                        f"{self.frames_written} frames (is the disk full?)", str(self.partial))
        finish_partial(self.partial, self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
