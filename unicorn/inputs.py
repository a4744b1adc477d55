"""Checks of what a tracker or detector is handed: frames, prompt boxes, prompt masks and track ids.

Each refuses a bad value with a :class:`~unicorn.errors.UserError` that says what was given and what is
expected. Only numpy here: the ground floor of the package.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import UserError
from .geometry import clip_boxes_xyxy, xywh_to_xyxy, xyxy_to_xywh


def check_frame(frame: Any) -> np.ndarray:
    """Validate a BGR uint8 frame; the error says what was given and what is expected."""
    if not isinstance(frame, np.ndarray):
        raise UserError(f"a frame must be a numpy array (H, W, 3) in BGR order; got {type(frame).__name__}")
    if frame.ndim == 2:
        frame = np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.shape[0] < 8 or frame.shape[1] < 8:
        raise UserError(f"a frame must have shape (H, W, 3) with H, W >= 8; got {frame.shape}")
    if frame.dtype != np.uint8:
        raise UserError(f"a frame must be uint8 (0..255); got {frame.dtype}")
    return frame


def check_boxes_xywh(boxes: Any, size: tuple[int, int]) -> np.ndarray:
    """Validate initial boxes (x, y, w, h) against the frame; returns (K, 4) float64.

    A box may extend past the border (it is clipped), but it must overlap the frame and have
    positive width and height.
    """
    try:
        arr = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"boxes must be numbers (x, y, w, h) or a list of them; got {boxes!r}") from None
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4 or len(arr) == 0:
        raise UserError(f"boxes must be (x, y, w, h) or a list of them; got shape {np.shape(boxes)}")
    h0, w0 = size
    for x, y, w, h in arr:
        if not np.isfinite([x, y, w, h]).all():
            raise UserError(f"box (x={x:g}, y={y:g}, w={w:g}, h={h:g}) holds a value that is not a finite number; "
                            "give four finite pixel values")
        if w <= 0 or h <= 0:
            raise UserError(f"box (x={x:g}, y={y:g}, w={w:g}, h={h:g}) has zero or negative size; "
                            "give a width and height of at least 1 pixel")
        if x >= w0 or y >= h0 or x + w <= 0 or y + h <= 0:
            raise UserError(f"box (x={x:g}, y={y:g}, w={w:g}, h={h:g}) lies outside the {w0}x{h0} frame; "
                            "boxes are x, y (top-left), width, height in pixels")
    return xyxy_to_xywh(clip_boxes_xyxy(xywh_to_xyxy(arr), size))


def check_masks(masks: Any, size: tuple[int, int]) -> np.ndarray:
    """Validate initial masks: an (H, W) index map (0 = background) or (K, H, W) binary masks.

    Returns: (K, H, W) bool masks, one per object, none empty.
    """
    arr = np.asarray(masks)
    h0, w0 = size
    if arr.dtype.kind not in "biuf":
        raise UserError(f"masks must be numbers (an index map or 0/1 masks); got values of type {arr.dtype}")
    if arr.ndim == 2:
        if arr.shape != (h0, w0):
            raise UserError(f"mask has size {arr.shape[1]}x{arr.shape[0]} but the frame is {w0}x{h0}; "
                            "give a mask of the first frame's size")
        ids = [v for v in mask_ids(arr) if v != 0]
        arr = np.stack([arr == v for v in ids]) if ids else np.zeros((0, h0, w0), bool)
    if arr.ndim != 3 or arr.shape[1:] != (h0, w0):
        raise UserError(f"masks must be (H, W) or (K, H, W) with H, W = {h0}, {w0}; got {arr.shape}")
    if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
        bad = arr[~np.isin(arr, (0, 1))].flat[0]
        raise UserError(f"(K, H, W) masks hold 0 or 1 per pixel; found {bad:g}. Threshold probabilities first "
                        "(e.g. masks > 0.5), or give one (H, W) map of object ids")
    arr = arr.astype(bool)
    if len(arr) == 0 or not arr.reshape(len(arr), -1).any(1).all():
        raise UserError("a mask is empty (no foreground pixel); draw the object in the first-frame mask")
    return arr


def mask_ids(index_map: np.ndarray) -> list[int]:
    """The distinct values of an (H, W) object-id map (0 = background), which must be whole numbers >= 0.

    Raises:
        UserError: a value is negative, fractional or not finite.
    """
    values = np.unique(np.asarray(index_map))
    if values.dtype == bool:
        return [int(v) for v in values]
    bad = values[~np.isfinite(values) | (values < 0) | (values != np.round(values))] if values.dtype.kind == "f" \
        else values[values < 0]
    if len(bad):
        raise UserError(f"a mask of object ids holds {bad[0]:g}; ids are whole numbers >= 0 (0 = background). "
                        "Threshold a probability map first (e.g. mask > 0.5)")
    return [int(v) for v in values]


def check_prompt_ids(ids: Any, count: int) -> list[int]:
    """Track ids given with ``count`` prompts: whole numbers >= 1, one per prompt, no repeats.

    Raises:
        UserError: with the ids given and what is expected.
    """
    values = np.atleast_1d(np.asarray(ids, dtype=object)).tolist()
    if any(isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1 for v in values):
        raise UserError(f"ids must be whole numbers >= 1, one per object; got {ids!r}")
    if len(values) != count:
        raise UserError(f"{len(values)} ids given for {count} objects; give one id per object")
    if len(set(values)) != len(values):
        raise UserError(f"ids {values} repeat an id; give every object its own id")
    return [int(v) for v in values]
