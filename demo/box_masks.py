"""Box-initialised VOS: turn first-frame boxes into masks with the model's own mask head.

This is what upstream does when a VOS target is given as a box: the SOT head runs on the
first frame with the box prior, the reference being that same frame; the top-1 detection's
mask is the object's mask. It lives here until the VOS tracker offers it as a method
(``VOSTracker.masks_from_boxes(frame, boxes_xywh, mask_thresh=0.5)``).
"""

from __future__ import annotations

import numpy as np
import torch

from unicorn.models.interaction.prior import box_label_map, downsample_label_map
from unicorn.models.postprocess import masks_to_frame, postprocess
from unicorn.trackers.base import check_boxes_xywh
from unicorn.trackers.vos import VOSTracker


def filled_box_masks(boxes_xywh: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Masks that fill each box.

    Args:
        boxes_xywh: (K, 4) boxes x, y, w, h in pixels (already clipped to the frame).
        size: (H, W) of the frame.

    Returns:
        (K, H, W) bool masks; a box thinner than a pixel still covers one pixel.
    """
    h0, w0 = size
    out = np.zeros((len(boxes_xywh), h0, w0), bool)
    for k, (x, y, w, h) in enumerate(np.asarray(boxes_xywh, np.float64)):
        x1, y1 = min(int(np.floor(x)), w0 - 1), min(int(np.floor(y)), h0 - 1)
        x2, y2 = max(int(np.ceil(x + w)), x1 + 1), max(int(np.ceil(y + h)), y1 + 1)
        out[k, y1:y2, x1:x2] = True
    return out


def masks_from_boxes(tracker: VOSTracker, frame: np.ndarray, boxes_xywh, mask_thresh: float = 0.5
                     ) -> tuple[np.ndarray, np.ndarray]:
    """First-frame masks for boxes, from the model's mask head (upstream's box-initialised VOS).

    For each box: the box map of the frame is propagated onto the frame itself, the SOT head
    detects with that prior, the top-1 detection's mask (``model.instance_masks``) is
    thresholded at ``mask_thresh``. A box whose target gives no detection, or an empty mask,
    falls back to the filled box.

    Args:
        tracker: a VOS tracker (its model, input size and thresholds are used; its state is not).
        frame: (H, W, 3) uint8 BGR first frame.
        boxes_xywh: (x, y, w, h) or (K, 4) of them, in pixels.
        mask_thresh: probability above which a pixel belongs to the object.

    Returns:
        masks: (K, H, W) bool, none empty.
        from_head: (K,) bool, False where the filled box was used.
    """
    f = tracker.preprocess(frame)
    xywh = check_boxes_xywh(boxes_xywh, f.size)
    xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
    model, cfg = tracker.model, tracker.config
    h, w = tracker.input_size
    maps = downsample_label_map(box_label_map(torch.from_numpy(xyxy * f.r).float(), h, w))
    maps = maps.to(tracker.device).permute(1, 0, 2, 3)  # (1, K, h/8, w/8)
    masks = filled_box_masks(xywh, f.size)
    from_head = np.zeros(len(xywh), bool)
    with torch.inference_mode():
        feats = tracker.features(f)
        e_ref, e_cur = model.interact(feats, feats)
        priors = [p.transpose(0, 1) for p in model.propagate(e_ref, e_cur, maps, upstream_fp16=cfg.upstream_fp16)]
        head_out = model.detect(feats, priors, "sot")
        decoded, locations = model.decode(head_out)
        mask_feats, up_weights = model.segment(feats)
        for k in range(len(xywh)):
            dets, idx = postprocess(decoded[k], 1, cfg.conf_thresh, cfg.nms_thresh)
            if len(dets) == 0:
                continue
            probs = model.instance_masks(head_out, mask_feats, up_weights, idx[:1], locations, batch_idx=k)
            mask = masks_to_frame(probs, f.r, f.size)[0].float().cpu().numpy() > mask_thresh
            if mask.any():
                masks[k], from_head[k] = mask, True
    return masks, from_head
