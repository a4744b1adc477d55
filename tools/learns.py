""""It learns": train a tiny Unicorn on generated videos on a CPU and score it before and after.

    python tools/learns.py [--train-minutes 9] [--config configs/tests/learns.yaml]

Stage 1 (SOT + MOT, boxes) runs from ``configs/tests/learns.yaml``; stage 2 (VOS + MOTS, only
the mask parts train, as upstream) starts from its weights. Before and after, on held-out
generated sequences (seeds never used for training): SOT success AUC (pytracking convention,
through ``unicorn.Tracker(model, "sot")``), MOT IDF1 / MOTA / HOTA (TrackEval, no class preprocessing;
ByteTrack with low thresholds, and with upstream's MOT17 ones)
and VOS J&F (DAVIS). Loss curves land in each run folder (``loss_curve.png``); the scores in
``runs/learns/scores-<time>.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

import unicorn
from unicorn.data.datasets.base import TrackAnnotations
from unicorn.data.synthetic import SyntheticSequence, make_sequence
from unicorn.engine.config import load_train_config
from unicorn.engine.distributed import seed_everything
from unicorn.engine.launch import WEIGHTS, train
from unicorn.evaluation.mot import evaluate_mot
from unicorn.evaluation.sot import ope_summary, pytracking_curves
from unicorn.evaluation.vos import davis_sequence, davis_summary
from unicorn.models.build import build_model

HELD_OUT_SEED = 2_000_003  # training videos use seeds (config seed + small offsets, index)
# Upstream's MOT17 ByteTrack thresholds (0.6 + 0.1 to start a track, boxes >= 100 px^2 with w/h <= 1.6, for
# pedestrians) suit neither a detector trained for minutes nor these shapes; MOT is also scored with these.
LOW_THRESHOLDS = {"track_thresh": 0.2, "new_track_margin": 0.0, "low_thresh": 0.05, "min_box_area": 0.0,
                  "max_aspect_ratio": 10.0}
MASK_DATA = ("[{name: synthetic, task: vos, options: {num_sequences: 96, num_frames: 24}}, "
             "{name: synthetic, task: mots, options: {num_sequences: 96, num_frames: 24}}]")


def held_out(n: int, frames: int, size_hw: tuple[int, int], offset: int) -> list[SyntheticSequence]:
    """``n`` generated videos from seeds no training set uses."""
    return [make_sequence((HELD_OUT_SEED + offset, i), num_frames=frames, size_hw=size_hw) for i in range(n)]


def score_sot(model: torch.nn.Module, videos: list[SyntheticSequence]) -> dict[str, float]:
    """Success AUC / precision (percent) of the SOT tracker; the target is the object visible longest."""
    curves = []
    for seq in videos:
        real = seq.groups == np.arange(len(seq.track_ids))  # not a look-alike distractor
        score = seq.visible.sum(0) * real * seq.visible[0]
        k = int(np.argmax(score))
        gt, visible = seq.boxes_xywh[:, k].astype(np.float64), seq.visible[:, k]
        tracker = unicorn.Tracker(model, "sot")
        preds = [tracker.init(seq.frame(0), boxes=tuple(gt[0])).boxes_xywh[0]]
        preds += [tracker.step(seq.frame(t)).boxes_xywh[0] for t in range(1, seq.num_frames)]
        curves.append(pytracking_curves(np.asarray(preds, np.float64), gt, visible))
    success, precision, norm = (np.stack(c) for c in zip(*curves))
    return ope_summary(success, precision, norm)


def _annotations(rows: list[tuple[int, int, np.ndarray]]) -> TrackAnnotations:
    if not rows:
        return TrackAnnotations(frames=np.zeros(0), ids=np.zeros(0), boxes=np.zeros((0, 4)))
    frames, ids, boxes = zip(*rows)
    return TrackAnnotations(frames=np.asarray(frames), ids=np.asarray(ids), boxes=np.stack(boxes))


def score_mot(model: torch.nn.Module, videos: list[SyntheticSequence], **thresholds) -> dict[str, float]:
    """IDF1 / MOTA / HOTA (percent) of the MOT tracker over all visible objects (class-agnostic scoring)."""
    sequences = {}
    for n, seq in enumerate(videos):
        tracker = unicorn.Tracker(model, "mot", **thresholds)
        gt_rows, tr_rows = [], []
        for t in range(seq.num_frames):
            frame = seq.frame(t)
            result = tracker.init(frame) if t == 0 else tracker.step(frame)
            tr_rows += [(t + 1, int(i), b) for i, b in zip(result.track_ids, result.boxes_xywh)]
            gt_rows += [(t + 1, int(seq.track_ids[k]), seq.boxes_xywh[t, k]) for k in np.flatnonzero(seq.visible[t])]
        sequences[f"seq{n}"] = (_annotations(gt_rows), _annotations(tr_rows), seq.num_frames)
    combined = evaluate_mot(sequences, benchmark="MOT15").combined
    return {k: float(combined[k]) * (100 if k != "IDSW" else 1) for k in ("IDF1", "MOTA", "HOTA", "IDSW")}


def score_vos(model: torch.nn.Module, videos: list[SyntheticSequence]) -> dict[str, float]:
    """DAVIS J&F (percent) of the VOS tracker, prompted with the first-frame masks of the visible objects."""
    per_object = []
    for seq in videos:
        gt = [seq.label_map(t) for t in range(seq.num_frames)]
        ids = [int(i) for i in seq.track_ids[seq.visible[0]]]
        first = np.where(np.isin(gt[0], ids), gt[0], 0)
        tracker = unicorn.Tracker(model, "vos")
        preds = []
        for t in range(seq.num_frames):
            result = tracker.init(seq.frame(0), masks=first) if t == 0 else tracker.step(seq.frame(t))
            label = np.zeros(seq.size_hw, np.int32)
            if result.masks is not None:
                for i, m in zip(result.track_ids, result.masks):
                    label[m & (label == 0)] = int(i)
            preds.append(label)
        per_object += list(davis_sequence(gt, preds, ids).values())
    summary = davis_summary(per_object)
    return {"J&F": 100 * summary["J&F_mean"], "J": 100 * summary["J_mean"], "F": 100 * summary["F_mean"]}


def evaluate(model: torch.nn.Module, size_hw: tuple[int, int]) -> dict[str, dict[str, float]]:
    model = model.to("cpu", memory_format=torch.channels_last).eval()  # as unicorn.load prepares a model
    torch.set_flush_denormal(True)
    with torch.inference_mode():
        mot_videos = held_out(3, 16, size_hw, 1)
        return {"sot": score_sot(model, held_out(8, 16, size_hw, 0)),
                "mot": score_mot(model, mot_videos, **LOW_THRESHOLDS),
                "mot_upstream_thresholds": score_mot(model, mot_videos),
                "vos": score_vos(model, held_out(3, 16, size_hw, 2))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", default="configs/tests/learns.yaml")
    parser.add_argument("--train-minutes", type=float, default=9.0,
                        help="training budget of both stages together (scoring comes on top)")
    parser.add_argument("--mask-share", type=float, default=0.25, help="part of the budget for stage 2")
    parser.add_argument("--output-dir", default="runs/learns")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    t0 = time.monotonic()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    box_cfg = load_train_config(args.config, [f"output_dir={args.output_dir}", f"name=box-{stamp}"])
    size_hw = box_cfg.input_size
    seed_everything(box_cfg.seed)  # the very weights training starts from
    before = evaluate(build_model(box_cfg.model_config()), size_hw)
    print(f"before training ({time.monotonic() - t0:.0f} s to score): {json.dumps(before)}", flush=True)
    t_train = time.monotonic()
    box_run = train(replace(box_cfg, time_limit_min=(1 - args.mask_share) * args.train_minutes))
    mask_cfg = load_train_config(args.config, [
        f"output_dir={args.output_dir}", f"name=mask-{stamp}", "stage=mask", "mhs=false", f"datasets={MASK_DATA}",
        f"init_checkpoint={box_run / WEIGHTS}", "epochs=6", "samples_per_epoch=192", "warmup_epochs=0.5"])
    left = args.train_minutes - (time.monotonic() - t_train) / 60
    train(replace(mask_cfg, time_limit_min=max(0.5, left)))
    t_train = time.monotonic() - t_train
    after = evaluate(unicorn.load(mask_cfg.run_dir / WEIGHTS, device="cpu"), size_hw)
    total = time.monotonic() - t0
    report = {"before": before, "after": after, "seconds": {"total": total, "training": t_train},
              "runs": [str(box_run), str(mask_cfg.run_dir)]}
    Path(args.output_dir, f"scores-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\n{'metric':30s} {'before':>8s} {'after':>8s}")
    rows = (("sot", "AUC"), ("sot", "Precision"), ("mot", "IDF1"), ("mot", "MOTA"), ("mot", "HOTA"),
            ("mot_upstream_thresholds", "IDF1"), ("vos", "J&F"))
    for task, key in rows:
        print(f"{task + ' ' + key:30s} {before[task][key]:8.1f} {after[task][key]:8.1f}")
    print(f"training {t_train / 60:.1f} min, total {total / 60:.1f} min; loss curves: "
          f"{box_run / 'loss_curve.png'}, {mask_cfg.run_dir / 'loss_curve.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
