"""Square search regions of a frame, each with its own scale and place (SOT's search region, the
detector's view of a target)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from ..preprocess import PAD_VALUE


@dataclass
class Crop:
    """A square search region: input pixel = (frame pixel - origin) * scale."""

    scale: float
    origin: np.ndarray  # (x0, y0) frame pixels
    side: int  # input pixels

    def image(self, frame: np.ndarray) -> np.ndarray:
        """(side, side, 3) uint8 crop of a BGR frame (outside the frame: grey)."""
        s, (x0, y0) = self.scale, self.origin
        warp = np.array([[s, 0, -s * x0], [0, s, -s * y0]], np.float64)
        return cv2.warpAffine(frame, warp, (self.side, self.side), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(PAD_VALUE,) * 3)

    def to_input(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        return (np.asarray(boxes_xyxy, np.float64) - np.tile(self.origin, 2)) * self.scale

    def to_frame(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        return np.asarray(boxes_xyxy, np.float64) / self.scale + np.tile(self.origin, 2)

    def cell_positions(self, grid: tuple[int, int]) -> torch.Tensor:
        """(h*w, 2) frame-pixel centres of the crop's stride-8 cells."""
        h, w = grid
        ys, xs = np.mgrid[:h, :w]
        pos = np.stack([(xs.ravel() + 0.5) * 8 / self.scale + self.origin[0],
                        (ys.ravel() + 0.5) * 8 / self.scale + self.origin[1]], 1)
        return torch.from_numpy(pos).float()


def search_crop(box_xyxy: np.ndarray, frame_hw: tuple[int, int], side: int, context: float,
                max_zoom: float = 4.0) -> Crop:
    """The crop centred on a box whose side is ``context`` x the box's geometric mean size.

    It is never more enlarged than ``max_zoom`` and never wider than needed to hold the whole frame
    (then it is centred on the frame).
    """
    x1, y1, x2, y2 = np.asarray(box_xyxy, np.float64)
    size = max(np.sqrt(max(x2 - x1, 1.0) * max(y2 - y1, 1.0)), 1.0)
    h0, w0 = frame_hw
    whole = side / max(h0, w0)  # the scale that holds the whole frame
    scale = min(max(side / (context * size), whole), max_zoom)
    centre = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    if scale <= whole + 1e-9:
        centre = np.array([w0 / 2, h0 / 2])
    return Crop(scale, centre - side / (2 * scale), side)
