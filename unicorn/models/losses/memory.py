"""Training loss of a memory embedding: labels propagated from a reference frame must match the truth."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..interaction.memory import propagate_labels


def label_cells(masks: torch.Tensor, stride: int) -> torch.Tensor:
    """(K, H', W') 0/1 masks -> (1 + K, H'/stride, W'/stride) soft labels (row 0 background)."""
    fg = F.avg_pool2d(masks.float()[None], stride)[0]
    return torch.cat([(1 - fg.sum(0, keepdim=True)).clamp(min=0), fg])


def propagation_loss(embed_ref: torch.Tensor, embed_cur: torch.Tensor, labels_ref: torch.Tensor,
                     labels_cur: torch.Tensor, topk: int, temperature: torch.Tensor) -> torch.Tensor:
    """Class-balanced cross-entropy of the labels propagated from ``ref`` against those of ``cur``.

    Each label row (background, every object) weighs the same in total, so a small object counts as
    much as the background around it.

    Args:
        embed_ref, embed_cur: (C, h, w) embeddings of the two frames.
        labels_ref, labels_cur: (1 + K, h, w) soft labels.
        topk: neighbours per pixel (as at test time).
        temperature: scalar softmax temperature (may be learned).

    Returns:
        scalar loss.
    """
    pred = propagate_labels(embed_cur.flatten(1), embed_ref.flatten(1), labels_ref.flatten(1), topk, temperature)
    truth = labels_cur.flatten(1)
    weight = 1.0 / truth.sum(1, keepdim=True).clamp(min=1.0)
    return -(truth * weight * pred.clamp(min=1e-4).log()).sum() / truth.shape[0]
