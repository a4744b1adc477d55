"""Helpers for training-engine tests: the tiny config at an even smaller size, CSV reading."""

from __future__ import annotations

import csv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / "configs"
TINY = CONFIGS / "tests" / "tiny.yaml"

# 64x96 pairs, a few generated videos: a few tenths of a second per optimizer step on 2 cores.
SMALL = ["input_size=[64,96]", "model_overrides.input_size=[64,96]", "samples_per_epoch=8",
         "datasets=[{name: synthetic, task: sot, options: {num_sequences: 4, num_frames: 8}}, "
         "{name: synthetic, task: mot, options: {num_sequences: 4, num_frames: 8}}]"]


def read_rows(run_dir: Path) -> dict[int, dict[str, float]]:
    """``metrics.csv`` of a run as {step: {column: value}}."""
    with open(run_dir / "metrics.csv", newline="") as fh:
        return {int(r["step"]): {k: float(v) for k, v in r.items() if v != ""} for r in csv.DictReader(fh)}
