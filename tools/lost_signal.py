"""Does the default say when its target is gone, and find it again when it comes back? Measured on real
clips made to lose their target.

    python tools/lost_signal.py [--model unicorn-lite] [--data ../shared/data] [--task sot,vos]
                                [--split eval|val] [--threads 2] [--out runs/lost_signal]

From each DAVIS-2016 clip of the evaluation data (blackswan, car-shadow; ``--split val``: the 8 DAVIS
clips of the training data's validation split, where a setting may be chosen) it makes two clips, each in
three parts (the target in view for the first third, then gone for ``--gone`` frames, then back):

* ``pan``: the view pans away (the frame is shifted, the uncovered side grey) until the target's box is
  wholly outside it, stays away, and pans back;
* ``occluder``: a grey rectangle covers the target's box (1.3x) while it is gone.

It runs the tracker with the defaults a user gets and prints, per clip and task: the frames from the
target's disappearance until it is marked ``lost`` (``to lost``), the share of gone frames reported as
``tracked`` (should be 0), the frames from its return until it is ``tracked`` again with IoU >= 0.5
against the truth (``to found``), and the IoU on the frames where it is in view. It writes a
confidence-over-time plot per run to ``--out``. The evaluation clips choose nothing; choose on
``--split val``.
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

from unicorn.evaluation.mot import box_ious
from unicorn.evaluation.vos import region_similarity
from unicorn.geometry import mask_boxes_xyxy

REPO = Path(__file__).resolve().parents[1]
CLIPS = ("blackswan", "car-shadow")
PAN_STEP = 60  # pixels per frame while the view pans away or back


def clip_folders(data: Path, split: str) -> dict[str, tuple[Path, Path]]:
    """Clip name -> (frames folder, masks folder)."""
    if split == "val":
        from unicorn.data.train_sets.real_clips import VALIDATION_VOS

        return {n.split("__")[-1]: (data / "vos" / n / "JPEGImages", data / "vos" / n / "Annotations")
                for n in VALIDATION_VOS}
    root = data / "davis2016_val"
    return {n: (root / "JPEGImages" / "480p" / n, root / "Annotations" / "480p" / n) for n in CLIPS}


def load_clip(frames_dir: Path, masks_dir: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    frames = sorted(frames_dir.glob("*.jpg"))
    images = [cv2.imread(str(p)) for p in frames]
    masks = [(np.array(Image.open(masks_dir / f"{p.stem}.png")) > 0).astype(np.uint8) for p in frames]
    return images, masks


def box_of(mask: np.ndarray) -> np.ndarray | None:
    """The (4,) x1, y1, x2, y2 box of a mask, None when it is empty."""
    return mask_boxes_xyxy(mask[None])[0] if mask.any() else None


def shift(image: np.ndarray, dx: float, grey: int = 114) -> np.ndarray:
    warp = np.float32([[1, 0, dx], [0, 1, 0]])
    flags = cv2.INTER_NEAREST if image.ndim == 2 else cv2.INTER_LINEAR
    border = 0 if image.ndim == 2 else (grey,) * 3
    return cv2.warpAffine(image, warp, image.shape[1::-1], flags=flags, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def make_clip(images, masks, kind: str, gone: int):
    """(frames, masks in view, in_view flags): the target in view, then gone for ``gone`` frames, then back."""
    n = len(images)
    leave = n // 3
    frames, truth, in_view = [], [], []
    if kind == "occluder":
        for t in range(n):
            img, m = images[t].copy(), masks[t]
            hidden = leave <= t < leave + gone
            if hidden and (b := box_of(m)) is not None:
                c, s = (b[:2] + b[2:]) / 2, (b[2:] - b[:2]) * 1.3 / 2
                x1, y1 = np.floor(c - s).astype(int)
                x2, y2 = np.ceil(c + s).astype(int)
                img[max(y1, 0):y2, max(x1, 0):x2] = 114
            frames.append(img)
            truth.append(np.zeros_like(m) if hidden else m)
            in_view.append(not hidden)
        return frames, truth, in_view
    # pan: the picture moves right by `offset` pixels (the view pans left) until the target's left edge has
    # passed the frame's right edge; it stays there `gone` frames, then pans back.
    width = images[0].shape[1]
    offset, phase, away = 0.0, "in", 0
    for t in range(n):
        m = masks[t]
        b = box_of(m)
        if t >= leave and phase == "in":
            phase = "out"
        if phase == "out":
            offset += PAN_STEP
            if b is not None and b[0] + offset >= width:
                phase, away = "away", 0
        elif phase == "away":
            away += 1
            if away >= gone:
                phase = "back"
        elif phase == "back":
            offset = max(offset - PAN_STEP, 0.0)
        img, mv = shift(images[t], offset), shift(m, offset)
        frames.append(img)
        truth.append(mv)
        in_view.append(bool(mv.any()))
    return frames, truth, in_view


def run(model, task: str, frames, truth, in_view, desc: str, plot: Path):
    import unicorn
    from unicorn.evaluation.timeline import TargetTimeline

    tracker = unicorn.Tracker(model, task)
    timeline = TargetTimeline(plot_path=plot)
    states, scores, overlaps = [], [], []
    for t, frame in enumerate(tqdm(frames, desc=desc, leave=False)):
        if t == 0:
            prompt = {"boxes": [box_of(truth[0]) - np.r_[0, 0, box_of(truth[0])[:2]]]} if task == "sot" \
                else {"masks": truth[0]}
            res = tracker.init(frame, **prompt)
        else:
            res = tracker.step(frame)
        timeline.write(res)
        states.append(str(res.states[0]))
        scores.append(float(res.scores[0]))
        if not in_view[t]:
            overlaps.append(np.nan)
        elif task == "sot":
            overlaps.append(box_ious(res.boxes_xyxy[0], box_of(truth[t]), box_format="x0y0x1y1")[0, 0])
        else:
            overlaps.append(region_similarity(res.index_mask() > 0, truth[t] > 0))
    timeline.close()
    return np.array(states), np.array(scores), np.array(overlaps)


def summarize(states, overlaps, in_view) -> dict[str, float]:
    in_view = np.asarray(in_view)
    gone = np.flatnonzero(~in_view)
    out = {"gone frames": float(len(gone))}
    if len(gone):
        first, last = gone[0], gone[-1]
        lost_at = next((t for t in range(first, len(states)) if states[t] == "lost"), None)
        out["to lost"] = float(lost_at - first) if lost_at is not None and lost_at <= last else float("nan")
        out["gone but tracked %"] = 100 * float(np.mean(states[gone] == "tracked"))
        back = last + 1
        found = next((t for t in range(back, len(states)) if states[t] == "tracked" and overlaps[t] >= 0.5), None)
        out["to found"] = float(found - back) if found is not None else float("nan")
        out["back frames"] = float(len(states) - back)
    out["IoU in view"] = float(np.nanmean(overlaps[1:]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default="unicorn-lite")
    parser.add_argument("--data", default=None, help="data folder (default ../shared/data; with --split val "
                        "../shared/train_data)")
    parser.add_argument("--split", choices=("eval", "val"), default="eval")
    parser.add_argument("--task", default="sot,vos")
    parser.add_argument("--gone", type=int, default=8, help="frames the target stays gone (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="runs/lost_signal")
    args = parser.parse_args(argv)
    data = Path(args.data or REPO.parent / "shared" / ("train_data" if args.split == "val" else "data"))
    folders = clip_folders(data, args.split)
    missing = [str(f) for f, _ in folders.values() if not f.is_dir()]
    if missing:
        print(f"error: no clip frames at {missing[0]}; pass --data", file=sys.stderr)
        return 2
    tasks = [t.strip() for t in args.task.split(",")]
    if not set(tasks) <= {"sot", "vos"}:
        print(f"error: --task takes sot and/or vos; got {args.task!r}", file=sys.stderr)
        return 2
    import unicorn

    torch.set_num_threads(args.threads)
    model = unicorn.load(args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{'clip':<22} {'task':<4} {'gone':>4} {'to lost':>7} {'gone but tracked %':>18} {'to found':>8} "
          f"{'IoU in view':>11}")
    for name, (frames_dir, masks_dir) in folders.items():
        images, masks = load_clip(frames_dir, masks_dir)
        for kind in ("pan", "occluder"):
            frames, truth, in_view = make_clip(images, masks, kind, args.gone)
            for task in tasks:
                states, _, overlaps = run(model, task, frames, truth, in_view, f"{name} {kind} {task}",
                                          out / f"{name}_{kind}_{task}.png")
                s = summarize(states, overlaps, in_view)
                print(f"{name + ' ' + kind:<22} {task:<4} {int(s['gone frames']):>4} {s['to lost']:>7.0f} "
                      f"{s['gone but tracked %']:>18.1f} {s['to found']:>8.0f} {s['IoU in view']:>11.3f}",
                      flush=True)
    print(f"plots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
