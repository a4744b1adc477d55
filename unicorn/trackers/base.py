"""What every task tracker shares: input checks, letterboxing, the model call, video iteration."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UserError
from ..models.features import FrameFeatures
from ..models.heads.detection import HeadOutput
from ..models.interaction.prior import box_label_map, downsample_label_map
from ..models.postprocess import letterbox
from ..models.unicorn import Unicorn
from ..types import FrameResult


@dataclass
class Frame:
    """One preprocessed frame.

    Attributes:
        image: (1, 3, H, W) network input on the model's device.
        r: letterbox scale (input pixels per original pixel).
        size: (H0, W0) original frame size.
    """

    image: torch.Tensor
    r: float
    size: tuple[int, int]


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
    x1 = np.clip(arr[:, 0], 0, w0)
    y1 = np.clip(arr[:, 1], 0, h0)
    x2 = np.clip(arr[:, 0] + arr[:, 2], 0, w0)
    y2 = np.clip(arr[:, 1] + arr[:, 3], 0, h0)
    return np.stack([x1, y1, x2 - x1, y2 - y1], 1)


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


def filled_box_masks(boxes_xywh: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Masks that fill each (x, y, w, h) box (already clipped to the frame); (K, H, W) bool.

    A box thinner than a pixel still covers one pixel.
    """
    h0, w0 = size
    out = np.zeros((len(boxes_xywh), h0, w0), bool)
    for k, (x, y, w, h) in enumerate(np.asarray(boxes_xywh, np.float64)):
        x1, y1 = min(int(np.floor(x)), w0 - 1), min(int(np.floor(y)), h0 - 1)
        x2, y2 = max(int(np.ceil(x + w)), x1 + 1), max(int(np.ceil(y + h)), y1 + 1)
        out[k, y1:y2, x1:x2] = True
    return out


def mask_boxes_xyxy(masks: np.ndarray) -> np.ndarray:
    """Tight boxes of (K, H, W) masks as (K, 4) x1, y1, x2, y2 (x2, y2 exclusive)."""
    out = np.zeros((len(masks), 4), np.float64)
    for k, m in enumerate(masks):
        ys, xs = np.nonzero(m)
        if len(xs):
            out[k] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    return out


class BaseTracker:
    """Streaming tracker over one :class:`Unicorn` model.

    Args:
        model: the network (any device; inputs follow it).
        input_size: (H, W) network input; defaults to the model's configured size.
    """

    task = "base"

    def __init__(self, model: Unicorn, input_size: tuple[int, int] | None = None) -> None:
        self.model = model.eval()
        cfg = getattr(model, "config", None)
        self.input_size = tuple(input_size or (cfg.input_size if cfg else (800, 1280)))
        if self.input_size[0] % 32 or self.input_size[1] % 32:
            raise UserError(f"input size {self.input_size} must be multiples of 32 (e.g. 320x512)")
        self.frame_index = -1

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def check_frame_size(self, frame: np.ndarray) -> np.ndarray:
        """Check a frame (:func:`check_frame`) and that it has the size of the video's first frame."""
        frame = check_frame(frame)
        size = frame.shape[:2]
        known = getattr(self, "_video_size", None)
        if known is None:
            self._video_size = size
        elif size != known:
            raise UserError(f"frame {self.frame_index + 1} is {size[1]}x{size[0]} but the video started at "
                            f"{known[1]}x{known[0]}; every frame of a video must have one size (call init() "
                            "to start a new video)")
        return frame

    def preprocess(self, frame: np.ndarray) -> Frame:
        """Letterbox a BGR frame (of the video's size) for the network."""
        frame = self.check_frame_size(frame)
        image, r = letterbox(frame, self.input_size, self.frame_scale)
        tensor = torch.from_numpy(image)[None].to(self.device).contiguous(memory_format=torch.channels_last)
        return Frame(tensor, r, frame.shape[:2])

    def features(self, frame: Frame) -> FrameFeatures:
        return self.model.extract_features(frame.image)

    def box_maps(self, boxes_xyxy: np.ndarray, r: float) -> torch.Tensor:
        """Stride-8 reference maps of (K, 4) original-pixel boxes, as (1, K, H/8, W/8) on the device."""
        h, w = self.input_size
        maps = box_label_map(torch.from_numpy(np.asarray(boxes_xyxy) * r).float(), h, w)
        return downsample_label_map(maps).to(self.device).permute(1, 0, 2, 3)

    def detect_targets(self, ref: FrameFeatures, cur: FrameFeatures, maps: torch.Tensor,
                       upstream_fp16: bool = False) -> tuple[HeadOutput, torch.Tensor, torch.Tensor]:
        """Propagate K reference maps to ``cur`` and run the SOT head once per target.

        Args:
            ref, cur: features of the reference and current frames.
            maps: (1, K, H/8, W/8) reference maps.
            upstream_fp16: upstream's float16 propagation.

        Returns:
            head output (batch = targets), decoded (K, N, 6), anchor locations (N, 2).
        """
        e_ref, e_cur = self.model.interact(ref, cur)
        priors = self.model.propagate(e_ref, e_cur, maps, upstream_fp16=upstream_fp16)
        head_out = self.model.detect(cur, [p.transpose(0, 1) for p in priors], "sot")  # (K, 1, h, w) priors
        decoded, locations = self.model.decode(head_out)
        return head_out, decoded, locations

    def reset(self) -> None:
        """Forget the video: the next call must be ``init``."""
        self.frame_index = -1
        self._video_size = None  # (H, W) of the first frame, which every later frame must match
        self.frame_scale = 1.0  # frames fill the input; < 1 shrinks them (SOTConfig.max_target_size)

    def fit_targets(self, boxes_xyxy: np.ndarray, frame_hw: tuple[int, int], max_target_size: float) -> None:
        """Choose the video's frame scale so that the largest prompted target's longer side is at most
        ``max_target_size`` of the input's shorter side (0: off; the scale never exceeds 1)."""
        self.frame_scale = 1.0
        if max_target_size <= 0 or len(boxes_xyxy) == 0:
            return
        h, w = self.input_size
        r = min(h / frame_hw[0], w / frame_hw[1])
        sides = np.maximum(boxes_xyxy[:, 2] - boxes_xyxy[:, 0], boxes_xyxy[:, 3] - boxes_xyxy[:, 1])
        size = float(sides.max()) * r / min(h, w)
        if size > max_target_size:
            self.frame_scale = max(0.25, max_target_size / size)

    def _require_init(self) -> None:
        if self.frame_index < 0:
            raise UserError(f"{self.task} tracker: call init(frame, ...) on the first frame before step()")

    def init(self, frame: np.ndarray, **prompts: Any) -> FrameResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, frame: np.ndarray) -> FrameResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def track(self, source: str | Path | int | Any, **prompts: Any) -> Iterator[FrameResult]:
        """Track a whole video, yielding one result per frame (the first from ``init``).

        Args:
            source: a video path, folder of frames, webcam index, URL, or any iterable of BGR frames.
            prompts: what ``init`` needs (``boxes=`` for SOT, ``masks=`` for VOS).
        """
        from ..data.video_io import open_video

        frames = source if not isinstance(source, str | Path | int) else open_video(source)
        self.reset()
        try:
            with torch.inference_mode():
                for i, frame in enumerate(frames):
                    yield self.init(frame, **prompts) if i == 0 else self.step(frame)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
