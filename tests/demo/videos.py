"""Small videos and broken files made by the demo tests (nothing is downloaded)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np


def square_box(k: int, size: tuple[int, int], step: int = 4) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the moving square in frame ``k`` of :func:`make_video`."""
    h, w = size
    side = max(8, min(h, w) // 4)
    return 8 + step * k, h // 2 - side // 2, side, side


def make_video(path: Path, frames: int, size: tuple[int, int] = (96, 128), fps: float = 8.0) -> Path:
    """An mp4v clip of a bright square moving right over a dark gradient.

    Args:
        path: output ``.mp4``.
        frames: number of frames.
        size: (H, W).
        fps: frame rate written in the container.
    """
    h, w = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), "OpenCV cannot write mp4v here"
    background = np.repeat(np.linspace(20, 80, w, dtype=np.uint8)[None, :, None], h, 0).repeat(3, 2)
    for k in range(frames):
        img = background.copy()
        x, y, bw, bh = square_box(k, size)
        img[y:y + bh, x:x + bw] = (60, 200, 240)
        writer.write(img)
    writer.release()
    return path


def make_text_as_mp4(path: Path) -> Path:
    """A text file named like a video."""
    path.write_text("this is a text file, not a video\n" * 20)
    return path


def make_empty(path: Path) -> Path:
    """A zero-byte file."""
    path.write_bytes(b"")
    return path
