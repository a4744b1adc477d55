"""The card's scores, from the project's metric functions (percent)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from unicorn.data.datasets.base import TrackAnnotations
from unicorn.evaluation import sot, vos
from unicorn.evaluation.card.data import DavisClip, MotClip, SotSequence
from unicorn.evaluation.mot import evaluate_mot

MOT_KEYS = ("HOTA", "DetA", "AssA", "MOTA", "IDF1", "MOTP")
MOT_COUNTS = ("IDSW", "FP", "FN", "TP")


def score_sot(preds: dict[str, np.ndarray], seqs: Sequence[SotSequence]) -> dict:
    """pytracking AUC / precision per sequence and over all targets.

    Args:
        preds: ``{sequence: (K, T, 4) boxes x, y, w, h}``.
        seqs: the sequences with their ground truth.

    Returns:
        ``AUC``, ``Precision``, ``OP50``, ``NormPrecision`` over all targets (the mean of per-target curves),
        ``targets``, ``per_sequence`` (AUC, Precision, targets) and the mean ``success_curve``.
    """
    curves, per_seq = [], {}
    for seq in seqs:
        seq_curves = [sot.pytracking_curves(preds[seq.name][k], seq.gt[k]) for k in range(len(seq.init))]
        summary = sot.ope_summary(*(np.stack([c[i] for c in seq_curves]) for i in range(3)))
        per_seq[seq.name] = {"AUC": summary["AUC"], "Precision": summary["Precision"], "targets": len(seq_curves)}
        curves += seq_curves
    stacked = [np.stack([c[i] for c in curves]) for i in range(3)]
    summary = sot.ope_summary(*stacked)
    return {"AUC": summary["AUC"], "Precision": summary["Precision"], "OP50": summary["OP50"],
            "NormPrecision": summary["NormPrecision"], "targets": len(curves), "per_sequence": per_seq,
            "success_curve": stacked[0].mean(0).tolist()}


def score_vos(preds: dict[str, list[np.ndarray]], clips: Sequence[DavisClip]) -> dict:
    """DAVIS-2016 J, F and J&F per sequence and their means (per-frame J and F of frames 1..T-2).

    Args:
        preds: ``{sequence: T (H, W) masks}``.
        clips: the sequences with their ground-truth masks.
    """
    per_seq, scores = {}, []
    for clip in clips:
        s = vos.davis2016_merged_sequence([m.astype(np.uint8) for m in clip.masks],
                                          [np.asarray(p, np.uint8) for p in preds[clip.name]])
        scores.append(s)
        per_seq[clip.name] = {"J": 100 * s["J_mean"], "F": 100 * s["F_mean"],
                              "J&F": 50 * (s["J_mean"] + s["F_mean"]),
                              "J_frames": (100 * s["J"]).tolist(), "F_frames": (100 * s["F"]).tolist()}
    summary = vos.davis_summary(scores)
    return {"J": 100 * summary["J_mean"], "F": 100 * summary["F_mean"], "J&F": 100 * summary["J&F_mean"],
            "J_recall": 100 * summary["J_recall"], "F_recall": 100 * summary["F_recall"], "per_sequence": per_seq}


def score_mot(preds: dict[str, TrackAnnotations], clips: Sequence[MotClip]) -> dict:
    """HOTA / CLEAR / Identity over all sequences with the project's TrackEval bridge (MOT17 preprocessing).

    Args:
        preds: ``{sequence: tracker rows}``.
        clips: the sequences with their ground truth.
    """
    result = evaluate_mot({c.name: (c.gt, preds[c.name], len(c.frames)) for c in clips}, "MOT17")

    def pick(d: dict) -> dict:
        return {**{k: 100 * d[k] for k in MOT_KEYS}, **{k: d[k] for k in MOT_COUNTS}}

    return {**pick(result.combined), "sequences": len(clips), "frames": sum(len(c.frames) for c in clips),
            "per_sequence": {name: pick(v) for name, v in result.per_sequence.items()}}
