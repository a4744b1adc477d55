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

import cv2
import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]
CLIPS = ("blackswan", "car-shadow")


def load_clip(data: Path, name: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    root = data / "davis2016_val"
    frames = sorted((root / "JPEGImages" / "480p" / name).glob("*.jpg"))
    images = [cv2.imread(str(p)) for p in frames]
    masks = [(np.array(Image.open(root / "Annotations" / "480p" / name / f"{p.stem}.png")) > 0).astype(np.uint8)
             for p in frames]
    return images, masks


def xywh(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    if not len(xs):
        return np.zeros(4)
    return np.array([xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()], np.float64)


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
    if task == "sot":
        return _box_iou(np.stack(preds), np.stack([xywh(m) for m in masks]))
    return np.array([np.logical_and(p > 0, g > 0).sum() / max(np.logical_or(p > 0, g > 0).sum(), 1)
                     for p, g in zip(preds, masks)])


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    tl = np.maximum(a[:, :2], b[:, :2])
    br = np.minimum(a[:, :2] + a[:, 2:], b[:, :2] + b[:, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), 1)
    union = np.prod(a[:, 2:], 1) + np.prod(b[:, 2:], 1) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


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
    data = Path(args.data)
    if not (data / "davis2016_val" / "JPEGImages" / "480p" / CLIPS[0]).is_dir():
        print(f"error: no DAVIS-2016 clips under {data}/davis2016_val; pass --data", file=sys.stderr)
        return 2
    tasks = [t.strip() for t in args.task.split(",")]
    if not set(tasks) <= {"sot", "vos"}:
        print(f"error: --task takes sot and/or vos; got {args.task!r}", file=sys.stderr)
        return 2
    import unicorn

    torch.set_num_threads(args.threads)
    model = unicorn.load(args.model)
    print(f"{'clip':<11} {'task':<4} {'k':>3} {'IoU at k':>8} {'without':>8} {'with':>8} {'frames < k same':>15}")
    for name in CLIPS:
        images, masks = load_clip(data, name)
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
