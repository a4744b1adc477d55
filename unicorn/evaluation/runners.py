"""Evaluate a folder of tracker results against a benchmark's ground truth, one function per task."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unicorn.data.datasets import open_benchmark
from unicorn.data.datasets.base import Benchmark
from unicorn.data.datasets.bdd100k import BDD_CLASSES, read_scalabel
from unicorn.data.datasets.davis import read_label_png
from unicorn.errors import UserError
from unicorn.evaluation import results_io, sot, vos
from unicorn.evaluation.bdd import scalabel_metrics, trackeval_metrics
from unicorn.evaluation.mot import evaluate_mot
from unicorn.evaluation.mots import evaluate_mots
from unicorn.evaluation.report import Report

MOT_COLUMNS = ["HOTA", "DetA", "AssA", "MOTA", "IDF1", "MOTP", "IDSW", "FP", "FN"]
MOTS_COLUMNS = ["HOTA", "sMOTSA", "MOTSA", "MOTSP", "IDF1", "IDSW", "FP", "FN"]
VOS_COLUMNS = ["J&F_mean", "J_mean", "J_recall", "J_decay", "F_mean", "F_recall", "F_decay"]
SOT_CONVENTIONS = {"lasot": "pytracking", "otb": "pytracking", "got10k": "got10k", "trackingnet": "trackingnet"}


def evaluate_benchmark(benchmark: str, results: str | Path, data: str | Path | None = None,
                       split: str | None = None, sot_convention: str | None = None) -> Report:
    """Score the results in ``results`` on a benchmark.

    Args:
        benchmark: a name from ``unicorn.data.datasets.BENCHMARKS``.
        results: folder (or, for BDD100K, json file) with the tracker's result files.
        data: the benchmark's dataset folder (default: its folder under ``datasets/``).
        split: the split to evaluate (default: the benchmark's evaluation split).
        sot_convention: for SOT benchmarks, "pytracking", "got10k" or "trackingnet" instead of the
            benchmark's own toolkit convention.

    Returns:
        The report; ``report.missing`` lists sequences without results.

    Raises:
        UserError: missing data, unreadable results (naming the file and line), no results at all,
            or a benchmark whose ground truth is only on its evaluation server.
    """
    results = Path(results)
    if not results.exists():
        raise UserError(f"results not found at '{results}'")
    reader = open_benchmark(benchmark, data, split)
    key = benchmark.lower().replace("_", "-")
    if key == "youtube-vos":
        raise UserError("YouTube-VOS ground truth is not public: submit the PNGs to the CodaLab server "
                        "(see datasets/README.md)")
    if key.startswith("bdd100k"):
        report = run_bdd(reader, results)
    elif reader.task == "sot":
        report = run_sot(reader, results, key, sot_convention)
    elif reader.task == "vos":
        report = run_vos(reader, results, merged=key == "davis2016")
    elif reader.task == "mots":
        report = run_mots(reader, results)
    else:
        report = run_mot(reader, results)
    report.benchmark = key
    if not key.startswith("bdd100k"):
        extra = results_io.unknown_results(results, list(reader.sequence_names()))
        if extra:
            report.details["unknown_results"] = extra
    if not report.evaluated and key.startswith("bdd100k"):
        raise UserError(f"'{results}' has no predictions for any video of the ground truth "
                        f"({', '.join(report.missing[:3])}{' ...' if len(report.missing) > 3 else ''})")
    if not report.evaluated:
        first = report.missing[0] if report.missing else "SEQ"
        example = results / (first + ("/" if reader.task == "vos" else ".txt"))
        raise UserError(f"no result file in '{results}' matches a sequence of {reader.name} (expected e.g. "
                        f"'{example}'); see `unicorn eval --help` for the layouts")
    return report


def run_sot(reader: Benchmark, results: Path, key: str, convention: str | None = None) -> Report:
    """SOT scores in a toolkit's convention: "pytracking" (LaSOT, OTB: AUC, precision, normalised
    precision), "got10k" (AO, SR) or "trackingnet" (devkit); default: the benchmark's own."""
    convention = convention or SOT_CONVENTIONS[key]
    if convention not in ("pytracking", "got10k", "trackingnet"):
        raise UserError(f"unknown SOT convention {convention!r}; use pytracking, got10k or trackingnet")
    per_seq, curves, ious, missing = {}, [], {}, []
    for name in reader.sequence_names():
        seq = reader.load(name)
        if seq.extra.get("first_frame_only"):
            raise UserError(f"{reader.name} {getattr(reader, 'split', '')} has only first-frame ground truth; "
                            f"its scores come from the benchmark's server (see datasets/README.md)")
        files = results_io.sot_result_files(results, name)
        if not files:
            missing.append(name)
            continue
        runs = [results_io.read_sot_result(f, seq.num_frames) for f in files]
        if convention == "got10k":
            cover = seq.extra.get("cover", seq.visible.astype(np.int64))
            ious[name] = sot.got10k_ious(runs, seq.boxes_xywh, cover, seq.image_size)
        elif convention == "trackingnet":
            curves.append(sot.trackingnet_curves(runs[0], seq.boxes_xywh))
            per_seq[name] = sot.trackingnet_summary(*(c[None] for c in curves[-1]))
        else:
            visible = seq.visible if key == "lasot" else None  # pytracking uses absence labels for LaSOT only
            curves.append(sot.pytracking_curves(runs[0], seq.boxes_xywh, visible))
            per_seq[name] = sot.ope_summary(*(c[None] for c in curves[-1]))
    if convention == "got10k":
        summary = sot.got10k_summary(ious)
        return Report(reader.name, "sot", {k: summary[k] for k in ("AO", "SR50", "SR75")}, summary["per_sequence"],
                      ["AO", "SR50", "SR75"], list(ious), missing,
                      "GOT-10k toolkit convention (fractions; frame 0 and cover==0 frames excluded)",
                      {"success_curve": summary["success_curve"]})
    if not curves:
        return Report(reader.name, "sot", {}, {}, [], [], missing)
    stacked = [np.stack([c[i] for c in curves]) for i in range(3)]
    if convention == "trackingnet":
        summary, columns = sot.trackingnet_summary(*stacked), ["Success", "Precision", "NormPrecision"]
        note = "TrackingNet devkit convention (percent, trapezoidal AUC)"
    else:
        summary, columns = sot.ope_summary(*stacked), ["AUC", "OP50", "OP75", "Precision", "NormPrecision"]
        note = "pytracking convention (percent; absent/invalid frames count as failures)"
    details = {"curves": {"success": stacked[0].mean(0).tolist(), "precision": stacked[1].mean(0).tolist(),
                          "norm_precision": stacked[2].mean(0).tolist()}}
    return Report(reader.name, "sot", summary, per_seq, columns, list(per_seq), missing, note, details)


def run_mot(reader: Benchmark, results: Path) -> Report:
    """MOTChallenge HOTA / CLEAR / Identity with TrackEval's metrics and preprocessing."""
    inputs, missing = {}, []
    for name in reader.sequence_names():
        seq = reader.load(name)
        path = results_io.mot_result_file(results, name)
        if path is None:
            missing.append(name)
            continue
        inputs[name] = (seq.tracks, results_io.read_mot_result(path, seq.num_frames), seq.num_frames)
    result = evaluate_mot(inputs, reader.benchmark)
    return Report(reader.name, "mot", result.combined, result.per_sequence, MOT_COLUMNS, list(inputs), missing,
                  f"TrackEval 1.3.0 metrics, {result.benchmark} preprocessing (fractions)")


def run_mots(reader: Benchmark, results: Path) -> Report:
    """MOTS20 / KITTI-MOTS sMOTSA, HOTA, IDF1 per class (TrackEval conventions)."""
    inputs, missing = {}, []
    for name in reader.sequence_names():
        seq = reader.load(name)
        path = results / f"{name}.txt"
        if not path.is_file():
            missing.append(name)
            continue
        rows = results_io.read_mots_result(path, seq.num_frames, reader.frame_base, seq.image_size)
        inputs[name] = (seq.tracks, rows, seq.num_frames)
    result = evaluate_mots(inputs, reader.classes)
    classes = list(reader.classes)
    per_seq = {f"{s}/{c}" if len(classes) > 1 else s: v for c in classes for s, v in result.per_sequence[c].items()}
    if len(classes) == 1:
        summary = result.combined.get(classes[0], {})
    else:
        summary = {k: float(np.mean([result.combined[c][k] for c in classes])) for k in MOTS_COLUMNS}
    return Report(reader.name, "mots", summary, per_seq, MOTS_COLUMNS, list(inputs), missing,
                  "TrackEval 1.3.0 metrics on masks, class-10 ignore regions (fractions"
                  + ("; summary = mean over classes)" if len(classes) > 1 else ")"),
                  {"per_class": result.combined})


def run_vos(reader: Benchmark, results: Path, merged: bool) -> Report:
    """DAVIS J and F (davis2017-evaluation conventions; DAVIS-2016 merges objects)."""
    per_seq, per_object, missing = {}, [], []
    for name in reader.sequence_names():
        seq = reader.load(name)
        preds = results_io.vos_result_frames(results, name, [p.name for p in seq.mask_paths])
        if preds is None:
            missing.append(name)
            continue
        gt = [read_label_png(p) for p in seq.mask_paths]
        if not merged:  # binary 0/255 masks (DAVIS-2016 originals): 255 is the object; otherwise 255 is void
            gt = [(g == 255).astype(np.uint8) if seq.extra.get("binary_255") else np.where(g == 255, 0, g) for g in gt]
        pred = [np.zeros_like(gt[0], dtype=np.uint8) if not p.is_file() else read_label_png(p) for p in preds]
        for k, (path, p, g) in enumerate(zip(preds, pred, gt)):
            if p.shape != g.shape:
                raise UserError(f"{path}: size {p.shape[1]}x{p.shape[0]} differs from the annotation's "
                                f"{g.shape[1]}x{g.shape[0]}")
            if not merged and 0 < k < len(pred) - 1 and p.max(initial=0) > max(seq.object_ids, default=0):
                raise UserError(f"{path}: object id {int(p.max())} is not in the first-frame annotation of {name} "
                                f"(ids {seq.object_ids}); semi-supervised results may only use those ids")
        if merged:
            scores = vos.davis2016_merged_sequence(gt, pred)
            objects = [scores]
        else:
            objects = list(vos.davis_sequence(gt, pred, seq.object_ids).values())
        per_object += objects
        per_seq[name] = {k: float(np.mean([o[k] for o in objects])) for k in VOS_COLUMNS[1:]}
        per_seq[name]["J&F_mean"] = (per_seq[name]["J_mean"] + per_seq[name]["F_mean"]) / 2
    summary = vos.davis_summary(per_object)
    return Report(reader.name, "vos", summary, per_seq, VOS_COLUMNS, list(per_seq), missing,
                  "davis2017-evaluation conventions (fractions; first and last frames not scored; "
                  + ("objects merged, DAVIS-2016 protocol)" if merged else "means over all objects)"))


def run_bdd(reader: Benchmark, results: Path) -> Report:
    """BDD100K scalabel scores (mMOTA, mIDF1, mMOTP) plus TrackEval's mHOTA."""
    gt = reader.videos()
    preds = read_scalabel(results, reader.kind)
    unknown = sorted(set(preds) - set(gt))
    if unknown:
        raise UserError(f"{results}: video {unknown[0]} is not in the {reader.name} ground truth")
    missing = sorted(set(gt) - set(preds))
    evaluated = sorted(set(gt) & set(preds))
    scal = scalabel_metrics(gt, preds, reader.kind)
    te = trackeval_metrics(gt, preds, reader.kind)
    average = scal["per_class"]["AVERAGE"]
    summary = {"HOTA": 100 * te["mHOTA"], "MOTA": scal["mMOTA"], "IDF1": scal["mIDF1"], "MOTP": scal["mMOTP"],
               **{k: average[k] for k in ("FP", "FN", "IDSW")}, "mHOTA": 100 * te["mHOTA"], "mMOTA": scal["mMOTA"],
               "mIDF1": scal["mIDF1"], "mMOTP": scal["mMOTP"], "OVERALL_MOTA": scal["MOTA"],
               "OVERALL_IDF1": scal["IDF1"], "OVERALL_MOTP": scal["MOTP"]}
    per_class = {c: {**scal["per_class"][c], "HOTA": 100 * te["per_class"][c]["HOTA"]} for c in BDD_CLASSES}
    return Report(reader.name, reader.task, summary, per_class, ["HOTA", "MOTA", "IDF1", "MOTP", "FP", "FN", "IDSW"],
                  evaluated, missing,
                  "scalabel / bdd100k toolkit convention (percent, COMBINED = mean over the 8 classes = mMOTA, "
                  "mIDF1, mMOTP); HOTA from TrackEval's BDD100K convention",
                  {"scalabel": scal, "trackeval": te})
