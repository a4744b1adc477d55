"""BDD100K box tracking (``box_track``) and segmentation tracking (``seg_track``) metrics.

Two conventions, both on Scalabel json read by ``unicorn.data.datasets.bdd100k``:

* ``scalabel_metrics`` — the bdd100k toolkit / scalabel (``scalabel/eval/{mot,mots}.py``), with
  py-motmetrics doing the counting. Boxes use inclusive corners (``w = x2 - x1 + 1``). Gt labels
  with the ``crowd`` or ``ignored`` attribute are ignore regions (the toolkit's conversion marks
  "other person", "other vehicle" and "trailer" as ignored pedestrian, car and truck); a prediction
  of a class that is not matched (Hungarian, IoU >= 0.5) and lies more than 50% inside an ignore
  region is dropped. One accumulator per class per video; a class's scores come from
  ``compute_many(..., generate_overall=True)``; ``mMOTA`` / ``mMOTP`` / ``mIDF1`` are means over
  the 8 classes with NaN counted as 0; ``OVERALL`` pools every class. Scores are percentages.
* ``trackeval_metrics`` — TrackEval's ``BDD100K`` dataset (mHOTA): corners without +1, crowd
  labels and the "other person" / "trailer" / "other vehicle" categories are ignore regions,
  unmatched predictions with intersection-over-area > 0.5 are removed, and classes are combined
  by plain averaging (empty classes count 0, ``cls_comb_cls_av``) or pooled (``cls_comb_det_av``);
  super-categories are pooled. Scores are fractions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from unicorn.data.datasets.base import TrackAnnotations
from unicorn.data.datasets.bdd100k import BDD_CLASSES, BDD_SUPER_CLASSES
from unicorn.errors import UserError
from unicorn.evaluation.mot import box_ious, hungarian_matches
from unicorn.evaluation.motmetrics_compat import iou_distances, numpy_asfarray_shim, summarize_motmetrics
from unicorn.evaluation.mots import mask_ious, merge_masks, remove_in_ignore
from unicorn.evaluation.trackeval_bridge import TrackEvalMetrics, build_data, summarize

# {video: (rows, sorted frame indices)} as returned by ``read_scalabel``.
Videos = Mapping[str, tuple[TrackAnnotations, list[int]]]
SCALABEL_IGNORE_MAP = {"other person": "pedestrian", "other vehicle": "car", "trailer": "truck"}
TRACKEVAL_DISTRACTORS = ("other person", "trailer", "other vehicle")
SCALABEL_FLOATS = ("MOTA", "MOTP", "IDF1")
SCALABEL_COUNTS = ("FP", "FN", "IDSW", "MT", "PT", "ML", "Frag")


def align_frames(gt: TrackAnnotations, indices: list[int], pred: TrackAnnotations | None):
    """Renumber rows of a video to 1..T in the order of the gt frame indices.

    Returns:
        ``(gt, pred, T)``; missing predictions give an empty ``pred``.

    Raises:
        UserError: a prediction on a frame index the ground truth does not have.
    """
    position = {index + 1: k + 1 for k, index in enumerate(indices)}
    if pred is None:
        pred = TrackAnnotations.empty(gt.box_format, gt.rles is not None)
    unknown = [f for f in np.unique(pred.frames) if f not in position]
    if unknown:
        raise UserError(f"{pred.source}: predictions for frameIndex {int(unknown[0]) - 1}, which the ground truth "
                        f"of this video does not have")
    remap = lambda rows: np.asarray([position[f] for f in rows.frames], dtype=np.int64)  # noqa: E731
    gt_out, pred_out = gt.select(slice(None)), pred.select(slice(None))
    gt_out.frames, pred_out.frames = remap(gt), remap(pred)
    return gt_out, pred_out, len(indices)


def _class_index(rows: TrackAnnotations, mapping: Mapping[str, str], unknown_ok: bool,
                 extra_ignored: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Per row: index into BDD_CLASSES (-1 = not evaluated) and whether it is an ignore region."""
    cls = np.full(len(rows), -1, dtype=np.int64)
    ignored = rows.ignored.copy()
    for i, c in enumerate(rows.classes):
        name = rows.class_names[c] if 0 <= c < len(rows.class_names) else str(c)
        if name in extra_ignored:
            ignored[i] = True
        name = mapping.get(name, name)
        if name in BDD_CLASSES:
            cls[i] = BDD_CLASSES.index(name)
            ignored[i] |= name != rows.class_names[c] and bool(mapping)
        elif name not in extra_ignored and not unknown_ok:
            raise UserError(f"{rows.source}: unknown category {name!r}; BDD100K evaluates {', '.join(BDD_CLASSES)}")
    return cls, ignored


def _scalabel_xywh(rows: TrackAnnotations, idx: np.ndarray) -> np.ndarray:
    box = rows.boxes[idx]
    return np.stack([box[:, 0], box[:, 1], box[:, 2] - box[:, 0] + 1, box[:, 3] - box[:, 1] + 1], axis=1)


def _box_ioa(pred_xywh: np.ndarray, regions_xywh: np.ndarray) -> np.ndarray:
    x1 = np.maximum(pred_xywh[:, None, 0], regions_xywh[None, :, 0])
    y1 = np.maximum(pred_xywh[:, None, 1], regions_xywh[None, :, 1])
    x2 = np.minimum(pred_xywh[:, None, 0] + pred_xywh[:, None, 2], regions_xywh[None, :, 0] + regions_xywh[None, :, 2])
    y2 = np.minimum(pred_xywh[:, None, 1] + pred_xywh[:, None, 3], regions_xywh[None, :, 1] + regions_xywh[None, :, 3])
    area = (pred_xywh[:, 2] * pred_xywh[:, 3])[:, None]
    inter = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    return np.divide(inter, area, out=np.zeros_like(inter), where=area != 0)


def _scalabel_video(gt, pred, num_frames, kind, unknown_ok):
    """One motmetrics accumulator per class for one video (scalabel's acc_single_video_mot / _mots)."""
    import motmetrics as mm

    gt_cls, gt_ign = _class_index(gt, SCALABEL_IGNORE_MAP, unknown_ok)
    pr_cls, pr_ign = _class_index(pred, {}, unknown_ok)
    accs = [mm.MOTAccumulator(auto_id=True) for _ in BDD_CLASSES]
    for g, p in zip(gt.rows_per_frame(num_frames), pred.rows_per_frame(num_frames)):
        ignore = g[gt_ign[g] & (gt_cls[g] >= 0)]
        for c, acc in enumerate(accs):
            gc, pc = g[(gt_cls[g] == c) & ~gt_ign[g]], p[(pr_cls[p] == c) & ~pr_ign[p]]
            if kind == "mask" and not len(gc) and not len(pc):
                continue
            if kind == "box":
                dist = iou_distances(_scalabel_xywh(gt, gc), _scalabel_xywh(pred, pc))
            else:
                dist = 1 - mask_ious([gt.rles[i] for i in gc], [pred.rles[i] for i in pc])
                dist[dist > 0.5] = np.nan
            if len(ignore) and (kind == "box" or len(pc)):
                fps = np.ones(len(pc), dtype=bool)
                with numpy_asfarray_shim():
                    rows, cols = mm.lap.linear_sum_assignment(dist)
                fps[[n for m, n in zip(rows, cols) if np.isfinite(dist[m, n])]] = False
                if kind == "box":
                    ioa = _box_ioa(_scalabel_xywh(pred, pc), _scalabel_xywh(gt, ignore))
                else:
                    ioa = mask_ious([pred.rles[i] for i in pc], [gt.rles[i] for i in ignore], do_ioa=True)
                keep = ~(fps & (ioa > 0.5).any(axis=1))
                pc, dist = pc[keep], dist[:, keep]
            if dist.shape != (0, 0):
                acc.update(gt.ids[gc], pred.ids[pc], dist)
    return accs


def scalabel_metrics(gt_videos: Videos, pred_videos: Videos, kind: str = "box",
                     ignore_unknown_categories: bool = False) -> dict:
    """BDD100K MOT / MOTS scores in the scalabel convention (see the module docstring).

    Args:
        gt_videos: ground truth per video.
        pred_videos: predictions per video (a missing video counts as empty).
        kind: "box" (box_track) or "mask" (seg_track).
        ignore_unknown_categories: skip labels of other categories instead of failing.

    Returns:
        ``{"per_class": {class | super-class | "AVERAGE" | "OVERALL": {MOTA, MOTP, IDF1, FP, FN, IDSW, MT,
        PT, ML, Frag}}, "mMOTA", "mMOTP", "mIDF1", "MOTA", "MOTP", "IDF1"}`` in percent.
    """
    per_class_accs: list[list] = [[] for _ in BDD_CLASSES]
    for v, (video, (gt, indices)) in enumerate(sorted(gt_videos.items())):
        gt_a, pred_a, n = align_frames(gt, indices, pred_videos.get(video, (None, None))[0])
        for c, acc in enumerate(_scalabel_video(gt_a, pred_a, n, kind, ignore_unknown_categories)):
            if len(acc._events["Type"]):  # scalabel skips accumulators without events
                per_class_accs[c].append((f"{BDD_CLASSES[c]}_{v}", acc))
    groups = {c: per_class_accs[i] for i, c in enumerate(BDD_CLASSES)}
    for sup, members in BDD_SUPER_CLASSES.items():
        groups[sup] = [a for m in members for a in groups[m]]
    groups["OVERALL"] = [a for c in BDD_CLASSES for a in groups[c]]
    table = {name: _scalabel_scores(items) for name, items in groups.items()}
    average = {k: float(np.mean(np.nan_to_num([table[c][k] for c in BDD_CLASSES], nan=0, posinf=0, neginf=0)))
               for k in SCALABEL_FLOATS}
    average.update({k: int(sum(table[c][k] for c in BDD_CLASSES)) for k in SCALABEL_COUNTS})
    table["AVERAGE"] = average
    out: dict = {"per_class": table}
    out.update({f"m{k}": average[k] for k in SCALABEL_FLOATS})
    out.update({k: table["OVERALL"][k] for k in SCALABEL_FLOATS})
    return out


def _scalabel_scores(items: list) -> dict[str, float]:
    if not items:
        return {**{k: float("nan") for k in SCALABEL_FLOATS}, **{k: 0 for k in SCALABEL_COUNTS}}
    rows = summarize_motmetrics([a for _, a in items], [n for n, _ in items])
    overall = rows.pop("OVERALL")
    if np.isnan(overall["MOTP"]):  # scalabel's fallback: detection-weighted mean of the per-video MOTP
        weighted = np.nansum([(1 - r["MOTP"]) * r["TP"] for r in rows.values()])
        overall["MOTP"] = 1 - (weighted / overall["TP"] if overall["TP"] else np.nan)
    out = {k: 100 * overall[k] for k in SCALABEL_FLOATS}
    out.update({k: int(overall[k]) for k in SCALABEL_COUNTS})
    return out


def _trackeval_video_data(gt, pred, num_frames, cls, kind, use_ignore_regions, name) -> dict:
    gt_cls, gt_ign = _class_index(gt, {}, True, TRACKEVAL_DISTRACTORS)
    pr_cls, _ = _class_index(pred, {}, False, TRACKEVAL_DISTRACTORS)
    gt_ids, tr_ids, sims = [], [], []
    for g, p in zip(gt.rows_per_frame(num_frames), pred.rows_per_frame(num_frames)):
        ignore, g, p = g[gt_ign[g]], g[(gt_cls[g] == cls) & ~gt_ign[g]], p[pr_cls[p] == cls]
        if not use_ignore_regions:
            ignore = ignore[:0]
        if kind == "box":
            sim = box_ious(gt.boxes[g], pred.boxes[p], box_format="x0y0x1y1")
            keep = np.ones(len(p), dtype=bool)
            if len(p):
                _, cols = hungarian_matches(sim)
                unmatched = np.setdiff1d(np.arange(len(p)), cols)
                ioa = box_ious(pred.boxes[p[unmatched]], gt.boxes[ignore], box_format="x0y0x1y1", do_ioa=True)
                keep[unmatched[(ioa > 0.5 + np.finfo(float).eps).any(axis=1)]] = False
        else:
            sim = mask_ious([gt.rles[i] for i in g], [pred.rles[i] for i in p])
            keep = remove_in_ignore(sim, [pred.rles[i] for i in p], merge_masks([gt.rles[i] for i in ignore]))
        gt_ids.append(gt.ids[g])
        tr_ids.append(pred.ids[p[keep]])
        sims.append(sim[:, keep])
    return build_data(gt_ids, tr_ids, sims, name)


def trackeval_metrics(gt_videos: Videos, pred_videos: Videos, kind: str = "box",
                      use_ignore_regions: bool = True) -> dict:
    """BDD100K HOTA / CLEAR / Identity per class with TrackEval's metric classes (mHOTA convention).

    Args:
        gt_videos: ground truth per video.
        pred_videos: predictions per video (a missing video counts as empty).
        kind: "box" or "mask" (mask IoU and mask intersection-over-area with the ignore regions).
        use_ignore_regions: apply the ignore-region rule (False: crowd labels are only dropped).

    Returns:
        ``{"per_class": {class | super-class | "cls_comb_cls_av" | "cls_comb_det_av": {HOTA, DetA, AssA,
        MOTA, MOTP, sMOTA, IDF1, ...}}, "mHOTA", "mMOTA", "mIDF1"}`` as fractions.
    """
    metrics = TrackEvalMetrics()
    aligned = {v: align_frames(gt, idx, pred_videos.get(v, (None, None))[0]) for v, (gt, idx) in gt_videos.items()}
    raw = {}
    for c, cls in enumerate(BDD_CLASSES):
        per_seq = {v: metrics.eval_sequence(_trackeval_video_data(g, p, n, c, kind, use_ignore_regions, v))
                   for v, (g, p, n) in aligned.items()}
        raw[cls] = metrics.combine_sequences(per_seq)
    table = {cls: summarize(r) for cls, r in raw.items()}
    table["cls_comb_cls_av"] = summarize(metrics.combine_classes(raw, "class"))
    table["cls_comb_det_av"] = summarize(metrics.combine_classes(raw, "det"))
    for sup, members in BDD_SUPER_CLASSES.items():
        table[sup] = summarize(metrics.combine_classes({m: raw[m] for m in members}, "det"))
    av = table["cls_comb_cls_av"]
    return {"per_class": table, "mHOTA": av["HOTA"], "mMOTA": av["MOTA"], "mIDF1": av["IDF1"]}
