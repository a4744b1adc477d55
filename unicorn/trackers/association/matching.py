"""Box overlap and assignment helpers shared by the associators (numpy only)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def iou_matrix(boxes_a: np.ndarray, boxes_b: np.ndarray, plus_one: bool = False) -> np.ndarray:
    """Pairwise IoU of two box sets.

    Args:
        boxes_a: (N, 4) x1 y1 x2 y2.
        boxes_b: (M, 4) x1 y1 x2 y2.
        plus_one: use the legacy pixel convention where a box spans ``x2 - x1 + 1`` pixels
            (what ByteTrack's ``cython_bbox`` computes; needed to reproduce upstream tracks).

    Returns:
        (N, M) float64 IoU in [0, 1].
    """
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    off = 1.0 if plus_one else 0.0
    area_a = (a[:, 2] - a[:, 0] + off) * (a[:, 3] - a[:, 1] + off)
    area_b = (b[:, 2] - b[:, 0] + off) * (b[:, 3] - b[:, 1] + off)
    iw = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + off
    ih = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + off
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return out


def fuse_score(cost: np.ndarray, det_scores: np.ndarray) -> np.ndarray:
    """ByteTrack's score fusion: ``1 - (1 - cost) * score`` per detection column.

    Args:
        cost: (N, M) IoU distances (1 - IoU).
        det_scores: (M,) detection scores.

    Returns:
        (N, M) fused cost.
    """
    if cost.size == 0:
        return cost
    return 1.0 - (1.0 - cost) * np.asarray(det_scores, dtype=np.float64)[None, :]


def linear_assignment(cost: np.ndarray, thresh: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Minimum-cost matching where leaving a row or a column unmatched costs ``thresh / 2``.

    This is the rule of ``lap.lapjv(cost, extend_cost=True, cost_limit=thresh)`` used by
    ByteTrack: a pair is only worth matching when its cost is below ``thresh``. It is solved
    here with SciPy on the (N + M) square matrix that adds one dummy per row and per column.

    Args:
        cost: (N, M) cost matrix.
        thresh: largest acceptable cost of a match.

    Returns:
        matches (K, 2) int rows/cols, unmatched rows (N - K,), unmatched cols (M - K,).
    """
    n, m = cost.shape
    if n == 0 or m == 0:
        return np.zeros((0, 2), dtype=np.int64), np.arange(n), np.arange(m)
    big = np.full((n + m, n + m), thresh / 2.0)
    big[n:, m:] = 0.0
    big[:n, :m] = np.where(np.isfinite(cost), cost, thresh + 1e6)
    rows, cols = linear_sum_assignment(big)
    keep = (rows < n) & (cols < m)
    keep[keep] = big[rows[keep], cols[keep]] <= thresh
    matches = np.stack([rows[keep], cols[keep]], axis=1).astype(np.int64)
    unmatched_rows = np.setdiff1d(np.arange(n), matches[:, 0])
    unmatched_cols = np.setdiff1d(np.arange(m), matches[:, 1])
    return matches, unmatched_rows, unmatched_cols
