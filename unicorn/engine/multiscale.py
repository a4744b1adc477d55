"""Multi-scale training: the whole batch is resized to a random size every few iterations (on device)."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F


def multiscale_sizes(input_size: tuple[int, int], steps: int) -> list[tuple[int, int]]:
    """Candidate (H, W): H = input H + k x 32 for |k| <= steps, W = 32 x int(H / 32 x aspect).

    Upstream 800x1280 with 2 steps: H in {736 ... 864}, W in {1152 ... 1376}.
    """
    h0, w0 = input_size
    aspect = w0 / h0
    out = []
    for k in range(-steps, steps + 1):
        h = h0 + 32 * k
        if h >= 32:
            out.append((h, max(32, 32 * int(h / 32 * aspect))))
    return out


def size_for_iteration(input_size: tuple[int, int], steps: int, interval: int, iteration: int,
                       seed: int) -> tuple[int, int]:
    """The training size at ``iteration``: one draw per block of ``interval`` iterations.

    A pure function of (seed, block), so every rank picks the same size without talking and a
    resumed run continues with the sizes of an uninterrupted one.
    """
    if steps <= 0:
        return input_size
    block = iteration // interval
    return random.Random(seed * 1_000_003 + block).choice(multiscale_sizes(input_size, steps))


def resize_batch(batch: dict, size: tuple[int, int]) -> dict:
    """Resize a collated batch to ``size``: images bilinear, label boxes scaled, masks nearest.

    Args:
        batch: ``{"images": (B, 2, 3, H, W), "labels": (B, 2, M, 6), "task_ids", "masks": (B, 2, M, H/2, W/2)
            or None}``.
        size: target (H', W').

    Returns:
        A new dict at the new size (the same dict when the size does not change).
    """
    images = batch["images"]
    b, t, c, h, w = images.shape
    nh, nw = size
    if (nh, nw) == (h, w):
        return batch
    sx, sy = nw / w, nh / h
    out = dict(batch)
    out["images"] = F.interpolate(images.reshape(b * t, c, h, w), size=(nh, nw), mode="bilinear",
                                  align_corners=False).reshape(b, t, c, nh, nw)
    labels = batch["labels"].clone()
    labels[..., 1] *= sx
    labels[..., 3] *= sx
    labels[..., 2] *= sy
    labels[..., 4] *= sy
    out["labels"] = labels
    masks = batch.get("masks")
    if masks is not None:
        m = masks.shape[2]
        flat = masks.reshape(b * t, m, h // 2, w // 2).float()
        flat = F.interpolate(flat, size=(nh // 2, nw // 2), mode="nearest")
        out["masks"] = flat.to(masks.dtype).reshape(b, t, m, nh // 2, nw // 2)
    return out


def batch_to_device(batch: dict, device: torch.device) -> dict:
    """Move every tensor of a batch to ``device`` (non-blocking from pinned memory)."""
    return {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


__all__ = ["batch_to_device", "multiscale_sizes", "resize_batch", "size_for_iteration"]
