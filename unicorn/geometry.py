"""Boxes and masks in frame pixels: format conversions, clipping to a frame, boxes of masks and masks of boxes.

Boxes are ``(..., 4)`` arrays: ``xyxy`` is x1, y1, x2, y2 (x2, y2 exclusive for a mask's box), ``xywh`` is
x, y (top-left), width, height. Masks are ``(K, H, W)`` bool. Only numpy here: the ground floor of the package.
"""

from __future__ import annotations

import numpy as np


def _floats(boxes) -> np.ndarray:
    out = np.asarray(boxes)
    return out if out.dtype.kind == "f" else out.astype(np.float64)


def xywh_to_xyxy(boxes_xywh) -> np.ndarray:
    """(..., 4) x, y, w, h -> x1, y1, x2, y2 (float; the input's float type is kept)."""
    b = _floats(boxes_xywh)
    return np.concatenate([b[..., :2], b[..., :2] + b[..., 2:4]], -1)


def xyxy_to_xywh(boxes_xyxy) -> np.ndarray:
    """(..., 4) x1, y1, x2, y2 -> x, y, w, h (float; the input's float type is kept)."""
    b = _floats(boxes_xyxy)
    return np.concatenate([b[..., :2], b[..., 2:4] - b[..., :2]], -1)


def clip_boxes_xyxy(boxes_xyxy, size_hw: tuple[int, int]) -> np.ndarray:
    """A copy of (..., 4) xyxy boxes with every corner inside a frame of ``size_hw`` (H, W): x in [0, W],
    y in [0, H] (float; the input's float type is kept)."""
    h, w = size_hw
    out = np.array(_floats(boxes_xyxy), copy=True)
    out[..., 0::2] = out[..., 0::2].clip(0, w)
    out[..., 1::2] = out[..., 1::2].clip(0, h)
    return out


def mask_boxes_xyxy(masks: np.ndarray) -> np.ndarray:
    """Tight boxes of (K, H, W) masks as (K, 4) float64 x1, y1, x2, y2 (x2 = last column + 1, y2 = last row + 1);
    an empty mask gives an all-zero box."""
    out = np.zeros((len(masks), 4), np.float64)
    for k, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        if len(xs):
            out[k] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return out


def filled_box_masks(boxes_xywh: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Masks that fill each (x, y, w, h) box (already clipped to the frame); (K, H, W) bool.

    A box thinner than a pixel still covers one pixel.
    """
    h0, w0 = size_hw
    out = np.zeros((len(boxes_xywh), h0, w0), bool)
    for k, (x, y, w, h) in enumerate(np.asarray(boxes_xywh, np.float64)):
        x1, y1 = min(int(np.floor(x)), w0 - 1), min(int(np.floor(y)), h0 - 1)
        x2, y2 = max(int(np.ceil(x + w)), x1 + 1), max(int(np.ceil(y + h)), y1 + 1)
        out[k, y1:y2, x1:x2] = True
    return out
