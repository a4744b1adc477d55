"""MOTS: the masks of the tracked objects, from the model's mask head or from its embedding inside each box.

:class:`~unicorn.trackers.mot.MOTTracker` with ``segment=True`` calls one of the two after association:
:func:`head_masks` when the detections are the model's own (their anchors carry mask parameters),
:func:`box_masks` when they come from another detector and the model has a memory embedding.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..models.features import FrameFeatures
from ..models.heads.detection import HeadOutput
from ..models.postprocess import masks_to_frame
from ..models.unicorn import Unicorn
from .association.base import Tracks
from .base import Frame
from .regions import box_prior


def remove_overlaps(masks: np.ndarray, track_ids: np.ndarray) -> np.ndarray:
    """Make masks disjoint: a pixel claimed by several tracks goes to the lowest track id.

    Args:
        masks: (N, H, W) bool.
        track_ids: (N,) ids.

    Returns:
        (N, H, W) bool, disjoint.
    """
    out = masks.copy()
    taken = np.zeros(masks.shape[1:], bool)
    for i in np.argsort(track_ids, kind="stable"):
        out[i] &= ~taken
        taken |= out[i]
    return out


def head_masks(model: Unicorn, tracks: Tracks, f: Frame, cur: FrameFeatures, head_out: HeadOutput,
               anchor_idx: torch.Tensor, locations: torch.Tensor, mask_thresh: float) -> np.ndarray:
    """(N, H, W) disjoint masks of the tracks from the mask head, at the anchors of their detections.

    Args:
        model: the network.
        tracks: this frame's tracks (N).
        f, cur: the frame and its features.
        head_out, locations: the MOT head's output and anchor centres (:meth:`Unicorn.decode`).
        anchor_idx: (N,) the anchor of each track's detection.
        mask_thresh: probability above which a pixel belongs to a mask.
    """
    if len(tracks) == 0:
        return np.zeros((0, *f.size), bool)
    mask_feats, up_weights = model.segment(cur)
    probs = model.instance_masks(head_out, mask_feats, up_weights, anchor_idx, locations)
    masks = masks_to_frame(probs, f.r, f.size).float().cpu().numpy() > mask_thresh
    return remove_overlaps(masks, tracks.track_ids)


def box_masks(model: Unicorn, f: Frame, boxes_xyxy: np.ndarray, topk: int) -> np.ndarray:
    """(N, H, W) disjoint masks of frame-pixel boxes from the memory embedding (:func:`box_prior`, ``topk``
    neighbours); a pixel two boxes share goes to the larger (nearer) one."""
    h0, w0 = f.size
    if len(boxes_xyxy) == 0:
        return np.zeros((0, h0, w0), bool)
    emb = model.memory_features(f.image)[0]
    probs = box_prior(emb, np.asarray(boxes_xyxy, np.float64) * f.r, topk)
    h, w = probs.shape[-2:]
    up = F.interpolate(probs[None], size=(h * 8, w * 8), mode="bilinear", align_corners=False)
    up = up[..., :round(h0 * f.r), :round(w0 * f.r)]
    up = F.interpolate(up, size=(h0, w0), mode="bilinear", align_corners=False)[0]
    masks = up.cpu().numpy() > 0.5
    order = np.argsort(-np.asarray([(b[2] - b[0]) * (b[3] - b[1]) for b in boxes_xyxy]))
    return remove_overlaps(masks, np.argsort(order))  # nearer (larger) boxes win shared pixels


def drop_empty(tracks: Tracks, masks: np.ndarray) -> tuple[Tracks, np.ndarray]:
    """The tracks whose mask kept a pixel, with their masks (a track that lost every pixel is not reported)."""
    keep = masks.any(axis=(1, 2))
    return tracks.subset(keep), masks[keep]
