"""Loss of the unified detection head (upstream ``UnicornHead(Mask).get_losses``).

Per batch, with SimOTA positives pooled over its images (``num_fg`` = their count, at least 1):

- ``iou_loss`` = 5 * sum(1 - IoU^2) over positives / num_fg (decoded boxes vs their gt);
- ``conf_loss`` = BCE-with-logits of objectness over **all** anchors (target 1 on positives) / num_fg;
- ``cls_loss`` = BCE-with-logits of the class logits of positives against one-hot x IoU / num_fg;
- ``l1_loss`` = L1 of the raw regression of positives against
  ``[gt_c / stride - grid, log(gt_wh / stride + 1e-8)]`` / num_fg;
- ``condinst_loss`` (only with masks) = per image with positives, the mean dice loss of the
  positives' dynamic masks (stride 2) against their gt masks; averaged over those images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from ..heads.detection import HeadOutput, anchor_grid, flatten_levels
from ..heads.mask import convex_upsample, dynamic_mask_logits
from .simota import Assignment, simota_assign

if TYPE_CHECKING:
    from ..unicorn import Unicorn

IOU_WEIGHT = 5.0
L1_EPS = 1e-8
DICE_EPS = 1e-5


def iou_loss(pred_boxes: torch.Tensor, target_boxes: torch.Tensor) -> torch.Tensor:
    """YOLOX "iou" loss ``1 - IoU^2`` per pair of (cx, cy, w, h) boxes. (K, 4), (K, 4) -> (K,)."""
    tl = torch.max(pred_boxes[:, :2] - pred_boxes[:, 2:] / 2, target_boxes[:, :2] - target_boxes[:, 2:] / 2)
    br = torch.min(pred_boxes[:, :2] + pred_boxes[:, 2:] / 2, target_boxes[:, :2] + target_boxes[:, 2:] / 2)
    area_p = torch.prod(pred_boxes[:, 2:], 1)
    area_g = torch.prod(target_boxes[:, 2:], 1)
    overlap = (tl < br).type(tl.type()).prod(dim=1)
    area_i = torch.prod(br - tl, 1) * overlap
    iou = area_i / (area_p + area_g - area_i + 1e-16)
    return 1 - iou**2


def dice_loss(probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Dice loss ``1 - 2 sum(xy) / (sum(x^2) + sum(y^2) + 1e-5)`` per instance. (K, ...) -> (K,)."""
    x = probs.reshape(probs.shape[0], -1)
    y = targets.reshape(targets.shape[0], -1).to(x.dtype)
    intersection = (x * y).sum(dim=1)
    union = (x**2.0).sum(dim=1) + (y**2.0).sum(dim=1) + DICE_EPS
    return 1.0 - 2 * intersection / union


def count_gts(labels: torch.Tensor) -> torch.Tensor:
    """Upstream's count of valid rows: rows whose values sum above 0 (padding rows are zeros). (B, M, D) -> (B,)."""
    return (labels.sum(dim=2) > 0).sum(dim=1)


def condinst_loss(model: Unicorn, head_out: HeadOutput, batch_idx: int, assignment: Assignment,
                  gt_masks: torch.Tensor, mask_feats: torch.Tensor, up_weights: torch.Tensor,
                  locations: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """Mean dice loss of the dynamic masks of one image's positives.

    Args:
        model: the model (its head's controllers and mask branch).
        head_out: head output holding the regression features.
        batch_idx: image index in ``head_out`` (and in ``mask_feats``).
        assignment: that image's SimOTA result (at least one positive).
        gt_masks: (M, H/2, W/2) gt masks of that image's gt rows.
        mask_feats: (B, 8, H/8, W/8) mask features; up_weights: (B, 144, H/8, W/8).
        locations: (N, 2) anchor centres; levels: (N,) anchor levels.

    Returns:
        Scalar loss.
    """
    fg = assignment.fg_indices
    params = model.head.dynamic_params(head_out, fg, batch_idx)
    logits = dynamic_mask_logits(mask_feats[batch_idx:batch_idx + 1], params, locations[fg], levels[fg],
                                 head_out.strides[0])
    probs = convex_upsample(logits, up_weights[batch_idx:batch_idx + 1], model.mask_branch.up_rate).sigmoid()
    target = gt_masks[assignment.matched_gt].unsqueeze(1)
    if target.shape[-2:] != probs.shape[-2:]:
        raise ValueError(f"gt masks are {tuple(target.shape[-2:])} but the mask head predicts "
                         f"{tuple(probs.shape[-2:])}; masks must be at half the input resolution")
    return dice_loss(probs, target).mean()


def detection_loss(model: Unicorn, head_out: HeadOutput, labels: torch.Tensor, image_hw: tuple[int, int],
                   masks: torch.Tensor | None = None,
                   mask_outputs: tuple[torch.Tensor, torch.Tensor] | None = None,
                   assignments: list[Assignment] | None = None) -> dict[str, torch.Tensor]:
    """Head loss of one batch (SOT or MOT predictors, whichever ``head_out`` holds).

    Args:
        model: the model (only used for masks).
        head_out: raw head output, B images, C classes.
        labels: (B, M, D>=5) rows ``[cls, cx, cy, w, h, ...]`` in input pixels, valid rows first,
            zero rows as padding.
        image_hw: input (H, W).
        masks: (B, M, H/2, W/2) gt masks of the rows, or None for the box-only loss.
        mask_outputs: ``model.segment`` output (mask_feats, up_weights), needed with ``masks``.
        assignments: if given, every image's :class:`Assignment` is appended (images without gt are
            skipped).

    Returns:
        ``total_loss``, ``iou_loss`` (already x5), ``l1_loss``, ``conf_loss``, ``cls_loss``,
        ``condinst_loss`` (only with masks) and ``num_fg`` (positives / gts, detached).
    """
    raw = flatten_levels(head_out.raw)  # (B, N, 5 + C)
    batch, num_anchors, channels = raw.shape
    num_classes = channels - 5
    grids, strides = anchor_grid([tuple(r.shape[-2:]) for r in head_out.raw], head_out.strides, raw.device,
                                 raw.dtype)
    strides = strides[:, 0]
    boxes = torch.cat([(raw[..., :2] + grids) * strides[:, None], torch.exp(raw[..., 2:4]) * strides[:, None]], -1)
    obj_logits, cls_logits = raw[..., 4], raw[..., 5:]
    num_gts = count_gts(labels).tolist()
    if masks is not None:
        if mask_outputs is None:
            raise ValueError("masks were given without the mask branch outputs (mask_outputs)")
        mask_feats, up_weights = mask_outputs
        locations = (grids + 0.5) * strides[:, None]
        levels = model.anchor_levels(head_out)
    fg_masks, cls_targets, box_targets, l1_targets, mask_losses = [], [], [], [], []
    num_fg = 0
    for b in range(batch):
        num_gt = int(num_gts[b])
        if num_gt == 0:
            fg_masks.append(raw.new_zeros(num_anchors, dtype=torch.bool))
            continue
        gt = labels[b, :num_gt, 1:5]
        a = simota_assign(gt, labels[b, :num_gt, 0], boxes[b].detach(), obj_logits[b].detach(),
                          cls_logits[b].detach(), grids, strides, image_hw)
        if assignments is not None:
            assignments.append(a)
        num_fg += a.num_fg
        fg_masks.append(a.fg_mask)
        cls_targets.append(F.one_hot(a.matched_classes.to(torch.int64), num_classes) * a.matched_ious[:, None])
        matched = gt[a.matched_gt]
        box_targets.append(matched)
        fg_strides, fg_grids = strides[a.fg_mask], grids[a.fg_mask]
        l1_targets.append(torch.stack([matched[:, 0] / fg_strides - fg_grids[:, 0],
                                       matched[:, 1] / fg_strides - fg_grids[:, 1],
                                       torch.log(matched[:, 2] / fg_strides + L1_EPS),
                                       torch.log(matched[:, 3] / fg_strides + L1_EPS)], 1))
        if masks is not None and a.num_fg > 0:
            mask_losses.append(condinst_loss(model, head_out, b, a, masks[b], mask_feats, up_weights,
                                             locations, levels))
    fg = torch.cat(fg_masks)
    num_fg_clamped = max(num_fg, 1)
    empty = raw.new_zeros((0, 4))
    box_targets_all = torch.cat(box_targets) if box_targets else empty
    l1_targets_all = torch.cat(l1_targets) if l1_targets else empty
    cls_targets_all = torch.cat(cls_targets) if cls_targets else raw.new_zeros((0, num_classes))
    losses = {
        "iou_loss": IOU_WEIGHT * (iou_loss(boxes.reshape(-1, 4)[fg], box_targets_all).sum() / num_fg_clamped),
        "l1_loss": (raw[..., :4].reshape(-1, 4)[fg] - l1_targets_all).abs().sum() / num_fg_clamped,
        "conf_loss": F.binary_cross_entropy_with_logits(
            obj_logits.reshape(-1), fg.to(raw.dtype), reduction="none").sum() / num_fg_clamped,
        "cls_loss": F.binary_cross_entropy_with_logits(
            cls_logits.reshape(-1, num_classes)[fg], cls_targets_all.to(raw.dtype),
            reduction="none").sum() / num_fg_clamped,
    }
    total = losses["iou_loss"] + losses["conf_loss"] + losses["cls_loss"] + losses["l1_loss"]
    if masks is not None:
        losses["condinst_loss"] = (torch.stack(mask_losses).sum() / len(mask_losses) if mask_losses
                                   else raw.new_zeros(()))
        total = total + losses["condinst_loss"]
    losses["total_loss"] = total
    losses["num_fg"] = raw.new_tensor(num_fg_clamped / max(sum(num_gts), 1))
    return losses
