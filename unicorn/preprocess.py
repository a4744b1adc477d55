"""Frames to network inputs: the one letterbox that training, tracking and the bundled detector share.

A frame is resized keeping its aspect ratio and pasted top-left on a canvas of the input size filled
with :data:`PAD_VALUE`, as upstream (YOLOX ``preproc``, and ``TrainTransform`` in training), so a model
sees the same grey border in training and at test time. No normalisation: the network takes BGR 0..255.
"""

from __future__ import annotations

import cv2
import numpy as np

PAD_VALUE = 114  # grey of the letterbox border (and of a search region outside the frame)


def letterbox(image_bgr: np.ndarray, size_hw: tuple[int, int], scale: float = 1.0) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio, paste top-left on a canvas filled with :data:`PAD_VALUE`.

    Args:
        image_bgr: (H0, W0, 3) uint8 BGR frame.
        size_hw: (H, W) network input size.
        scale: shrink the frame further by this factor (<= 1; 1 = fill the input as upstream).

    Returns:
        (H, W, 3) uint8 canvas, and the scale r (input pixels per frame pixel).
    """
    h_in, w_in = size_hw
    h0, w0 = image_bgr.shape[:2]
    r = min(h_in / h0, w_in / w0) * scale
    nh, nw = int(h0 * r), int(w0 * r)
    resized = image_bgr if (nh, nw) == (h0, w0) else cv2.resize(image_bgr, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((h_in, w_in, 3), PAD_VALUE, dtype=np.uint8)
    canvas[:nh, :nw] = resized
    return canvas, r


def network_input(image_bgr: np.ndarray, size_hw: tuple[int, int], scale: float = 1.0) -> tuple[np.ndarray, float]:
    """The :func:`letterbox` of a frame as the network takes it.

    Returns:
        (3, H, W) float32 CHW array with values 0..255, and the scale r.
    """
    canvas, r = letterbox(image_bgr, size_hw, scale)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32), r
