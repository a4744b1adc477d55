"""YOLOX SimOTA label assignment, as upstream Unicorn runs it (``get_assignments``).

For one image with G ground-truth boxes and N anchors:

1. **Candidates**: anchors whose centre lies inside a gt box, or within ``2.5 * stride`` of a
   gt centre (the centre clipped to the image first).
2. **Cost** per (gt, candidate): ``BCE(sqrt(sigmoid(cls) * sigmoid(obj)), one_hot)`` summed over
   classes ``+ 3 * -log(IoU + 1e-8) + 1e5 * (not inside both the box and the centre region)``.
3. **Dynamic k** per gt: the integer part of the sum of its 10 largest IoUs, at least 1; the k
   cheapest candidates are matched to it.
4. **Conflicts**: an anchor matched to several gts keeps only its cheapest gt.

Every step uses the same operations in the same order as upstream so that ties (the ``1e5``
costs are coarse in float32) resolve identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

CENTER_RADIUS = 2.5
TOPK_IOU = 10
IOU_COST_WEIGHT = 3.0
OUTSIDE_COST = 100000.0


@dataclass
class Assignment:
    """SimOTA result for one image.

    Attributes:
        fg_mask: (N,) bool, the positive anchors.
        matched_gt: (num_fg,) int64 gt index of each positive anchor (in anchor order).
        matched_ious: (num_fg,) IoU between each positive's predicted box and its gt.
        matched_classes: (num_fg,) class id (float, as the labels) of each positive's gt.
        num_fg: number of positives.
    """

    fg_mask: torch.Tensor
    matched_gt: torch.Tensor
    matched_ious: torch.Tensor
    matched_classes: torch.Tensor
    num_fg: int

    @property
    def fg_indices(self) -> torch.Tensor:
        """(num_fg,) int64 indices of the positive anchors."""
        return self.fg_mask.nonzero()[:, 0]


def pairwise_iou_cxcywh(boxes_a: torch.Tensor, boxes_b: torch.Tensor) -> torch.Tensor:
    """IoU of every pair of (cx, cy, w, h) boxes. (A, 4), (B, 4) -> (A, B)."""
    tl = torch.max(boxes_a[:, None, :2] - boxes_a[:, None, 2:] / 2, boxes_b[:, :2] - boxes_b[:, 2:] / 2)
    br = torch.min(boxes_a[:, None, :2] + boxes_a[:, None, 2:] / 2, boxes_b[:, :2] + boxes_b[:, 2:] / 2)
    area_a = torch.prod(boxes_a[:, 2:], 1)
    area_b = torch.prod(boxes_b[:, 2:], 1)
    overlap = (tl < br).type(tl.type()).prod(dim=2)
    area_i = torch.prod(br - tl, 2) * overlap
    return area_i / (area_a[:, None] + area_b - area_i)


def candidate_anchors(gt_boxes: torch.Tensor, grids: torch.Tensor, strides: torch.Tensor,
                      image_hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchors inside a gt box or near a gt centre.

    Args:
        gt_boxes: (G, 4) gt boxes (cx, cy, w, h) in input pixels.
        grids: (N, 2) anchor cell indices (x, y).
        strides: (N,) anchor strides.
        image_hw: input (H, W), used to clip the gt centres.

    Returns:
        candidates: (N,) bool, inside some box or some centre region.
        in_box_and_center: (G, n_candidates) bool, inside both regions of that gt.
    """
    x_centers = (grids[:, 0] * strides + 0.5 * strides).unsqueeze(0)  # (1, N)
    y_centers = (grids[:, 1] * strides + 0.5 * strides).unsqueeze(0)
    cx, cy, w, h = (gt_boxes[:, i:i + 1] for i in range(4))
    box_deltas = torch.stack([x_centers - (cx - 0.5 * w), y_centers - (cy - 0.5 * h),
                              (cx + 0.5 * w) - x_centers, (cy + 0.5 * h) - y_centers], 2)
    in_boxes = box_deltas.min(dim=-1).values > 0.0  # (G, N)
    cx_clip = cx.clamp(min=0, max=image_hw[1])
    cy_clip = cy.clamp(min=0, max=image_hw[0])
    radius = CENTER_RADIUS * strides.unsqueeze(0)
    center_deltas = torch.stack([x_centers - (cx_clip - radius), y_centers - (cy_clip - radius),
                                 (cx_clip + radius) - x_centers, (cy_clip + radius) - y_centers], 2)
    in_centers = center_deltas.min(dim=-1).values > 0.0
    candidates = (in_boxes.sum(dim=0) > 0) | (in_centers.sum(dim=0) > 0)
    in_box_and_center = in_boxes[:, candidates] & in_centers[:, candidates]
    return candidates, in_box_and_center


def dynamic_k_matching(cost: torch.Tensor, ious: torch.Tensor) -> torch.Tensor:
    """Match each gt to its k cheapest candidates (k from its IoUs); one gt per anchor.

    Args:
        cost: (G, K) matching cost over the candidates.
        ious: (G, K) IoUs of the candidates' predicted boxes with each gt.

    Returns:
        (G, K) float 0/1 matching matrix with at most one 1 per column.
    """
    matching = torch.zeros_like(cost)
    topk_ious, _ = torch.topk(ious, min(TOPK_IOU, ious.size(1)), dim=1)
    dynamic_ks = torch.clamp(topk_ious.sum(1).int(), min=1)
    for g in range(cost.shape[0]):
        _, pos = torch.topk(cost[g], k=int(dynamic_ks[g].item()), largest=False)
        matching[g][pos] = 1.0
    shared = matching.sum(0) > 1
    if shared.sum() > 0:
        _, cheapest = torch.min(cost[:, shared], dim=0)
        matching[:, shared] *= 0.0
        matching[cheapest, shared] = 1.0
    return matching


@torch.no_grad()
def simota_assign(gt_boxes: torch.Tensor, gt_classes: torch.Tensor, pred_boxes: torch.Tensor,
                  obj_logits: torch.Tensor, cls_logits: torch.Tensor, grids: torch.Tensor,
                  strides: torch.Tensor, image_hw: tuple[int, int]) -> Assignment:
    """SimOTA assignment for one image.

    Args:
        gt_boxes: (G, 4) gt boxes (cx, cy, w, h) in input pixels, G >= 1.
        gt_classes: (G,) class ids (any numeric dtype).
        pred_boxes: (N, 4) decoded predicted boxes (cx, cy, w, h).
        obj_logits: (N,) objectness logits.
        cls_logits: (N, C) class logits.
        grids: (N, 2) anchor cell indices (x, y).
        strides: (N,) anchor strides.
        image_hw: input (H, W).

    Returns:
        The :class:`Assignment` (no positives when no anchor is a candidate).
    """
    num_gt = gt_boxes.shape[0]
    num_classes = cls_logits.shape[1]
    candidates, in_box_and_center = candidate_anchors(gt_boxes, grids, strides, image_hw)
    n_cand = int(candidates.sum())
    if n_cand == 0:  # upstream would crash here; an image with no candidate simply has no positives
        empty = gt_boxes.new_zeros((0,))
        return Assignment(candidates, empty.long(), empty, gt_classes[:0], 0)
    ious = pairwise_iou_cxcywh(gt_boxes, pred_boxes[candidates])  # (G, K)
    gt_onehot = F.one_hot(gt_classes.to(torch.int64), num_classes).float().unsqueeze(1).repeat(1, n_cand, 1)
    iou_cost = -torch.log(ious + 1e-8)
    scores = (cls_logits[candidates].float().unsqueeze(0).repeat(num_gt, 1, 1).sigmoid_()
              * obj_logits[candidates].float().reshape(1, -1, 1).repeat(num_gt, 1, 1).sigmoid_())
    cls_cost = F.binary_cross_entropy(scores.sqrt_(), gt_onehot, reduction="none").sum(-1)
    cost = cls_cost + IOU_COST_WEIGHT * iou_cost + OUTSIDE_COST * (~in_box_and_center)
    matching = dynamic_k_matching(cost, ious)
    fg_in_candidates = matching.sum(0) > 0.0
    fg_mask = candidates.clone()
    fg_mask[candidates.clone()] = fg_in_candidates
    matched_gt = matching[:, fg_in_candidates].argmax(0)
    matched_ious = (matching * ious).sum(0)[fg_in_candidates]
    return Assignment(fg_mask, matched_gt, matched_ious, gt_classes[matched_gt], int(fg_in_candidates.sum()))
