"""MOTS metrics (MOTS20, KITTI-MOTS): sMOTSA, MOTSA, MOTSP, IDF1 and HOTA on RLE masks via TrackEval.

Conventions of TrackEval's ``MOTSChallenge`` / ``KittiMOTS`` datasets:

* Similarity = mask IoU (``pycocotools.mask.iou``, ``iscrowd=False``); a match needs IoU >= 0.5.
* Ground-truth rows of class 10 are ignore regions, merged into one mask per frame. A tracker
  mask that is not matched to a gt mask of the evaluated class (Hungarian, IoU >= 0.5) and lies
  more than 50% (intersection over its own area) inside the ignore region is removed.
* Masks of one frame must not overlap (an error, as in TrackEval).
* The CLEAR metric on masks gives MOTSA (= MOTA), MOTSP (= MOTP) and sMOTSA (= sMOTA =
  (sum of TP IoU - FP - IDSW) / |GT|); HOTA and IDF1 use the same similarities.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from unicorn.data.datasets.base import TrackAnnotations
from unicorn.data.datasets.mots import IGNORE_CLASS
from unicorn.errors import UserError
from unicorn.evaluation.mot import MotInput, hungarian_matches
from unicorn.evaluation.trackeval_bridge import TrackEvalMetrics, build_data, summarize

MOTS20_CLASSES = {"pedestrian": 2}
KITTI_MOTS_CLASSES = {"car": 1, "pedestrian": 2}
_EPS = np.finfo(float).eps


@dataclass
class MotsResult:
    """Scores per class.

    Attributes:
        per_sequence: ``{class: {sequence: {metric: value}}}``.
        combined: ``{class: {metric: value}}`` over all sequences.
    """

    per_sequence: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    combined: dict[str, dict[str, float]] = field(default_factory=dict)


def mask_ious(rles_a: list[dict], rles_b: list[dict], do_ioa: bool = False) -> np.ndarray:
    """(A, B) IoU of two lists of COCO RLEs (TrackEval's ``_calculate_mask_ious``); with ``do_ioa`` the
    intersection over the area of each mask of ``rles_a``."""
    if not rles_a or not rles_b:
        return np.zeros((len(rles_a), len(rles_b)))
    from trackeval.datasets._base_dataset import _BaseDataset

    return _BaseDataset._calculate_mask_ious(rles_a, rles_b, is_encoded=True, do_ioa=do_ioa)


def merge_masks(rles: list[dict]) -> dict | None:
    """Union of RLE masks (None for an empty list)."""
    from pycocotools import mask as mask_utils

    return mask_utils.merge(rles, intersect=False) if rles else None


def check_no_overlap(rows: TrackAnnotations, frame_rows: np.ndarray) -> None:
    """Raise a UserError naming the file and line when two masks of one frame overlap."""
    from pycocotools import mask as mask_utils

    union = None
    for i in frame_rows:
        rle = rows.rles[i]
        if union is not None and mask_utils.area(mask_utils.merge([union, rle], intersect=True)) > 0:
            raise UserError(f"{rows.source}:{rows.lines[i]}: mask of id {rows.ids[i]} overlaps another mask of "
                            f"frame {rows.frames[i]}; masks of one frame must not overlap")
        union = rle if union is None else mask_utils.merge([union, rle], intersect=False)


def remove_in_ignore(similarity: np.ndarray, tracker_rles: list[dict], ignore: dict | None) -> np.ndarray:
    """(K,) bool tracker masks to keep: unmatched masks more than half inside ``ignore`` are dropped."""
    keep = np.ones(len(tracker_rles), dtype=bool)
    if ignore is None or not tracker_rles:
        return keep
    _, cols = hungarian_matches(similarity)
    unmatched = np.setdiff1d(np.arange(len(tracker_rles)), cols)
    if len(unmatched):
        ioa = mask_ious([tracker_rles[i] for i in unmatched], [ignore], do_ioa=True)[:, 0]
        keep[unmatched[ioa > 0.5 + _EPS]] = False
    return keep


def mots_sequence_data(gt: TrackAnnotations, tracker: TrackAnnotations, num_frames: int, class_id: int,
                       use_ignore_regions: bool = True, name: str = "") -> dict:
    """TrackEval ``data`` for one class of one MOTS sequence (see the module docstring).

    Args:
        gt: ground-truth rows with ``rles`` (class 10 rows = ignore regions).
        tracker: tracker rows with ``rles``.
        num_frames: sequence length.
        class_id: the class to evaluate (MOTS20 pedestrian = 2; KITTI car = 1, pedestrian = 2).
        use_ignore_regions: apply the ignore-region rule.
        name: sequence name.
    """
    gt_ids, tr_ids, sims = [], [], []
    for g, k in zip(gt.rows_per_frame(num_frames), tracker.rows_per_frame(num_frames)):
        check_no_overlap(tracker, k)
        ignore = merge_masks([gt.rles[i] for i in g if gt.classes[i] == IGNORE_CLASS]) if use_ignore_regions else None
        g = g[gt.classes[g] == class_id]
        k = k[tracker.classes[k] == class_id]
        sim = mask_ious([gt.rles[i] for i in g], [tracker.rles[i] for i in k])
        keep = remove_in_ignore(sim, [tracker.rles[i] for i in k], ignore)
        gt_ids.append(gt.ids[g])
        tr_ids.append(tracker.ids[k[keep]])
        sims.append(sim[:, keep])
    return build_data(gt_ids, tr_ids, sims, name)


def with_mots_names(scores: dict[str, float]) -> dict[str, float]:
    """Add the MOTS names of the CLEAR scores: sMOTSA = sMOTA, MOTSA = MOTA, MOTSP = MOTP."""
    return {**scores, "sMOTSA": scores["sMOTA"], "MOTSA": scores["MOTA"], "MOTSP": scores["MOTP"]}


def evaluate_mots(sequences: Mapping[str, MotInput], classes: Mapping[str, int] | None = None,
                  use_ignore_regions: bool = True) -> MotsResult:
    """sMOTSA, MOTSA, MOTSP, IDF1, HOTA (and the rest of CLEAR / Identity / HOTA) per class.

    Args:
        sequences: ``{name: (gt, tracker, num_frames)}`` with ``rles`` on both.
        classes: ``{class name: class id}`` to evaluate; default MOTS20's pedestrians.
        use_ignore_regions: apply the class-10 ignore-region rule (True for MOTS20 / KITTI-MOTS).
    """
    classes = dict(classes or MOTS20_CLASSES)
    metrics = TrackEvalMetrics()
    result = MotsResult()
    for cls, cls_id in classes.items():
        raw = {name: metrics.eval_sequence(mots_sequence_data(gt, tr, n, cls_id, use_ignore_regions, name))
               for name, (gt, tr, n) in sequences.items()}
        result.per_sequence[cls] = {name: with_mots_names(summarize(r)) for name, r in raw.items()}
        if raw:
            result.combined[cls] = with_mots_names(summarize(metrics.combine_sequences(raw)))
    return result
