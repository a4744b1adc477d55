"""py-motmetrics on numpy 2: a scoped ``np.asfarray`` shim and helpers shared by the MOT and BDD paths.

``motmetrics==1.4.0`` calls ``np.asfarray`` (removed in numpy 2.0) in ``distances.iou_matrix``.
``numpy_asfarray_shim`` adds it only for the duration of a ``with`` block, and only when numpy
lacks it, then removes it again, so nothing outside the block sees a patched numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

_LOCK = threading.RLock()
_DEPTH = 0

# motmetrics metric name -> our name (MOTP is converted from distance to IoU by ``summarize_motmetrics``).
MOTMETRICS_NAMES = {
    "mota": "MOTA", "motp": "MOTP", "idf1": "IDF1", "idp": "IDP", "idr": "IDR", "recall": "Recall",
    "precision": "Precision", "num_switches": "IDSW", "num_false_positives": "FP", "num_misses": "FN",
    "num_detections": "TP", "mostly_tracked": "MT", "partially_tracked": "PT", "mostly_lost": "ML",
    "num_fragmentations": "Frag", "num_unique_objects": "GT_IDs",
}


def _asfarray(a, dtype=np.float64):
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.inexact):
        dtype = np.dtype(np.float64)
    return np.asarray(a, dtype=dtype)


@contextmanager
def numpy_asfarray_shim() -> Iterator[None]:
    """Provide ``np.asfarray`` inside the block when numpy (>= 2) does not have it; re-entrant."""
    global _DEPTH
    with _LOCK:
        if _DEPTH == 0 and "asfarray" not in np.__dict__:
            np.asfarray = _asfarray
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0 and np.__dict__.get("asfarray") is _asfarray:
                del np.asfarray


def iou_distances(gt_xywh: np.ndarray, tracker_xywh: np.ndarray, max_distance: float = 0.5) -> np.ndarray:
    """motmetrics' ``iou_matrix``: (G, K) distances ``1 - IoU``, NaN where ``1 - IoU > max_distance``.

    Args:
        gt_xywh: (G, 4) boxes left, top, width, height.
        tracker_xywh: (K, 4) boxes.
        max_distance: largest distance that may still pair (0.5 = IoU >= 0.5).
    """
    import motmetrics as mm

    if len(gt_xywh) == 0 or len(tracker_xywh) == 0:
        return np.full((len(gt_xywh), len(tracker_xywh)), np.nan)
    with numpy_asfarray_shim():
        return mm.distances.iou_matrix(gt_xywh, tracker_xywh, max_iou=max_distance)


def summarize_motmetrics(accumulators: Sequence, names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Compute motmetrics' MOTChallenge metrics per accumulator plus an ``OVERALL`` row.

    Returns:
        ``{name or "OVERALL": {our metric name: value}}``; ``MOTP`` is an IoU (``1 - motp``).
    """
    import motmetrics as mm

    host = mm.metrics.create()
    with numpy_asfarray_shim():
        frame = host.compute_many(list(accumulators), names=list(names), metrics=list(MOTMETRICS_NAMES),
                                  generate_overall=True)
    out = {}
    for row, values in frame.to_dict(orient="index").items():
        flat = {MOTMETRICS_NAMES[k]: float(v) for k, v in values.items()}
        flat["MOTP"] = 1.0 - flat["MOTP"]
        out[str(row)] = flat
    return out
