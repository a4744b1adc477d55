"""MOTChallenge box-tracking metrics: HOTA, CLEAR and Identity through TrackEval, and a motmetrics path.

The preprocessing follows TrackEval's ``MotChallenge2DBox`` (``DO_PREPROC=True``) exactly:

* MOT17 / MOT16 / MOT20: per frame, all gt boxes (every class) are Hungarian-matched to the
  tracker boxes (IoU >= 0.5); tracker boxes matched to a distractor (person on vehicle, static
  person, distractor, reflection; MOT20 also non-motorized vehicle) are removed; then only gt
  rows with class 1 (pedestrian) and flag != 0 are kept. Tracker boxes matched to other
  non-pedestrian gt (cars, occluders) stay and count as false positives.
* MOT15 (and custom data without classes): only gt rows with flag != 0 are kept.

Tracker rows must have class <= 1 (column 8 of the file; -1 when unused).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from unicorn.data.datasets.base import TrackAnnotations
from unicorn.errors import UserError
from unicorn.evaluation.motmetrics_compat import iou_distances, summarize_motmetrics
from unicorn.evaluation.trackeval_bridge import TrackEvalMetrics, build_data, summarize

PEDESTRIAN = 1
DISTRACTOR_CLASSES = {"MOT17": (2, 7, 8, 12), "MOT16": (2, 7, 8, 12), "MOT20": (2, 6, 7, 8, 12)}
VALID_GT_CLASSES = tuple(range(1, 14))
_EPS = np.finfo(float).eps

# One sequence: (ground truth, tracker output, number of frames).
MotInput = tuple[TrackAnnotations, TrackAnnotations, int]


@dataclass
class MotResult:
    """Scores of one evaluation.

    Attributes:
        per_sequence: ``{sequence: {metric: value}}``.
        combined: ``{metric: value}`` over all sequences (TrackEval's combination).
        benchmark: the preprocessing used.
    """

    per_sequence: dict[str, dict[str, float]] = field(default_factory=dict)
    combined: dict[str, float] = field(default_factory=dict)
    benchmark: str = "MOT17"


def box_ious(gt_xywh: np.ndarray, tracker_xywh: np.ndarray, box_format: str = "xywh", do_ioa: bool = False):
    """TrackEval's box IoU (no +1; zero-area boxes give 0): (G, K) for (G, 4) and (K, 4) boxes.

    With ``do_ioa`` it is the intersection over the area of the first set's boxes.
    """
    from trackeval.datasets._base_dataset import _BaseDataset

    a = np.asarray(gt_xywh, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(tracker_xywh, dtype=np.float64).reshape(-1, 4)
    return _BaseDataset._calculate_box_ious(a, b, box_format=box_format, do_ioa=do_ioa)


def hungarian_matches(similarity: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """TrackEval's preprocessing match: rows / cols of the max-similarity assignment with sim >= threshold."""
    if similarity.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    scores = similarity.copy()
    scores[scores < threshold - _EPS] = 0
    rows, cols = linear_sum_assignment(-scores)
    ok = scores[rows, cols] > 0 + _EPS
    return rows[ok], cols[ok]


def preprocess_frame(gt_classes: np.ndarray, gt_flags: np.ndarray, similarity: np.ndarray,
                     benchmark: str) -> tuple[np.ndarray, np.ndarray]:
    """Which gt and tracker boxes of one frame are evaluated (MotChallenge2DBox preprocessing).

    Args:
        gt_classes: (G,) gt classes of the frame.
        gt_flags: (G,) gt "consider" flags.
        similarity: (G, K) IoU between all gt and tracker boxes of the frame.
        benchmark: "MOT15", "MOT16", "MOT17" or "MOT20".

    Returns:
        ``(gt_keep, tracker_keep)``: (G,) and (K,) bool masks.
    """
    num_gt, num_tr = similarity.shape
    tracker_keep = np.ones(num_tr, dtype=bool)
    if benchmark == "MOT15":
        return gt_flags != 0, tracker_keep
    if num_gt and num_tr:
        invalid = np.setdiff1d(np.unique(gt_classes), VALID_GT_CLASSES)
        if len(invalid):
            raise UserError(f"gt classes {invalid.tolist()} are not MOTChallenge classes 1..13; "
                            f"use --benchmark mot15 for files without classes")
        rows, cols = hungarian_matches(similarity)
        tracker_keep[cols[np.isin(gt_classes[rows], DISTRACTOR_CLASSES[benchmark])]] = False
    return (gt_flags != 0) & (gt_classes == PEDESTRIAN), tracker_keep


def _frames(gt: TrackAnnotations, tracker: TrackAnnotations, num_frames: int, benchmark: str):
    """Yield per frame: kept gt rows, kept tracker rows and their IoU matrix."""
    if len(tracker) and tracker.classes.max() > PEDESTRIAN:
        bad = int(np.argmax(tracker.classes > PEDESTRIAN))
        raise UserError(f"{tracker.source}:{tracker.lines[bad]}: tracker class {tracker.classes[bad]} found; "
                        f"MOTChallenge evaluates pedestrians only (column 8 must be 1 or -1)")
    gt_rows, tr_rows = gt.rows_per_frame(num_frames), tracker.rows_per_frame(num_frames)
    for g, k in zip(gt_rows, tr_rows):
        sim = box_ious(gt.boxes_xywh[g], tracker.boxes_xywh[k])
        gt_keep, tr_keep = preprocess_frame(gt.classes[g], gt.flags[g], sim, benchmark)
        yield g[gt_keep], k[tr_keep], sim[gt_keep][:, tr_keep]


def mot_sequence_data(gt: TrackAnnotations, tracker: TrackAnnotations, num_frames: int,
                      benchmark: str = "MOT17", name: str = "") -> dict:
    """TrackEval ``data`` dict of one preprocessed sequence (see the module docstring)."""
    gt_ids, tr_ids, sims = [], [], []
    for g, k, sim in _frames(gt, tracker, num_frames, benchmark):
        gt_ids.append(gt.ids[g])
        tr_ids.append(tracker.ids[k])
        sims.append(sim)
    return build_data(gt_ids, tr_ids, sims, name)


def evaluate_mot(sequences: Mapping[str, MotInput], benchmark: str = "MOT17") -> MotResult:
    """HOTA, CLEAR and Identity of MOTChallenge box tracking with TrackEval's metric classes.

    Args:
        sequences: ``{name: (gt, tracker, num_frames)}``; gt rows carry classes and flags.
        benchmark: "MOT17" (default), "MOT16", "MOT20" or "MOT15" (no class preprocessing).

    Returns:
        Per-sequence and combined scores (HOTA, DetA, AssA, LocA, MOTA, MOTP, IDF1, IDSW, ...).
    """
    benchmark = benchmark.upper()
    if benchmark not in ("MOT15", *DISTRACTOR_CLASSES):
        raise UserError(f"unknown MOTChallenge benchmark {benchmark!r}; use MOT15, MOT16, MOT17 or MOT20")
    metrics = TrackEvalMetrics()
    raw = {name: metrics.eval_sequence(mot_sequence_data(gt, tr, n, benchmark, name))
           for name, (gt, tr, n) in sequences.items()}
    result = MotResult(benchmark=benchmark)
    result.per_sequence = {name: summarize(r) for name, r in raw.items()}
    if raw:
        result.combined = summarize(metrics.combine_sequences(raw))
    return result


def evaluate_mot_motmetrics(sequences: Mapping[str, MotInput], benchmark: str = "MOT17",
                            preprocess: bool = True) -> MotResult:
    """CLEAR and Identity metrics with py-motmetrics (``compute_many`` with an OVERALL row).

    Args:
        sequences: ``{name: (gt, tracker, num_frames)}``.
        benchmark: preprocessing, as in ``evaluate_mot``.
        preprocess: False gives the ByteTrack / Unicorn MOT17 "val-half" convention: gt rows with
            flag >= 1 of every class, no distractor removal.

    Returns:
        Per-sequence and OVERALL scores (MOTA, MOTP as IoU, IDF1, IDSW, FP, FN, MT, PT, ML, Frag, ...);
        HOTA is not available in motmetrics 1.4.
    """
    import motmetrics as mm

    accumulators, names = [], []
    for name, (gt, tracker, num_frames) in sequences.items():
        acc = mm.MOTAccumulator(auto_id=False)
        if preprocess:
            frames = _frames(gt, tracker, num_frames, benchmark.upper())
        else:
            frames = ((g[gt.flags[g] >= 1], k, None) for g, k in
                      zip(gt.rows_per_frame(num_frames), tracker.rows_per_frame(num_frames)))
        for t, (g, k, _) in enumerate(frames, start=1):
            dist = iou_distances(gt.boxes_xywh[g], tracker.boxes_xywh[k])
            acc.update(gt.ids[g], tracker.ids[k], dist, frameid=t)
        accumulators.append(acc)
        names.append(name)
    table = summarize_motmetrics(accumulators, names)
    overall = table.pop("OVERALL")
    return MotResult(per_sequence=table, combined=overall, benchmark=benchmark.upper())
