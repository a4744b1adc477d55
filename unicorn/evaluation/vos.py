"""DAVIS video object segmentation metrics: J (region IoU) and F (boundary F-measure).

Conventions of ``davisvideochallenge/davis2017-evaluation`` (semi-supervised):

* J = |S ∩ G| / |S ∪ G|, and 1 when both masks are empty.
* F: one-pixel boundaries (``seg2bmap``: XOR with the east, south and south-east neighbours),
  each dilated by a disk of radius ``ceil(0.008 * ||(H, W)||)`` (8 px at 854x480), precision /
  recall of boundary pixels, F = 2PR / (P + R); an empty prediction against a non-empty gt gives
  F = 0, both empty give F = 1.
* Per object: M = mean, R = fraction of frames above 0.5, D = mean of the first quarter minus
  mean of the last quarter (4 overlapping bins); the first and last frames are not scored.
* Aggregates are means over all objects of all sequences; J&F = (J_M + F_M) / 2.

``davis2016_merged_sequence`` reproduces Unicorn's DAVIS-2016 toolbox (PyDavis16EvalToolbox):
all objects merged into one foreground (every non-zero pixel), first and last frames dropped,
and the scores averaged over the sequences (each has one object).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import cv2
import numpy as np

BOUNDARY_TOLERANCE = 0.008


def region_similarity(pred: np.ndarray, gt: np.ndarray, void: np.ndarray | None = None) -> float:
    """J of one frame: IoU of two (H, W) boolean masks, ignoring ``void`` pixels; 1 if the union is empty."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} have different sizes")
    keep = ~np.asarray(void, bool) if void is not None else np.ones_like(gt)
    union = np.count_nonzero((pred | gt) & keep)
    return 1.0 if union == 0 else np.count_nonzero(pred & gt & keep) / union


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """(H, W) bool one-pixel boundary of an (H, W) mask (``seg2bmap`` at full resolution)."""
    seg = np.asarray(mask, bool)
    east, south, south_east = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    boundary = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    boundary[-1, :] = seg[-1, :] ^ east[-1, :]
    boundary[:, -1] = seg[:, -1] ^ south[:, -1]
    boundary[-1, -1] = False
    return boundary


def disk(radius: float) -> np.ndarray:
    """(2r+1, 2r+1) uint8 disk structuring element, ``x^2 + y^2 <= r^2`` (as ``skimage.morphology.disk``)."""
    grid = np.arange(-int(radius), int(radius) + 1)
    xx, yy = np.meshgrid(grid, grid)
    return (xx**2 + yy**2 <= radius**2).astype(np.uint8)


def boundary_f_measure(pred: np.ndarray, gt: np.ndarray, void: np.ndarray | None = None,
                       bound_th: float = BOUNDARY_TOLERANCE) -> float:
    """F of one frame for (H, W) masks; ``bound_th`` < 1 is a fraction of the image diagonal."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if void is not None:
        pred, gt = pred & ~np.asarray(void, bool), gt & ~np.asarray(void, bool)
    radius = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(pred.shape))
    pred_b, gt_b = boundary_map(pred), boundary_map(gt)
    element = disk(radius)
    pred_dil = cv2.dilate(pred_b.astype(np.uint8), element) > 0
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), element) > 0
    n_pred, n_gt = np.count_nonzero(pred_b), np.count_nonzero(gt_b)
    if n_pred == 0 and n_gt > 0:
        precision, recall = 1.0, 0.0
    elif n_pred > 0 and n_gt == 0:
        precision, recall = 0.0, 1.0
    elif n_pred == 0 and n_gt == 0:
        precision, recall = 1.0, 1.0
    else:
        precision = np.count_nonzero(pred_b & gt_dil) / n_pred
        recall = np.count_nonzero(gt_b & pred_dil) / n_gt
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def statistics(values: np.ndarray) -> tuple[float, float, float]:
    """Mean, recall (fraction > 0.5) and decay of per-frame values (davis2017 ``db_statistics``).

    Args:
        values: (N,) per-frame J or F of one object (NaN allowed, ignored by mean and recall).
    """
    values = np.asarray(values, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = float(np.nanmean(values)) if len(values) else float("nan")
        recall = float(np.nanmean(values > 0.5)) if len(values) else float("nan")
        ids = (np.round(np.linspace(1, len(values), 5) + 1e-10) - 1).astype(np.int64)
        bins = [values[ids[i]:ids[i + 1] + 1] for i in range(4)]
        decay = float(np.nanmean(bins[0]) - np.nanmean(bins[3])) if len(values) else float("nan")
    return mean, recall, decay


def split_objects(labels: np.ndarray, object_ids: Sequence[int]) -> np.ndarray:
    """(K, H, W) bool masks of the given ids in an (H, W) label map (255 = void is never an object)."""
    labels = np.asarray(labels)
    return np.stack([labels == k for k in object_ids]) if len(object_ids) else np.zeros((0, *labels.shape), bool)


def davis_sequence(gt_labels: Sequence[np.ndarray], pred_labels: Sequence[np.ndarray],
                   object_ids: Sequence[int]) -> dict[int, dict[str, np.ndarray | float]]:
    """Semi-supervised DAVIS scores of one sequence, per object.

    Args:
        gt_labels: T (H, W) ground-truth label maps (object ids; 255 = void, treated as background).
        pred_labels: T (H, W) predicted label maps (object ids; other ids are ignored).
        object_ids: ids of the objects to score.

    Returns:
        ``{object id: {"J": (T-2,), "F": (T-2,), "J_mean", "J_recall", "J_decay", "F_mean", ...}}``
        scored on frames 1..T-2.
    """
    if len(gt_labels) != len(pred_labels):
        raise ValueError(f"{len(pred_labels)} predicted frames for {len(gt_labels)} ground-truth frames")
    scores = {k: {"J": [], "F": []} for k in object_ids}
    for gt, pred in zip(gt_labels[1:-1], pred_labels[1:-1]):
        gt_masks, pred_masks = split_objects(gt, object_ids), split_objects(pred, object_ids)
        for k, g, p in zip(object_ids, gt_masks, pred_masks):
            scores[k]["J"].append(region_similarity(p, g))
            scores[k]["F"].append(boundary_f_measure(p, g))
    out = {}
    for k, s in scores.items():
        j, f = np.asarray(s["J"]), np.asarray(s["F"])
        jm, jr, jd = statistics(j)
        fm, fr, fd = statistics(f)
        out[k] = {"J": j, "F": f, "J_mean": jm, "J_recall": jr, "J_decay": jd,
                  "F_mean": fm, "F_recall": fr, "F_decay": fd}
    return out


def davis2016_merged_sequence(gt_labels: Sequence[np.ndarray], pred_labels: Sequence[np.ndarray]) -> dict:
    """Unicorn's DAVIS-2016 protocol: every non-zero pixel is foreground, frames 1..T-2 scored.

    Returns:
        ``{"J": (T-2,), "F": (T-2,), "J_mean", "J_recall", "J_decay", "F_mean", "F_recall", "F_decay"}``.
        (The toolbox pads the unscored first and last frames with NaN and strips that padding again
        before recall and decay, so the statistics are those of the T-2 scored frames.)
    """
    if len(gt_labels) != len(pred_labels):
        raise ValueError(f"{len(pred_labels)} predicted frames for {len(gt_labels)} ground-truth frames")
    j, f = [], []
    for gt, pred in zip(gt_labels[1:-1], pred_labels[1:-1]):
        gt_fg, pred_fg = np.asarray(gt) > 0, np.asarray(pred) > 0
        j.append(region_similarity(pred_fg, gt_fg))
        f.append(boundary_f_measure(pred_fg, gt_fg))
    out: dict = {"J": np.asarray(j), "F": np.asarray(f)}
    for key in ("J", "F"):
        out[f"{key}_mean"], out[f"{key}_recall"], out[f"{key}_decay"] = statistics(out[key])
    return out


def davis_summary(per_object: Sequence[dict]) -> dict[str, float]:
    """Means over all objects of all sequences: J/F mean, recall, decay and J&F."""
    out = {}
    for key in ("J_mean", "J_recall", "J_decay", "F_mean", "F_recall", "F_decay"):
        out[key] = float(np.mean([o[key] for o in per_object])) if per_object else float("nan")
    out["J&F_mean"] = (out["J_mean"] + out["F_mean"]) / 2
    return out
