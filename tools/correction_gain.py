"""What one correction buys: a real clip tracked with the defaults, then again with the truth given back
on the frame where the result was worst, as a user who saw the drift there would fix it.

    python tools/correction_gain.py [--model unicorn-lite] [--data ../shared/data] [--task sot,vos]
                                    [--threads 2]

For each DAVIS-2016 clip of the evaluation data (blackswan, car-shadow) and task, it prints the frame k
that was corrected (the worst IoU of the uncorrected run among frames 1 .. 80% of the clip), the clip's
SOT AUC or VOS J&F without and with the correction, and whether every frame before k came out the same
(it must: a correction changes only what follows it). The clips choose nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from unicorn.errors import UserError
from unicorn.evaluation.card.data import load_davis, read_frame
from unicorn.evaluation.mot import box_ious
from unicorn.evaluation.vos import region_similarity
from unicorn.geometry import mask_boxes_xyxy, xyxy_to_xywh

REPO = Path(__file__).resolve().parents[1]
CLIPS = ("blackswan", "car-shadow")


def xywh(mask: np.ndarray) -> np.ndarray:
    """The (4,) x, y, w, h box of a mask (zeros when it is empty)."""
    return xyxy_to_xywh(mask_boxes_xyxy(mask[None]))[0]


def track(model, task: str, images, masks, correct_at: int | None = None) -> list[np.ndarray]:
    """Per frame: the (4,) xywh box (SOT) or (H, W) mask (VOS)."""
    import unicorn

    tracker = unicorn.Tracker(model, task)
    out = []
    for t, frame in enumerate(tqdm(images, leave=False, desc=f"{task} correction at {correct_at}")):
        truth = {"boxes": [xywh(masks[t])]} if task == "sot" else {"masks": masks[t]}
        if t == 0:
            res = tracker.init(frame, **truth)
        elif t == correct_at:
            res = tracker.correct(frame, **truth)
        else:
            res = tracker.step(frame)
        out.append(res.boxes_xywh[0].astype(np.float64) if task == "sot" else res.index_mask().astype(np.uint8))
    return out


def overlaps(task: str, preds, masks) -> np.ndarray:
    """Per frame: box IoU (SOT) or mask IoU, J (VOS), of the result with the truth."""
    if task == "sot":
        return np.array([box_ious(p, xywh(m))[0, 0] for p, m in zip(preds, masks)])
    return np.array([region_similarity(p > 0, g > 0) for p, g in zip(preds, masks)])


def score(task: str, preds, masks) -> float:
    from unicorn.evaluation import sot, vos

    if task == "sot":
        gt = np.stack([xywh(m) for m in masks])
        curves = sot.pytracking_curves(np.stack(preds), gt)
        return float(sot.ope_summary(*(c[None] for c in curves))["AUC"])
    s = vos.davis2016_merged_sequence(list(masks), list(preds))
    return 50 * (s["J_mean"] + s["F_mean"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default="unicorn-lite")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--task", default="sot,vos")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        clips = load_davis(Path(args.data), CLIPS)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tasks = [t.strip() for t in args.task.split(",")]
    if not set(tasks) <= {"sot", "vos"}:
        print(f"error: --task takes sot and/or vos; got {args.task!r}", file=sys.stderr)
        return 2
    import unicorn

    torch.set_num_threads(args.threads)
    model = unicorn.load(args.model)
    print(f"{'clip':<11} {'task':<4} {'k':>3} {'IoU at k':>8} {'without':>8} {'with':>8} {'frames < k same':>15}")
    for clip in clips:
        name, images, masks = clip.name, [read_frame(p) for p in clip.frames], [m.astype(np.uint8) for m in clip.masks]
        for task in tasks:
            plain = track(model, task, images, masks)
            iou = overlaps(task, plain, masks)
            last = max(2, int(0.8 * len(images)))
            k = 1 + int(np.argmin(iou[1:last]))
            fixed = track(model, task, images, masks, correct_at=k)
            same = all(np.array_equal(a, b) for a, b in zip(plain[:k], fixed[:k]))
            metric = "AUC" if task == "sot" else "J&F"
            print(f"{name:<11} {task:<4} {k:>3} {iou[k]:>8.3f} {score(task, plain, masks):>8.1f} "
                  f"{score(task, fixed, masks):>8.1f} {str(same):>15}  ({metric})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
