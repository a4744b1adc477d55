"""Single-object tracking metrics in the conventions of the toolkits the published numbers come from.

* ``pytracking_*`` — pytracking / STARK / Unicorn (LaSOT, OTB, ...): success curve over 21 IoU
  thresholds (``IoU > thr``), AUC = mean of the curve, precision at 20 px, normalised precision
  at 0.20. Frame 0 is forced to the ground truth, a prediction with zero width or height is
  replaced by the previous one, and frames whose ground truth is invalid (w or h <= 0) or absent
  (``visible`` False) count as failures with the whole sequence length as denominator (pytracking's
  default ``exclude_invalid_frames=False``). Scores are percentages, as pytracking prints them.
* ``got10k_*`` — the GOT-10k toolkit: boxes clipped to the image, frame 0 and frames with
  ``cover == 0`` excluded, AO = mean IoU over all frames of all sequences (frame weighted),
  SR = fraction of frames with IoU above 0.5 / 0.75. Scores are fractions.
* ``trackingnet_*`` — the TrackingNet server devkit: rounded coordinates, +1 pixel convention,
  ``IoU >= thr``, trapezoidal AUC of all three curves. Scores are percentages.

All boxes are (T, 4) float arrays of ``x, y, w, h`` (left, top, width, height).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

THRESHOLDS_OVERLAP = np.linspace(0, 1, 21)
THRESHOLDS_CENTER = np.arange(0, 51, dtype=np.float64)
THRESHOLDS_CENTER_NORM = np.arange(0, 51, dtype=np.float64) / 100.0


def _check(pred_xywh: np.ndarray, gt_xywh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = np.array(pred_xywh, dtype=np.float64).reshape(-1, 4)
    gt = np.array(gt_xywh, dtype=np.float64).reshape(-1, 4)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction has {len(pred)} boxes but the ground truth has {len(gt)}")
    return pred, gt


def pytracking_errors(pred_xywh: np.ndarray, gt_xywh: np.ndarray, visible: np.ndarray | None = None):
    """Per-frame IoU, centre error and normalised centre error as pytracking's ``calc_seq_err_robust``.

    Args:
        pred_xywh: (T, 4) predicted boxes.
        gt_xywh: (T, 4) ground-truth boxes (NaN rows count as invalid).
        visible: (T,) bool target visibility (LaSOT: not fully occluded and not out of view), or
            None when the benchmark has no absence labels.

    Returns:
        ``(overlap, center, center_norm, valid)``, each (T,). Invalid frames have overlap -1 and
        centre error inf; their normalised error is inf when ``visible`` marks them absent and -1
        otherwise (pytracking's generic branch, which counts such frames as normalised-precision hits).

    Raises:
        ValueError: a prediction is NaN or has a negative width / height (pytracking refuses these).
    """
    pred, gt = _check(pred_xywh, gt_xywh)
    if np.isnan(pred).any() or (pred[:, 2:] < 0).any():
        raise ValueError("predictions contain NaN or a negative width/height")
    gt_nan = np.isnan(gt).any(axis=1)
    gt = np.nan_to_num(gt)
    for t in range(1, len(pred)):  # zero-size predictions keep the previous box
        if (pred[t, 2:] == 0).any() and not gt_nan[t]:
            pred[t] = pred[t - 1]
    if len(pred):
        pred[0] = gt[0]
    valid = (gt[:, 2:] > 0).all(axis=1) & ~gt_nan
    if visible is not None:
        visible = np.asarray(visible, dtype=bool).reshape(-1)
        valid &= visible
    tl = np.maximum(pred[:, :2], gt[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
    inter = np.prod(np.clip(br - tl + 1.0, 0, None), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        overlap = inter / (np.prod(pred[:, 2:], axis=1) + np.prod(gt[:, 2:], axis=1) - inter)
        pred_c, gt_c = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0), gt[:, :2] + 0.5 * (gt[:, 2:] - 1.0)
        center = np.sqrt(((pred_c - gt_c) ** 2).sum(axis=1))
        center_norm = np.sqrt(((pred_c / gt[:, 2:] - gt_c / gt[:, 2:]) ** 2).sum(axis=1))
    overlap[~valid] = -1.0
    center[~valid] = np.inf
    center_norm[~valid] = -1.0
    if visible is not None:
        center[~visible] = np.inf
        center_norm[~visible] = np.inf
    return overlap, center, center_norm, valid


def pytracking_curves(pred_xywh: np.ndarray, gt_xywh: np.ndarray, visible: np.ndarray | None = None,
                      exclude_invalid_frames: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Success (21,), precision (51,) and normalised-precision (51,) curves of one sequence, in [0, 1].

    Args:
        pred_xywh: (T, 4) predicted boxes.
        gt_xywh: (T, 4) ground-truth boxes.
        visible: (T,) bool visibility, or None (see ``pytracking_errors``).
        exclude_invalid_frames: divide by the number of valid frames instead of T (pytracking's
            non-default option; the published numbers use the default False).
    """
    overlap, center, center_norm, valid = pytracking_errors(pred_xywh, gt_xywh, visible)
    length = max(int(valid.sum()) if exclude_invalid_frames else len(overlap), 1)
    success = (overlap[:, None] > THRESHOLDS_OVERLAP[None]).sum(0) / length
    precision = (center[:, None] <= THRESHOLDS_CENTER[None]).sum(0) / length
    norm_precision = (center_norm[:, None] <= THRESHOLDS_CENTER_NORM[None]).sum(0) / length
    return success, precision, norm_precision


def ope_summary(success: np.ndarray, precision: np.ndarray, norm_precision: np.ndarray) -> dict[str, float]:
    """pytracking's report from per-sequence curves.

    Args:
        success: (S, 21) success curves of S sequences.
        precision: (S, 51) precision curves.
        norm_precision: (S, 51) normalised-precision curves.

    Returns:
        ``AUC`` (mean of the averaged success curve), ``OP50`` / ``OP75`` (success at IoU 0.5 / 0.75),
        ``Precision`` (at 20 px) and ``NormPrecision`` (at 0.20), all in percent.
    """
    auc_curve = np.asarray(success).reshape(-1, len(THRESHOLDS_OVERLAP)).mean(0) * 100
    prec_curve = np.asarray(precision).reshape(-1, len(THRESHOLDS_CENTER)).mean(0) * 100
    norm_curve = np.asarray(norm_precision).reshape(-1, len(THRESHOLDS_CENTER_NORM)).mean(0) * 100
    return {"AUC": float(auc_curve.mean()), "OP50": float(auc_curve[10]), "OP75": float(auc_curve[15]),
            "Precision": float(prec_curve[20]), "NormPrecision": float(norm_curve[20])}


def clip_to_image(boxes_xywh: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
    """Boxes clipped to the image as the GOT-10k toolkit does: (T, 4) for (T, 4) and (height, width)."""
    h, w = image_size
    out = np.array(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    out[:, 0] = np.clip(out[:, 0], 0, w)
    out[:, 1] = np.clip(out[:, 1], 0, h)
    out[:, 2] = np.clip(out[:, 2], 0, w - out[:, 0])
    out[:, 3] = np.clip(out[:, 3], 0, h - out[:, 1])
    return out


def got10k_ious(pred_runs: Sequence[np.ndarray], gt_xywh: np.ndarray, cover: np.ndarray,
                image_size: tuple[int, int] | None) -> np.ndarray:
    """IoUs of the scored frames of one GOT-10k sequence, all repetitions concatenated.

    Args:
        pred_runs: R arrays (T, 4), one per repetition of the tracker.
        gt_xywh: (T, 4) ground truth.
        cover: (T,) visible-ratio class; frames with 0 are not scored.
        image_size: (height, width) to clip the boxes to, or None to skip clipping.

    Returns:
        (R * V,) IoUs of frames 1..T-1 with ``cover > 0`` (V of them), repetition after repetition.
    """
    keep = np.asarray(cover).reshape(-1)[1:] > 0
    out = []
    for run in pred_runs:
        pred, gt = _check(run, gt_xywh)
        if image_size is not None:
            pred, gt = clip_to_image(pred, image_size), clip_to_image(gt, image_size)
        pred, gt = pred[1:], gt[1:]
        x1 = np.maximum(pred[:, 0], gt[:, 0])
        y1 = np.maximum(pred[:, 1], gt[:, 1])
        x2 = np.minimum(pred[:, 0] + pred[:, 2], gt[:, 0] + gt[:, 2])
        y2 = np.minimum(pred[:, 1] + pred[:, 3], gt[:, 1] + gt[:, 3])
        inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
        union = np.prod(pred[:, 2:], axis=1) + np.prod(gt[:, 2:], axis=1) - inter
        out.append(np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)[keep])
    return np.concatenate(out) if out else np.zeros(0)


def got10k_summary(ious: Mapping[str, np.ndarray]) -> dict:
    """GOT-10k report: AO, SR0.5, SR0.75 over all scored frames pooled (frame weighted), plus per sequence.

    Args:
        ious: ``{sequence: IoUs from got10k_ious}``.

    Returns:
        ``{"AO", "SR50", "SR75", "success_curve" (101,), "per_sequence": {seq: {"AO", "SR50", "SR75"}}}``.
    """
    def scores(x: np.ndarray) -> dict[str, float]:
        return {"AO": float(np.mean(x)), "SR50": float(np.mean(x > 0.5)), "SR75": float(np.mean(x > 0.75))}

    pooled = np.concatenate(list(ious.values())) if ious else np.zeros(0)
    out: dict = scores(pooled) if len(pooled) else {"AO": float("nan"), "SR50": float("nan"), "SR75": float("nan")}
    out["success_curve"] = (pooled[:, None] > np.linspace(0, 1, 101)[None]).mean(0).tolist() if len(pooled) else []
    out["per_sequence"] = {name: scores(x) for name, x in ious.items() if len(x)}
    return out


def trackingnet_curves(pred_xywh: np.ndarray, gt_xywh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Success, precision and normalised-precision curves (21 points each) of one sequence, devkit rules.

    Thresholds: IoU ``linspace(0, 1, 21)`` with ``IoU >= thr``; centre distance ``linspace(0, 50, 21)``
    and normalised distance ``linspace(0, 0.5, 21)`` with ``<=``. Coordinates are rounded, frame 0
    is the ground truth, the +1 pixel convention is used for corners and centres.
    """
    pred, gt = _check(pred_xywh, gt_xywh)
    pred, gt = np.round(pred), np.round(gt)
    if len(pred):
        pred[0] = gt[0]
    x1 = np.maximum(gt[:, :2], pred[:, :2])
    x2 = np.minimum(gt[:, :2] + gt[:, 2:] - 1.0, pred[:, :2] + pred[:, 2:] - 1.0)
    inter = np.prod(np.clip(np.round(x2 - x1 + 1), 0, None), axis=1)
    gt_c, pred_c = gt[:, :2] + (gt[:, 2:] + 1.0) / 2.0, pred[:, :2] + (pred[:, 2:] + 1.0) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / (np.prod(gt[:, 2:], axis=1) + np.prod(pred[:, 2:], axis=1) - inter)
        dist = np.sqrt(((gt_c - pred_c) ** 2).sum(axis=1))
        ndist = np.sqrt((((gt_c - pred_c) / gt[:, 2:]) ** 2).sum(axis=1))
    n = max(len(pred), 1)
    success = (iou[:, None] >= np.linspace(0, 1, 21)[None]).sum(0) / n
    precision = (dist[:, None] <= np.linspace(0, 50, 21)[None]).sum(0) / n
    norm_precision = (ndist[:, None] <= np.linspace(0, 0.5, 21)[None]).sum(0) / n
    return success, precision, norm_precision


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    return float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2.0)


def trackingnet_summary(success: np.ndarray, precision: np.ndarray, norm_precision: np.ndarray) -> dict[str, float]:
    """TrackingNet report: trapezoidal areas (x rescaled to [0, 1]) of the sequence-averaged curves, in percent.

    Args:
        success: (S, 21), precision: (S, 21), norm_precision: (S, 21) per-sequence curves.
    """
    x = np.linspace(0, 1, 21)
    return {"Success": _trapezoid(np.mean(success, axis=0), x) * 100,
            "Precision": _trapezoid(np.mean(precision, axis=0), x) * 100,
            "NormPrecision": _trapezoid(np.mean(norm_precision, axis=0), x) * 100}
