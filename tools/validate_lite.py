"""Score tracker settings on the held-out validation split of the training clips (for choosing defaults).

    python tools/validate_lite.py [--model unicorn-lite] [--root ../shared/train_data] [--task sot,vos]
                                  [--set KEY=VALUE ...] [--threads 2]

The split (``unicorn.data.train_sets.real_clips.VALIDATION_VOS`` / ``VALIDATION_SOT``) is never
trained on; defaults are chosen here and never on the evaluation data. These numbers are for choices
only and are not the model's reported accuracy (that is ``tools/model_card.py`` on unseen clips).
Prints SOT AUC (pytracking convention, the box of the mask for the VOS clips) and VOS J / J&F
(DAVIS-2016 convention: first and last frames not scored), per clip and overall.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

import unicorn
from unicorn.data.train_sets.real_clips import DEFAULT_ROOT, VALIDATION_VOS, box_clips
from unicorn.evaluation import sot, vos


def parse_settings(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = yaml.safe_load(value)
    return out


def sot_scores(model, root: Path, settings: dict) -> dict[str, float]:
    """AUC per validation box clip and over all of them."""
    curves, per_clip = [], {}
    for clip in tqdm(box_clips(root, "val"), desc="SOT val", leave=False):
        tracker = unicorn.Tracker(model, "sot", **settings)
        gt = clip.boxes_xywh
        first = int(np.flatnonzero(gt[:, 2] > 0)[0])
        preds = np.zeros_like(gt)
        for t, path in enumerate(clip.frame_paths[first:], start=first):
            frame = cv2.imread(str(path))
            res = tracker.init(frame, boxes=[gt[first]]) if t == first else tracker.step(frame)
            preds[t] = res.boxes_xywh[0]
        c = sot.pytracking_curves(preds[first:], gt[first:])
        per_clip[clip.name] = float(sot.ope_summary(*(x[None] for x in c))["AUC"])
        curves.append(c)
    summary = sot.ope_summary(*(np.stack([c[i] for c in curves]) for i in range(3)))
    return {"AUC": float(summary["AUC"]), **per_clip}


def vos_scores(model, root: Path, settings: dict) -> dict[str, float]:
    """J&F per validation mask clip and their mean."""
    scores, per_clip = [], {}
    for name in tqdm(VALIDATION_VOS, desc="VOS val", leave=False):
        folder = root / "vos" / name
        frames = sorted((folder / "JPEGImages").glob("*.jpg"))
        gts = [(np.array(Image.open(folder / "Annotations" / f"{p.stem}.png")) > 0).astype(np.uint8) for p in frames]
        tracker = unicorn.Tracker(model, "vos", **settings)
        preds = []
        for t, path in enumerate(frames):
            frame = cv2.imread(str(path))
            res = tracker.init(frame, masks=gts[0]) if t == 0 else tracker.step(frame)
            preds.append(res.index_mask().astype(np.uint8))
        s = vos.davis2016_merged_sequence(gts, preds)
        scores.append(s)
        per_clip[name] = 50 * (s["J_mean"] + s["F_mean"])
    summary = vos.davis_summary(scores)
    return {"J&F": 100 * summary["J&F_mean"], "J": 100 * summary["J_mean"], **per_clip}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default="unicorn-lite")
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument("--task", default="sot,vos")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not (root / "vos").is_dir():
        print(f"error: no training clips at {root} (expected {root}/vos/...); pass --root", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    model = unicorn.load(args.model, device="cpu")
    settings = parse_settings(args.set)
    for task in args.task.split(","):
        result = sot_scores(model, root, settings) if task == "sot" else vos_scores(model, root, settings)
        head = next(iter(result))
        print(f"{task} {settings} {head} {result[head]:.1f} | " +
              " ".join(f"{k.split('__')[-1]} {v:.1f}" for k, v in list(result.items())[1:]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
