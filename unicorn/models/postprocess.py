"""Upstream pre- and post-processing: letterbox input, NMS, box and mask mapping to the frame."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..geometry import clip_boxes_xyxy

PAD_VALUE = 114


def letterbox(image_bgr: np.ndarray, size_hw: tuple[int, int], scale: float = 1.0) -> tuple[np.ndarray, float]:
    """Resize keeping the aspect ratio, paste top-left on a canvas filled with 114.

    Args:
        image_bgr: (H0, W0, 3) uint8 BGR frame.
        size_hw: (H, W) network input size.
        scale: shrink the frame further by this factor (<= 1; 1 = fill the input as upstream).

    Returns:
        (3, H, W) float32 CHW array with values 0..255 (no normalisation), and the scale r.
    """
    h_in, w_in = size_hw
    h0, w0 = image_bgr.shape[:2]
    r = min(h_in / h0, w_in / w0) * scale
    resized = cv2.resize(image_bgr, (int(w0 * r), int(h0 * r)), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((h_in, w_in, 3), PAD_VALUE, dtype=np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32), r


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    """(..., 4) centre/size boxes to corners."""
    half = boxes[..., 2:4] / 2
    return torch.cat([boxes[..., :2] - half, boxes[..., :2] + half], dim=-1)


def postprocess(decoded: torch.Tensor, num_classes: int, conf_thre: float, nms_thre: float,
                class_agnostic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Score threshold and NMS for one image, as upstream ``postprocess``.

    Args:
        decoded: (N, 5 + C) decoded head output of one image (cx, cy, w, h, obj, cls...).
        num_classes: C.
        conf_thre: keep anchors with obj * max(cls) >= conf_thre.
        nms_thre: IoU above which lower-scoring boxes are suppressed.
        class_agnostic: one NMS over all classes instead of per class.

    Returns:
        dets: (K, 7) x1, y1, x2, y2, obj, cls_conf, cls_id, sorted by obj * cls_conf descending;
        anchor_idx: (K,) int64 anchor index of each kept detection.
    """
    boxes = cxcywh_to_xyxy(decoded[:, :4])
    class_conf, class_pred = torch.max(decoded[:, 5:5 + num_classes], 1, keepdim=True)
    keep = (decoded[:, 4] * class_conf.squeeze(1) >= conf_thre).nonzero().squeeze(1)
    dets = torch.cat([boxes, decoded[:, 4:5], class_conf, class_pred.float()], 1)[keep]
    if dets.shape[0] == 0:
        return dets, keep
    from torchvision.ops import batched_nms, nms  # imported on first use: torchvision is slow to import

    scores = dets[:, 4] * dets[:, 5]
    if class_agnostic:
        order = nms(dets[:, :4], scores, nms_thre)
    else:
        order = batched_nms(dets[:, :4], scores, dets[:, 6], nms_thre)
    return dets[order], keep[order]


def box_to_frame(box_xyxy: torch.Tensor, r: float, input_hw: tuple[int, int]) -> np.ndarray:
    """Clamp a box to the padded input canvas and map it to original-frame pixels (float xyxy)."""
    return clip_boxes_xyxy(box_xyxy.detach().double().cpu().numpy(), input_hw) / r


def masks_to_frame(mask_probs: torch.Tensor, r: float, orig_hw: tuple[int, int]) -> torch.Tensor:
    """Resize input-resolution mask probabilities to the original frame, as upstream (scale 1/r, crop).

    Args:
        mask_probs: (M, 1, H, W) probabilities at input resolution.
        r: letterbox scale.
        orig_hw: (H0, W0).

    Returns:
        (M, H0, W0) probabilities.
    """
    h0, w0 = orig_hw
    out = F.interpolate(mask_probs, scale_factor=1.0 / r, mode="bilinear", align_corners=False)
    out = out[:, 0, :h0, :w0]
    if out.shape[-2:] != (h0, w0):  # r rounding may leave a row/column short: pad by replication
        out = F.pad(out[:, None], (0, w0 - out.shape[-1], 0, h0 - out.shape[-2]), mode="replicate")[:, 0]
    return out
