"""Train Unicorn: ``python tools/train.py CONFIG [--resume] [--max-steps N] [key=value ...]``.

One process (CPU or one GPU)::

    python tools/train.py configs/tests/tiny.yaml

Several processes on one machine (GPUs with NCCL, or CPU processes with gloo)::

    torchrun --nproc_per_node 8 tools/train.py configs/track/bdd_tiny_stage1.yaml

Several machines (same command on each node; torchrun's c10d rendezvous)::

    torchrun --nnodes 2 --nproc_per_node 8 --rdzv_backend c10d --rdzv_endpoint NODE0_HOST:29400 \\
        --rdzv_id bdd_stage1 tools/train.py configs/track/bdd_tiny_stage1.yaml

Redraw the loss curve of a run: ``python tools/train.py --plot runs/train/NAME``.
"""

from __future__ import annotations

import argparse
import sys

from unicorn.engine.main import add_train_arguments, run_from_args
from unicorn.errors import UserError


def main(argv: list[str] | None = None) -> int:
    parser = add_train_arguments(argparse.ArgumentParser(description=__doc__.split("\n", 1)[0]))
    args = parser.parse_args(argv)
    try:
        return run_from_args(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
