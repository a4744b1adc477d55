"""unicorn-lite's speed per task on each backend, measured side by side in one run.

    python tools/lite_speed.py [--model unicorn-lite] [--data ../shared/data] [--threads 2] [--rounds 2]
                               [--backends torch auto]

Each (round, backend, task) is one child process of the model card's speed measurement
(:mod:`unicorn.evaluation.card.speed`: median of 20 tracker steps after 3 warm-up steps; SOT and VOS on
DAVIS blackswan, MOT with NanoDet-g on MOT17-04 at 1920x1080). Backends alternate within each round,
so a change in the machine's load shows in both columns; the table keeps the best round of each. It
also prints the CPU's float32 matmul peak at the same thread count and the load average, so the
numbers can be compared across machines.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

from unicorn.errors import UserError
from unicorn.evaluation.card.speed import measure_speed, speed_jobs

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def matmul_peak_gflops(threads: int, n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of an (n x n) float32 matrix product at ``threads`` threads."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", default="unicorn-lite")
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["torch", "auto"], choices=("torch", "auto", "onnxruntime"))
    parser.add_argument("--tasks", default="sot,vos,mot")
    args = parser.parse_args(argv)
    try:
        jobs = speed_jobs(args.model, "cpu", args.threads, Path(args.data), False, [0])
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tasks = args.tasks.split(",")
    print(f"load average at start: {os.getloadavg()[0]:.2f}; float32 matmul peak at {args.threads} threads: "
          f"{matmul_peak_gflops(args.threads):.1f} GFLOP/s", flush=True)
    best: dict[tuple[str, str], dict] = {}
    for r in range(args.rounds):
        for task in tasks:
            for backend in args.backends:
                out = measure_speed({**jobs[task], "backend": backend})
                key = (task, backend)
                if key not in best or out["ms_per_frame"] < best[key]["ms_per_frame"]:
                    best[key] = out
                print(f"round {r + 1} {task} {backend:11s} {out['ms_per_frame']:7.1f} ms/frame "
                      f"({out['fps']:.1f} frames/s, peak {out['peak_mb']:.0f} MB)", flush=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}\n")
    first = args.backends[0]
    print("| task | " + " | ".join(f"{b} ms (frames/s)" for b in args.backends) + f" | speed-up over {first} |")
    print("|---|" + "---|" * (len(args.backends) + 1))
    for task in tasks:
        cells = [f"{best[(task, b)]['ms_per_frame']:.1f} ({best[(task, b)]['fps']:.1f})" for b in args.backends]
        ups = ", ".join(f"{b} {best[(task, first)]['ms_per_frame'] / best[(task, b)]['ms_per_frame']:.2f}x"
                        for b in args.backends[1:])
        print(f"| {task} | " + " | ".join(cells) + f" | {ups} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
