"""First-frame prompts for the demo: boxes drawn by two clicks, typed boxes, mask PNGs, and their overlay."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from unicorn.errors import UserError
from unicorn.evaluation.video_writer import track_color

MIN_BOX_PIXELS = 2.0


@dataclass
class Prompts:
    """What the user marked on the first frame.

    Attributes:
        boxes_xywh: boxes x, y, w, h in first-frame pixels, in drawing order (object ids 1, 2, ...).
        pending: the first corner of a box being drawn (x, y), or None.
        mask: (H, W) int index map uploaded for VOS (0 = background), or None.
    """

    boxes_xywh: list[tuple[float, float, float, float]] = field(default_factory=list)
    pending: tuple[float, float] | None = None
    mask: np.ndarray | None = None


def box_from_corners(a: tuple[float, float], b: tuple[float, float], size: tuple[int, int]
                     ) -> tuple[float, float, float, float]:
    """The box spanned by two clicked corners (any order), clipped to the frame.

    Args:
        a, b: (x, y) corners in pixels.
        size: (H, W) of the frame.

    Returns:
        (x, y, w, h) in pixels.

    Raises:
        UserError: the corners are closer than ``MIN_BOX_PIXELS`` in x or y.
    """
    h0, w0 = size
    x1, x2 = sorted((float(np.clip(a[0], 0, w0)), float(np.clip(b[0], 0, w0))))
    y1, y2 = sorted((float(np.clip(a[1], 0, h0)), float(np.clip(b[1], 0, h0))))
    if x2 - x1 < MIN_BOX_PIXELS or y2 - y1 < MIN_BOX_PIXELS:
        raise UserError(f"the two corners ({a[0]:.0f}, {a[1]:.0f}) and ({b[0]:.0f}, {b[1]:.0f}) give a box "
                        f"thinner than {MIN_BOX_PIXELS:g} pixels; click two opposite corners of the object")
    return x1, y1, x2 - x1, y2 - y1


def format_boxes(boxes_xywh: list[tuple[float, float, float, float]]) -> str:
    """One ``x, y, w, h`` line per box (integers where exact)."""
    return "\n".join(", ".join(f"{v:g}" for v in (round(c, 1) for c in box)) for box in boxes_xywh)


def parse_boxes(text: str, size: tuple[int, int]) -> list[tuple[float, float, float, float]]:
    """Parse typed boxes, one ``x, y, w, h`` per line (commas or spaces).

    Args:
        text: the text; empty lines are ignored.
        size: (H, W) of the frame the boxes must overlap.

    Raises:
        UserError: a line is not four numbers, a box has no area or lies outside the frame.
    """
    h0, w0 = size
    out = []
    for n, line in enumerate((ln.strip() for ln in text.splitlines()), 1):
        if not line:
            continue
        parts = [p for p in re.split(r"[,\s]+", line) if p]
        try:
            x, y, w, h = (float(p) for p in parts)
        except ValueError:
            raise UserError(f"box line {n} {line!r} is not four numbers x, y, w, h (pixels)") from None
        if not np.isfinite([x, y, w, h]).all() or w <= 0 or h <= 0:
            raise UserError(f"box line {n} {line!r} needs a positive width and height")
        if x >= w0 or y >= h0 or x + w <= 0 or y + h <= 0:
            raise UserError(f"box line {n} {line!r} lies outside the {w0}x{h0} frame")
        out.append((x, y, w, h))
    return out


def read_mask_png(path: str | Path, size: tuple[int, int]) -> np.ndarray:
    """Read a first-frame mask: an index/palette PNG (0 = background) or an RGB drawing (one colour per object).

    Args:
        path: the image file.
        size: (H, W) of the first frame; the mask must match it.

    Returns:
        (H, W) int32 index map with objects numbered 1..K.

    Raises:
        UserError: not an image, wrong size, or no object in it.
    """
    p = Path(path)
    try:
        with Image.open(p) as img:
            arr = np.array(img)
    except Exception:  # noqa: BLE001 - any decoding failure is the user's file
        raise UserError(f"{p.name} is not an image; give a PNG mask (0 = background, one value per object)") from None
    if arr.ndim == 3:  # an RGB(A) drawing: every distinct non-black colour is one object
        flat = arr[..., :3].reshape(-1, 3)
        colours, inverse = np.unique(flat, axis=0, return_inverse=True)
        inverse = inverse.reshape(arr.shape[:2])
        black = np.flatnonzero((colours == 0).all(1))
        arr = inverse + 1
        if len(black):
            arr[inverse == black[0]] = 0
    h0, w0 = size
    if arr.shape != (h0, w0):
        raise UserError(f"the mask {p.name} is {arr.shape[1]}x{arr.shape[0]} but the video is {w0}x{h0}; "
                        "give a mask of the first frame's size")
    values = [v for v in np.unique(arr) if v != 0]
    if not values:
        raise UserError(f"the mask {p.name} has no object (every pixel is 0 / black)")
    if len(values) > 255:
        raise UserError(f"the mask {p.name} has {len(values)} objects; at most 255 are supported")
    out = np.zeros(arr.shape, np.int32)
    for i, v in enumerate(values, 1):
        out[arr == v] = i
    return out


def display_scale(size: tuple[int, int], smallest: int = 480, largest: int = 960) -> float:
    """Scale at which to show a frame so that its longer side is between ``smallest`` and ``largest`` pixels.

    Small frames are enlarged (easier to click), large ones reduced (lighter to send).
    """
    long_side = max(size)
    return min(max(1.0, smallest / long_side), largest / long_side)


def draw_prompts(frame_rgb: np.ndarray, prompts: Prompts, scale: float = 1.0) -> np.ndarray:
    """The first frame, resized by ``scale``, with the mask, the boxes (numbered) and a pending corner drawn on it.

    Args:
        frame_rgb: (H, W, 3) uint8 RGB frame.
        prompts: what to draw, in frame pixels.
        scale: display pixels per frame pixel.

    Returns:
        (round(H * scale), round(W * scale), 3) uint8 RGB image (a new array).
    """
    h0, w0 = frame_rgb.shape[:2]
    size = (max(1, round(w0 * scale)), max(1, round(h0 * scale)))
    img = frame_rgb.copy() if size == (w0, h0) else cv2.resize(
        frame_rgb, size, interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    thick = max(1, round(max(img.shape[:2]) / 400))
    if prompts.mask is not None:
        mask = cv2.resize(prompts.mask.astype(np.int32).astype(np.float32), size, interpolation=cv2.INTER_NEAREST)
        overlay = img.copy()
        for v in np.unique(mask):
            if v:
                overlay[mask == v] = track_color(int(v))[::-1]
        img = cv2.addWeighted(overlay, 0.5, img, 0.5, 0)
    for k, box in enumerate(prompts.boxes_xywh, 1):
        x, y, w, h = (v * scale for v in box)
        colour = track_color(k)[::-1]  # track_color is BGR
        p1, p2 = (round(x), round(y)), (round(x + w), round(y + h))
        cv2.rectangle(img, p1, p2, colour, thick, cv2.LINE_AA)
        cv2.putText(img, str(k), (p1[0] + 2, p1[1] + 12 * thick), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * thick, colour,
                    thick, cv2.LINE_AA)
    if prompts.pending is not None:
        cx, cy = round(prompts.pending[0] * scale), round(prompts.pending[1] * scale)
        size = 6 * thick
        cv2.drawMarker(img, (cx, cy), (255, 255, 0), cv2.MARKER_CROSS, 2 * size, thick, cv2.LINE_AA)
    return img
