"""Choose NanoDet-g's MOT score thresholds on training images (never on the evaluation clips).

    python tools/choose_detector_thresholds.py [--root ../shared/train_data] [--size 608] [--threads 2]

Runs the bundled NanoDet-g detector over the person instances of the still images in ``train_data``
(COCO-2017 train128 and Penn-Fudan, COCO json each), matches person detections to ground truth at IoU
0.5 (greedy by score; crowd boxes and people under 24 pixels tall are neither counted as misses nor as
false positives), and prints precision, recall and F1 for each score threshold. The threshold with the
best F1 is ByteTrack's first pass (``track_thresh``) for the NanoDet-g preset of ``unicorn-lite``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from unicorn.data.train_sets.real_clips import DEFAULT_ROOT
from unicorn.detectors.nanodet import NanoDetDetector
from unicorn.trackers.association.matching import iou_matrix

SETS = (("coco2017_train128", "instances_train2017.json"), ("pennfudan", "instances_pennfudan.json"))
MIN_HEIGHT = 24.0
THRESHOLDS = np.round(np.arange(0.2, 0.71, 0.05), 2)


def person_boxes(coco: dict) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """image id -> (xyxy boxes of persons, True where the box is ignored: crowd or small)."""
    out: dict[int, list] = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        if ann["category_id"] != 1:
            continue
        x, y, w, h = ann["bbox"]
        out[ann["image_id"]].append((x, y, x + w, y + h, bool(ann.get("iscrowd", 0)) or h < MIN_HEIGHT))
    return {k: (np.array([r[:4] for r in v], np.float64).reshape(-1, 4), np.array([r[4] for r in v], bool))
            for k, v in out.items()}


def match(det: np.ndarray, scores: np.ndarray, gt: np.ndarray, ignore: np.ndarray) -> list[tuple[float, int]]:
    """(score, 1 = true positive / 0 = false positive / -1 = ignored) per detection, greedy by score."""
    order = np.argsort(-scores)
    ious = iou_matrix(det[order], gt) if len(gt) else np.zeros((len(det), 0))
    taken = np.zeros(len(gt), bool)
    out = []
    for row, i in enumerate(order):
        cand = np.where(~taken & (ious[row] >= 0.5))[0]
        if len(cand):
            j = cand[np.argmax(ious[row, cand])]
            taken[j] = True
            out.append((float(scores[i]), -1 if ignore[j] else 1))
        elif len(gt) and ignore.any() and ious[row, ignore].max() >= 0.5:
            out.append((float(scores[i]), -1))
        else:
            out.append((float(scores[i]), 0))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument("--size", type=int, default=608)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    root = Path(args.root) / "images"
    if not root.is_dir():
        print(f"error: no training images at {root}; pass --root", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    detector = NanoDetDetector(input_size=args.size, score_thresh=min(THRESHOLDS) - 0.01, classes=(0,))
    results, positives = [], 0
    for folder, name in SETS:
        coco = json.loads((root / folder / name).read_text())
        truth = person_boxes(coco)
        for img in tqdm(coco["images"], desc=folder, leave=False):
            gt, ignore = truth[img["id"]]
            frame = cv2.imread(str(root / folder / "images" / img["file_name"]))
            if frame is None:
                continue
            boxes, scores, _ = detector(frame)
            results += match(boxes.astype(np.float64), scores, gt, ignore)
            positives += int((~ignore).sum())
    scores = np.array([s for s, _ in results])
    kinds = np.array([k for _, k in results])
    print(f"{positives} persons (not crowd, >= {MIN_HEIGHT:.0f} px tall), NanoDet-g at {args.size}")
    print("threshold  precision  recall  F1")
    best = (0.0, None)
    for t in THRESHOLDS:
        keep = scores > t
        tp, fp = int(((kinds == 1) & keep).sum()), int(((kinds == 0) & keep).sum())
        precision = tp / max(tp + fp, 1)
        recall = tp / max(positives, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        best = max(best, (f1, t), key=lambda b: b[0])
        print(f"{t:9.2f}  {precision:9.3f}  {recall:6.3f}  {f1:.3f}")
    print(f"best F1 {best[0]:.3f} at score > {best[1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
