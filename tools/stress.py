"""Stress checks for the trackers: bounded memory on long streams, cost of many SOT targets.

    python tools/stress.py memory  [--frames 3000] [--task sot|vos|mot|mots] [--weights unicorn-lite]
    python tools/stress.py targets [--targets 8] [--size 320x512] [--weights unicorn-lite]
    python tools/stress.py soak    [--frames 10000] [--tasks sot vos mot] [--every 500] [--size 192x320]
                                   [--frame-size 240x320] [--formats mot,json] [--device cpu] [--json FILE]

``memory`` streams a generated video (frames made on the fly, never stored) through one tracker
and prints the peak resident memory after the first 100 frames and at the end.
``targets`` prints the median time per SOT step for 1 target and for N targets.
``soak`` runs each task over the same number of generated frames through the result writers, as
``unicorn track`` does (files in a temporary folder), and prints the resident memory every ``--every``
frames, then its growth from the first report to the last.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import unicorn
from unicorn.probe import median_seconds, peak_rss_mb, rss_mb


def generated_frames(n: int, h: int = 360, w: int = 640, seed: int = 0) -> Iterator[np.ndarray]:
    """A textured background panning slowly with three moving blobs; each frame made on demand."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (h, w * 2, 3), dtype=np.uint8)
    for t in range(n):
        pan = int((t * 3) % w)
        frame = base[:, pan:pan + w].copy()
        for k, colour in enumerate(((40, 40, 220), (220, 90, 30), (40, 200, 60))):
            cx = int(w / 2 + (w / 3) * np.sin(t / (40 + 7 * k) + k))
            cy = int(h / 2 + (h / 4) * np.cos(t / (50 + 5 * k) + k))
            frame[max(cy - 30, 0):cy + 30, max(cx - 20, 0):cx + 20] = colour
        yield frame


def run_memory(args: argparse.Namespace) -> None:
    model = unicorn.load(args.weights, device="cpu")
    tracker = unicorn.Tracker(model, args.task)
    first = next(generated_frames(1))
    prompts = {"sot": {"boxes": [(300, 150, 40, 60)]}, "vos": {"masks": _box_mask(first.shape[:2])}}
    after_100 = None
    with torch.inference_mode():
        for i, frame in enumerate(tqdm(generated_frames(args.frames), total=args.frames, unit="frame")):
            if i == 0:
                tracker.init(frame, **prompts.get(args.task, {}))
            else:
                tracker.step(frame)
            if i == 99:
                after_100 = peak_rss_mb()
    end = peak_rss_mb()
    print(f"{args.task}: peak RSS after 100 frames {after_100:.1f} MB, after {args.frames} frames {end:.1f} MB, "
          f"growth {end - after_100:.1f} MB (bound: 100 MB)")


def _box_mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    mask[150:210, 300:340] = 1
    return mask


def run_targets(args: argparse.Namespace) -> None:
    h, w = (int(v) for v in args.size.split("x"))
    model = unicorn.load(args.weights, device="cpu")
    frames = list(generated_frames(2, h, w))
    rng = np.random.default_rng(1)
    times = {}
    for k in (1, args.targets):
        boxes = [(int(rng.integers(0, w - 60)), int(rng.integers(0, h - 80)), 50, 70) for _ in range(k)]
        tracker = unicorn.Tracker(model, "sot", input_size=(h, w))
        with torch.inference_mode():
            tracker.init(frames[0], boxes=boxes)
            times[k] = median_seconds(lambda tracker=tracker: tracker.step(frames[1]), args.runs)
    ratio = times[args.targets] / times[1]
    print(f"SOT at {h}x{w}, {torch.get_num_threads()} threads: 1 target {times[1] * 1000:.1f} ms/frame, "
          f"{args.targets} targets {times[args.targets] * 1000:.1f} ms/frame, ratio {ratio:.2f} (bound: 2.5)")


def soak_task(model, task: str, args: argparse.Namespace, folder: Path) -> list[dict]:
    """One task over ``args.frames`` generated frames into the writers; returns the memory reports."""
    from unicorn.run import open_writers, run_tracker

    fh, fw = (int(v) for v in args.frame_size.split("x"))
    size = tuple(int(v) for v in args.size.split("x"))
    first = next(generated_frames(1, fh, fw))
    mask = np.zeros(first.shape[:2], np.uint8)
    mask[fh // 2 - 30:fh // 2 + 30, fw // 2 - 20:fw // 2 + 20] = 1
    prompts = {"sot": {"boxes": [(fw // 2 - 20, fh // 2 - 30, 40, 60)]}, "vos": {"masks": mask}}.get(task, {})
    tracker = unicorn.Tracker(model, task, input_size=size)
    formats = [f for f in args.formats.split(",") if f and not (f == "davis" and task not in ("vos", "mots"))]
    writers = open_writers(folder / task, formats, 25.0)
    reports, t0 = [], time.perf_counter()

    def report(n: int) -> None:
        if n % args.every == 0 or n == args.frames:
            row = {"task": task, "frames": n, "rss_mb": round(rss_mb(), 1), "peak_mb": round(peak_rss_mb(), 1),
                   "frames_per_s": round(n / (time.perf_counter() - t0), 2)}
            if torch.cuda.is_available() and model.device.type == "cuda":
                row["cuda_mb"] = round(torch.cuda.memory_allocated() / 2**20, 1)
            reports.append(row)
            print(json.dumps(row), flush=True)

    (folder / task).mkdir(parents=True, exist_ok=True)
    run_tracker(tracker, generated_frames(args.frames, fh, fw), prompts, writers, on_frame=report)
    return reports


def run_soak(args: argparse.Namespace) -> None:
    model = unicorn.load(args.weights, device=args.device)
    model.device = next(model.parameters()).device
    every = {}
    with tempfile.TemporaryDirectory(prefix="unicorn-soak-") as tmp:
        for task in args.tasks:
            every[task] = soak_task(model, task, args, Path(tmp))
    for task, rows in every.items():
        print(f"{task}: RSS {rows[0]['rss_mb']:.1f} MB at frame {rows[0]['frames']}, {rows[-1]['rss_mb']:.1f} MB at "
              f"frame {rows[-1]['frames']} (growth {rows[-1]['rss_mb'] - rows[0]['rss_mb']:+.1f} MB), "
              f"{rows[-1]['frames_per_s']} frames/s")
    if args.json:
        Path(args.json).write_text(json.dumps(every, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="check", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--frames", type=int, default=3000)
    m.add_argument("--task", choices=("sot", "vos", "mot", "mots"), default="sot")
    m.add_argument("--weights", default="unicorn-lite")
    t = sub.add_parser("targets")
    t.add_argument("--targets", type=int, default=8)
    t.add_argument("--size", default="320x512")
    t.add_argument("--runs", type=int, default=7)
    t.add_argument("--weights", default="unicorn-lite")
    k = sub.add_parser("soak")
    k.add_argument("--frames", type=int, default=10_000)
    k.add_argument("--tasks", nargs="+", choices=("sot", "vos", "mot", "mots"), default=["sot", "vos", "mot"])
    k.add_argument("--every", type=int, default=500, help="frames between memory reports")
    k.add_argument("--size", default="192x320", help="network input HxW")
    k.add_argument("--frame-size", default="240x320", help="generated frames HxW")
    k.add_argument("--formats", default="mot,json,davis,video",
                   help="result writers to run (davis for VOS only; video: the annotated mp4)")
    k.add_argument("--weights", default="unicorn-lite")
    k.add_argument("--device", default="cpu")
    k.add_argument("--json", help="also write the reports to this file")
    k.add_argument("--threads", type=int, default=2, help="torch threads")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*no trained weights.*")
    torch.set_num_threads(getattr(args, "threads", 2))
    {"memory": run_memory, "targets": run_targets, "soak": run_soak}[args.check](args)


if __name__ == "__main__":
    main()
