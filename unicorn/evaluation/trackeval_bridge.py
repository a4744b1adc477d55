"""Run TrackEval's own HOTA, CLEAR and Identity metric classes on arrays prepared by our readers.

TrackEval (``trackeval==1.3.0``) computes the numbers; this module only builds its per-sequence
``data`` dict (ids relabelled to 0..n-1, counts, per-frame similarity matrices), combines
sequences and classes with TrackEval's own functions and flattens the results.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

METRICS = ("HOTA", "CLEAR", "Identity")

# Our summary key -> (TrackEval metric, field). Array fields (over the 19 HOTA alphas) are averaged.
SUMMARY_FIELDS = {
    "HOTA": ("HOTA", "HOTA"), "DetA": ("HOTA", "DetA"), "AssA": ("HOTA", "AssA"), "LocA": ("HOTA", "LocA"),
    "DetRe": ("HOTA", "DetRe"), "DetPr": ("HOTA", "DetPr"), "AssRe": ("HOTA", "AssRe"),
    "AssPr": ("HOTA", "AssPr"), "OWTA": ("HOTA", "OWTA"), "HOTA(0)": ("HOTA", "HOTA(0)"),
    "LocA(0)": ("HOTA", "LocA(0)"),
    "MOTA": ("CLEAR", "MOTA"), "MOTP": ("CLEAR", "MOTP"), "MODA": ("CLEAR", "MODA"), "sMOTA": ("CLEAR", "sMOTA"),
    "Recall": ("CLEAR", "CLR_Re"), "Precision": ("CLEAR", "CLR_Pr"), "TP": ("CLEAR", "CLR_TP"),
    "FN": ("CLEAR", "CLR_FN"), "FP": ("CLEAR", "CLR_FP"), "IDSW": ("CLEAR", "IDSW"), "MT": ("CLEAR", "MT"),
    "PT": ("CLEAR", "PT"), "ML": ("CLEAR", "ML"), "Frag": ("CLEAR", "Frag"),
    "IDF1": ("Identity", "IDF1"), "IDP": ("Identity", "IDP"), "IDR": ("Identity", "IDR"),
    "IDTP": ("Identity", "IDTP"), "IDFN": ("Identity", "IDFN"), "IDFP": ("Identity", "IDFP"),
}
INTEGER_KEYS = ("TP", "FN", "FP", "IDSW", "MT", "PT", "ML", "Frag", "IDTP", "IDFN", "IDFP")


def build_data(gt_ids: Sequence[np.ndarray], tracker_ids: Sequence[np.ndarray],
               similarity: Sequence[np.ndarray], name: str = "") -> dict:
    """TrackEval's per-sequence ``data`` dict from per-frame ids and similarities.

    Args:
        gt_ids: per frame, (G_t,) int ground-truth ids (any integers, unique within a frame).
        tracker_ids: per frame, (K_t,) int tracker ids.
        similarity: per frame, (G_t, K_t) float similarity (IoU) between gt and tracker objects.
        name: sequence name.

    Returns:
        The dict TrackEval's ``eval_sequence`` reads, with ids relabelled to 0..n-1.
    """
    gt_ids = [np.asarray(x, dtype=np.int64).reshape(-1) for x in gt_ids]
    tracker_ids = [np.asarray(x, dtype=np.int64).reshape(-1) for x in tracker_ids]
    sims = [np.asarray(s, dtype=np.float64).reshape(len(g), len(k))
            for s, g, k in zip(similarity, gt_ids, tracker_ids)]
    gt_relabelled, num_gt = _relabel(gt_ids)
    tr_relabelled, num_tr = _relabel(tracker_ids)
    return {
        "num_timesteps": len(gt_ids), "seq": name,
        "gt_ids": gt_relabelled, "tracker_ids": tr_relabelled, "similarity_scores": sims,
        "num_gt_ids": num_gt, "num_tracker_ids": num_tr,
        "num_gt_dets": int(sum(len(x) for x in gt_ids)), "num_tracker_dets": int(sum(len(x) for x in tracker_ids)),
    }


def _relabel(ids: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    all_ids = np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
    return [np.searchsorted(all_ids, x).astype(int) for x in ids], len(all_ids)


class TrackEvalMetrics:
    """TrackEval's HOTA, CLEAR and Identity metric objects.

    Args:
        threshold: similarity needed for a CLEAR / Identity match (0.5 as in every benchmark).
    """

    def __init__(self, threshold: float = 0.5) -> None:
        from trackeval.metrics import CLEAR, HOTA, Identity

        config = {"THRESHOLD": threshold, "PRINT_CONFIG": False}
        self.metrics = {"HOTA": HOTA(), "CLEAR": CLEAR(config), "Identity": Identity(config)}

    def eval_sequence(self, data: dict) -> dict:
        """``{metric name: TrackEval result dict}`` of one sequence (one class)."""
        return {name: metric.eval_sequence(data) for name, metric in self.metrics.items()}

    def combine_sequences(self, per_sequence: Mapping[str, dict]) -> dict:
        """Combine sequences as TrackEval does (integer counts summed, scores recomputed)."""
        return {name: metric.combine_sequences({s: r[name] for s, r in per_sequence.items()})
                for name, metric in self.metrics.items()}

    def combine_classes(self, per_class: Mapping[str, dict], averaged: str = "class") -> dict:
        """Combine classes: ``"class"`` = plain mean over classes (empty classes count as 0, TrackEval's
        default), ``"det"`` = pooled counts (detection averaged)."""
        out = {}
        for name, metric in self.metrics.items():
            res = {c: r[name] for c, r in per_class.items()}
            out[name] = (metric.combine_classes_class_averaged(res) if averaged == "class"
                         else metric.combine_classes_det_averaged(res))
        return out


def summarize(result: dict) -> dict[str, float]:
    """Flatten a ``{metric: TrackEval result}`` dict into ``{"HOTA": ..., "MOTA": ..., "IDF1": ...}``.

    HOTA-family values are means over the 19 alpha thresholds, as TrackEval reports them.
    """
    out: dict[str, float] = {}
    for key, (metric, field) in SUMMARY_FIELDS.items():
        value = result[metric][field]
        value = float(np.mean(value)) if np.ndim(value) else float(value)
        out[key] = int(round(value)) if key in INTEGER_KEYS else value
    return out
