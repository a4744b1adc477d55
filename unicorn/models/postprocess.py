"""Upstream post-processing: NMS of the decoded head output, boxes and masks mapped back to the frame
(the letterbox that comes before is :mod:`unicorn.preprocess`)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..geometry import clip_boxes_xyxy


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
