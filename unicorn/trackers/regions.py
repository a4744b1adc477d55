"""Regions on the stride-8 grid of a frame's embedding: box prompts become object probabilities, label
maps become boxes (shared by the propagation, search-region and MOTS trackers)."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..models.interaction.memory import propagate_labels

CORE = 0.5  # side of a box's core (object seeds) as a fraction of the box
RING = 2.0  # side of the background ring's outer edge as a multiple of the box


def cell_fractions(maps: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(K, Hr, Wr) maps at input pixels -> (K, h, w) fraction of each stride-8 cell they cover."""
    h, w = grid
    maps = F.pad(maps[None], (0, w * 8 - maps.shape[-1], 0, h * 8 - maps.shape[-2]))
    return F.avg_pool2d(maps, 8)[0]


def box_offsets(prompt_xyxy: np.ndarray, region_xyxy: np.ndarray | None) -> np.ndarray:
    """How a prompt box sits around the box of the region it holds: (prompt - region) in region sizes
    (zeros without a region). Adding ``offsets * size`` to a later region box gives the tracked box."""
    if region_xyxy is None:
        return np.zeros(4)
    size = np.maximum(region_xyxy[2:] - region_xyxy[:2], 1.0)
    return (prompt_xyxy - region_xyxy) / np.r_[size, size]


def with_offsets(region_xyxy: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The box that sits around ``region_xyxy`` as a prompt box sat around its region (see
    :func:`box_offsets`): ``region + offsets * size``."""
    size = region_xyxy[2:] - region_xyxy[:2]
    return region_xyxy + offsets * np.r_[size, size]


def channel_argmax(maps: torch.Tensor) -> torch.Tensor:
    """``maps.argmax(0)`` for (C, H, W) maps with few channels, one element-wise pass per channel (a
    reduction over the outer axis of a large strided tensor is far slower on CPU)."""
    best, index = maps[0], torch.zeros(maps.shape[1:], dtype=torch.long, device=maps.device)
    for c in range(1, maps.shape[0]):
        better = maps[c] > best
        best = torch.where(better, maps[c], best)
        index = torch.where(better, torch.full_like(index, c), index)
    return index


def box_cells(boxes_xyxy: np.ndarray, grid: tuple[int, int], scale: float = 1.0,
              device: torch.device | None = None) -> torch.Tensor:
    """(K, 4) input-pixel boxes, scaled about their centres -> (K, h, w) fraction of each cell inside."""
    h, w = grid
    out = torch.zeros((len(boxes_xyxy), h * 8, w * 8), device=device)
    for k, (x1, y1, x2, y2) in enumerate(np.asarray(boxes_xyxy, np.float64)):
        cx, cy, bw, bh = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * scale, (y2 - y1) * scale
        xa, xb = int(np.floor(cx - bw / 2)), int(np.ceil(cx + bw / 2))
        ya, yb = int(np.floor(cy - bh / 2)), int(np.ceil(cy + bh / 2))
        out[k, max(ya, 0):max(yb, ya + 1), max(xa, 0):max(xb, xa + 1)] = 1.0
    return cell_fractions(out, (h, w))


def box_prior(emb: torch.Tensor, boxes_xyxy: np.ndarray, topk: int = 10) -> torch.Tensor:
    """Object probability of every cell of a frame for box prompts, from the frame alone: (K, h, w).

    Inside each box, a cell takes the label of its ``topk`` most similar cells (temperature 0.05)
    among the box's core (the central ``CORE`` of it: object) and a ring around it (out to ``RING``
    times the box: background), so background inside the box is not taken for the object; outside
    the box it is 0. A box too small for a core cell, or with no ring, is taken whole.

    Args:
        emb: (C, h, w) the frame's embedding (stride 8).
        boxes_xyxy: (K, 4) boxes in input pixels.
        topk: neighbours per cell.
    """
    grid = tuple(emb.shape[-2:])
    inside = box_cells(boxes_xyxy, grid, device=emb.device)
    core = box_cells(boxes_xyxy, grid, CORE, emb.device) > 0.5
    ring = (box_cells(boxes_xyxy, grid, RING, emb.device) > 0) & (inside == 0)
    flat = emb.flatten(1)
    out = inside.clone()
    for k in range(len(boxes_xyxy)):
        if not core[k].any() or not ring[k].any():
            continue
        seeds = torch.cat([core[k].flatten().nonzero()[:, 0], ring[k].flatten().nonzero()[:, 0]])
        seed_labels = torch.zeros((1, len(seeds)), device=emb.device)
        seed_labels[0, :int(core[k].sum())] = 1.0
        prob = propagate_labels(flat, flat[:, seeds], seed_labels, topk, 0.05)
        out[k] = inside[k] * prob.view(grid)
    return out


def main_blobs(mask: np.ndarray, fraction: float = 0.2) -> np.ndarray | None:
    """The largest connected blob of a bool mask and every blob at least ``fraction`` of it (None: empty)."""
    if not mask.any():
        return None
    n, comp, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 2:
        return mask
    areas = stats[1:, cv2.CC_STAT_AREA]
    return np.isin(comp, 1 + np.flatnonzero(areas >= fraction * areas.max()))
