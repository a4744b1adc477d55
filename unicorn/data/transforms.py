"""Training-pair augmentation as upstream's ``TrainTransform_omni`` / ``TrainTransform_Ins``:
HSV jitter per frame, one horizontal flip shared by both frames, top-left letterbox (the one inference uses,
:func:`unicorn.preprocess.letterbox`), boxes smaller than 1 px dropped, at most 100 labels, masks at 1/2
resolution.

No mosaic, mixup or affine jitter (upstream turns them off for tracking); multi-scale training
is done by the engine on whole batches.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from unicorn.data.samples import TASK_IDS, PairSample
from unicorn.data.skips import BadSample
from unicorn.data.train_sets.base import FrameLabels
from unicorn.geometry import clip_boxes_xyxy
from unicorn.preprocess import letterbox

HSV_GAINS = (0.015, 0.7, 0.4)  # upstream augment_hsv: hue, saturation, value


def augment_hsv(image: np.ndarray, rng: np.random.Generator, gains: tuple[float, float, float] = HSV_GAINS
                ) -> np.ndarray:
    """Random hue / saturation / value gains (each ``1 + U(-g, g)``), as a new BGR uint8 image.

    Args:
        image: (H, W, 3) uint8 BGR.
        rng: random source.
        gains: maximum relative change of hue, saturation and value.
    """
    r = rng.uniform(-1, 1, 3) * np.asarray(gains) + 1
    hue, sat, val = cv2.split(cv2.cvtColor(image, cv2.COLOR_BGR2HSV))
    x = np.arange(256, dtype=np.float64)
    lut_hue = ((x * r[0]) % 180).astype(np.uint8)
    lut_sat = np.clip(x * r[1], 0, 255).astype(np.uint8)
    lut_val = np.clip(x * r[2], 0, 255).astype(np.uint8)
    hsv = cv2.merge((cv2.LUT(hue, lut_hue), cv2.LUT(sat, lut_sat), cv2.LUT(val, lut_val)))
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)


def letterbox_masks(masks: np.ndarray, size_hw: tuple[int, int], stride: int = 2) -> np.ndarray:
    """Letterbox instance masks to ``(H/stride, W/stride)`` (bilinear, then thresholded at 0.5).

    Args:
        masks: (N, h, w) uint8 0/1.
        size_hw: the image's letterbox size (H, W).
        stride: downsampling of the mask canvas (2 upstream).

    Returns:
        (N, H/stride, W/stride) uint8 0/1.
    """
    oh, ow = size_hw[0] // stride, size_hw[1] // stride
    n, h, w = masks.shape
    out = np.zeros((n, oh, ow), np.uint8)
    if n == 0:
        return out
    r = min(oh / h, ow / w)
    nh, nw = max(1, int(h * r)), max(1, int(w * r))
    for start in range(0, n, 256):  # cv2 takes at most 512 channels
        chunk = np.ascontiguousarray(masks[start:start + 256].transpose(1, 2, 0)) * 255
        resized = cv2.resize(chunk, (nw, nh), interpolation=cv2.INTER_LINEAR).reshape(nh, nw, -1)
        out[start:start + 256, :nh, :nw] = (resized > 127).transpose(2, 0, 1)
    return out


def hflip(frame: FrameLabels) -> FrameLabels:
    """Mirror a frame left-right (image, boxes and masks)."""
    w = frame.image.shape[1]
    boxes = frame.boxes_xyxy.copy()
    boxes[:, [0, 2]] = w - frame.boxes_xyxy[:, [2, 0]]
    masks = None if frame.masks is None else np.ascontiguousarray(frame.masks[:, :, ::-1])
    return FrameLabels(cv2.flip(frame.image, 1), boxes, frame.track_ids, frame.classes, masks)


class PairTransform:
    """Augment and letterbox a reference/current pair into a ``PairSample``.

    Args:
        input_size: (H, W) of the training input.
        augment: apply HSV jitter and flips (False: letterbox only).
        hsv_prob: probability of the HSV jitter, drawn per frame.
        hsv_gains: see ``augment_hsv``.
        flip_prob: probability of the horizontal flip, drawn once per pair.
        max_labels: at most this many label rows per frame.
        mask_stride: masks are stored at 1/mask_stride resolution.
        min_box_size: rows whose letterboxed width or height is at most this are dropped (1 upstream).
    """

    def __init__(self, input_size: tuple[int, int], augment: bool = True, hsv_prob: float = 1.0,
                 hsv_gains: tuple[float, float, float] = HSV_GAINS, flip_prob: float = 0.5, max_labels: int = 100,
                 mask_stride: int = 2, min_box_size: float = 1.0) -> None:
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.augment, self.hsv_prob, self.hsv_gains, self.flip_prob = augment, hsv_prob, hsv_gains, flip_prob
        self.max_labels, self.mask_stride, self.min_box_size = max_labels, mask_stride, min_box_size

    def frame(self, frame: FrameLabels, rng: np.random.Generator, flip: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One frame: (3, H, W) uint8 image, (N, 6) label rows, (N, H/s, W/s) masks or None."""
        if flip:
            frame = hflip(frame)
        image, r = letterbox(frame.image, self.input_size)
        if self.augment and rng.random() < self.hsv_prob:
            nh, nw = int(frame.image.shape[0] * r), int(frame.image.shape[1] * r)
            image[:nh, :nw] = augment_hsv(np.ascontiguousarray(image[:nh, :nw]), rng, self.hsv_gains)
        boxes = clip_boxes_xyxy(frame.boxes_xyxy.astype(np.float64), frame.image.shape[:2]) * r
        wh = boxes[:, 2:] - boxes[:, :2]
        keep = np.flatnonzero(np.minimum(wh[:, 0], wh[:, 1]) > self.min_box_size)[:self.max_labels]
        rows = np.zeros((len(keep), 6), np.float32)
        rows[:, 0] = frame.classes[keep]
        rows[:, 1:3] = (boxes[keep, :2] + boxes[keep, 2:]) / 2
        rows[:, 3:5] = wh[keep]
        rows[:, 5] = frame.track_ids[keep]
        masks = None
        if frame.masks is not None:
            masks = letterbox_masks(frame.masks[keep], self.input_size, self.mask_stride)
        return image.transpose(2, 0, 1), rows, masks

    def __call__(self, ref: FrameLabels, cur: FrameLabels, task: str, rng: np.random.Generator) -> PairSample:
        """Build the sample; ``task`` is "sot", "vos", "mot" or "mots".

        Raises:
            BadSample: an SOT/VOS pair whose frames share no object after resizing.
        """
        flip = self.augment and rng.random() < self.flip_prob
        (img_r, rows_r, masks_r), (img_c, rows_c, masks_c) = (self.frame(f, rng, flip) for f in (ref, cur))
        if task in ("sot", "vos") and not np.intersect1d(rows_r[:, 5], rows_c[:, 5]).size:
            raise BadSample("target too small after resizing", f"ids {ref.track_ids.tolist()}")
        m = max(1, len(rows_r), len(rows_c))
        labels = np.zeros((2, m, 6), np.float32)
        labels[0, :len(rows_r)], labels[1, :len(rows_c)] = rows_r, rows_c
        masks = None
        if masks_r is not None and masks_c is not None:
            masks = np.zeros((2, m) + masks_r.shape[1:], np.uint8)
            masks[0, :len(masks_r)], masks[1, :len(masks_c)] = masks_r, masks_c
            masks = torch.from_numpy(masks)
        images = torch.from_numpy(np.stack([img_r, img_c]).astype(np.float32))
        return PairSample(images, torch.from_numpy(labels), TASK_IDS[task], masks)
