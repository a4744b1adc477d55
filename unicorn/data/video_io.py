"""Read frames one at a time from a video file, a folder of images, a webcam or a stream URL.

Example:
    >>> with open_video("clip.mp4") as video:
    ...     print(video.fps, video.frame_count, video.size)
    ...     for frame in video:          # (H, W, 3) uint8 BGR, one at a time
    ...         ...
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from ..errors import UserError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
URL_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")
_CONVERT_HINT = "convert it to H.264 MP4 (ffmpeg -i IN -c:v libx264 OUT.mp4) or pass a folder of frames"


VIDEO_FILE_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")


def natural_key(name: str) -> list:
    """Sort key that orders ``frame2`` before ``frame10``."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _redact(url: str) -> str:
    """Hide the password of ``scheme://user:password@host`` in messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class VideoSource:
    """Frames of one video, read lazily (iterate once; use as a context manager or ``close()``).

    Attributes:
        name: what was opened (path, ``webcam:0`` or the URL without its password).
        fps: frames per second when known (files, some cameras/streams, or given), else None.
        frame_count: number of frames when known (files: container metadata, may be approximate;
            folders: exact), else None.
        size: (height, width) of the frames in pixels.
    """

    def __init__(
        self, name: str, first_frame: np.ndarray, fps: float | None, frame_count: int | None
    ) -> None:
        self.name, self.fps, self.frame_count = name, fps, frame_count
        self.size: tuple[int, int] = (int(first_frame.shape[0]), int(first_frame.shape[1]))
        self.frames_read = 0
        self._peeked: np.ndarray | None = first_frame
        self._closed = False

    def _read(self) -> np.ndarray | None:
        """Next frame after the first, or None at the end."""
        raise NotImplementedError

    def __iter__(self) -> VideoSource:
        return self

    def __next__(self) -> np.ndarray:
        if self._peeked is not None:
            frame, self._peeked = self._peeked, None
        else:
            frame = None if self._closed else self._read()
        if frame is None:
            self.close()
            raise StopIteration
        self.frames_read += 1
        return frame

    def close(self) -> None:
        """Release the file, camera or stream (idempotent)."""
        self._closed = True
        self._peeked = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.name!r}, fps={self.fps}, frame_count={self.frame_count}, "
                f"size={self.size})")


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


class CaptureSource(VideoSource):
    """Frames from ``cv2.VideoCapture`` (file, webcam or URL)."""

    def __init__(
        self, capture: cv2.VideoCapture, name: str, first_frame: np.ndarray, fps: float | None
    ) -> None:
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        super().__init__(name, first_frame, fps, count if count > 0 else None)
        self._capture = capture

    def _read(self) -> np.ndarray | None:
        ok, frame = self._capture.read()
        return _as_bgr(frame) if ok and frame is not None else None

    def close(self) -> None:
        super().close()
        self._capture.release()


class FolderSource(VideoSource):
    """Frames from image files, read in natural order."""

    def __init__(self, files: list[Path], name: str, fps: float | None) -> None:
        self._files = files
        super().__init__(name, self._load(0, None), fps, len(files))
        self._next = 1

    def _load(self, i: int, size: tuple[int, int] | None) -> np.ndarray:
        frame = cv2.imread(str(self._files[i]), cv2.IMREAD_COLOR)
        if frame is None:
            raise UserError(f"Cannot read frame {self._files[i]}: it is not an image or it is corrupt; "
                            f"remove or replace it.")
        if size is not None and frame.shape[:2] != size:
            raise UserError(f"Frame {self._files[i]} is {frame.shape[1]}x{frame.shape[0]} but earlier frames "
                            f"are {size[1]}x{size[0]}; all frames of a video must have the same size.")
        return frame

    def _read(self) -> np.ndarray | None:
        if self._next >= len(self._files):
            return None
        frame = self._load(self._next, self.size)
        self._next += 1
        return frame


def _open_capture(target: str | int, name: str, fps: float | None, fail: str, empty: str) -> CaptureSource:
    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        capture.release()
        raise UserError(fail)
    ok, frame = capture.read()
    if not ok or frame is None:
        capture.release()
        raise UserError(empty)
    if fps is None:
        reported = capture.get(cv2.CAP_PROP_FPS)
        fps = float(reported) if reported and reported > 0 and np.isfinite(reported) else None
    return CaptureSource(capture, name, _as_bgr(frame), fps)


def _open_folder(folder: Path, fps: float | None) -> FolderSource:
    entries = [p for p in folder.iterdir() if p.is_file()]
    images = [p for p in entries if p.suffix.lower() in IMAGE_SUFFIXES]
    files = sorted(images, key=lambda p: natural_key(p.name))
    if not files:
        found = " (it is empty)"
        if entries:
            found = f"; it holds {len(entries)} other file(s), e.g. {entries[0].name}"
        raise UserError(f"No frames in folder {folder}{found}. Put the frames there as "
                        f"{'/'.join(sorted(s[1:] for s in IMAGE_SUFFIXES))} images, or pass a video file.")
    return FolderSource(files, str(folder), fps)


def _no_frame_from_url(url: str, shown: str) -> str:
    """Why a URL that opened gave no frame, and what to do: a file served over HTTP differs from a live stream."""
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and Path(parts.path).suffix.lower() in VIDEO_FILE_SUFFIXES:
        return (f"{shown} opened but gave no frame: a video file read over HTTP needs its index at the start "
                f"(mp4 'faststart') and a server that answers range requests. Download it and pass the local "
                f"path, or re-encode it with `ffmpeg -i IN -movflags +faststart OUT.mp4`.")
    return (f"Stream {shown} opened but gave no frame: check that it is live and that this OpenCV build has "
            f"FFmpeg with the stream's codec.")


def open_video(source: str | Path | int, *, fps: float | None = None) -> VideoSource:
    """Open a video for frame-by-frame reading.

    Args:
        source: a video file (mp4, avi, mov, ... anything the OpenCV build decodes), a folder of
            frames (jpg/png/..., natural order), a single image, a webcam index (``0`` or ``"0"``)
            or a stream URL (``rtsp://``, ``http(s)://``, ...).
        fps: frames per second to report when the source does not know it (or to override it).

    Returns:
        A :class:`VideoSource`; iterate it for (H, W, 3) uint8 BGR frames.

    Raises:
        UserError: the source is missing, empty, not a video, or gives no frames.
    """
    if isinstance(source, bool) or not isinstance(source, str | Path | int):
        raise UserError(f"Video source must be a path, a webcam index or a URL; got {source!r}")
    text = str(source)
    if isinstance(source, int) or (isinstance(source, str) and text.isdigit() and not Path(text).exists()):
        index = int(source)
        return _open_capture(
            index, f"webcam:{index}", fps,
            fail=f"Cannot open webcam {index}: no camera with that index, or it is in use. Check that it is "
                 f"connected and free, or try another index.",
            empty=f"Webcam {index} opened but gave no frame; check that it is not in use by another program.",
        )
    if isinstance(source, str) and urlsplit(text).scheme.lower() in URL_SCHEMES:
        shown = _redact(text)
        return _open_capture(
            text, shown, fps,
            fail=f"Cannot open stream {shown}: check the address, the network and the credentials "
                 f"(and that this OpenCV build has FFmpeg).",
            empty=_no_frame_from_url(text, shown),
        )
    path = Path(source).expanduser()
    if not path.exists():
        raise UserError(f"Video not found: {path}. Check the path; a source can also be a folder of frames, "
                        f"a webcam index (0) or an rtsp:// URL.")
    if path.is_dir():
        return _open_folder(path, fps)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return FolderSource([path], str(path), fps)
    if path.stat().st_size == 0:
        raise UserError(f"Video file {path} is empty (0 bytes); re-export or re-download it.")
    return _open_capture(
        str(path), str(path), fps,
        fail=f"Cannot read {path} as a video: it is not a video, it is corrupt, or its codec is not "
             f"supported by this OpenCV build; {_CONVERT_HINT}.",
        empty=f"Video {path} has no frames (the first frame could not be decoded); {_CONVERT_HINT}.",
    )
