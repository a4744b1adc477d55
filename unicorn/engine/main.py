"""Command-line entry of training, shared by ``tools/train.py`` and ``unicorn train``."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Arguments: CONFIG [overrides key=value ...] [--resume] [--max-steps N] [--plot RUN_DIR]."""
    parser.add_argument("config", nargs="?", help="YAML overrides file (e.g. configs/tests/tiny.yaml)")
    parser.add_argument("overrides", nargs=argparse.REMAINDER, metavar="key=value",
                        help="config fields to change, values in YAML syntax (epochs=3 input_size=[128,192] "
                             "model_overrides.num_classes=1)")
    parser.add_argument("--resume", action="store_true", help="continue from the run folder's checkpoints/last.pt")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps in total")
    parser.add_argument("--plot", metavar="RUN_DIR", help="only draw RUN_DIR/loss_curve.png from its metrics.csv")
    return parser


def _options_after_config(args: argparse.Namespace) -> argparse.Namespace:
    """Pick ``--resume`` / ``--max-steps`` out of the words after CONFIG (argparse stops at the overrides)."""
    from ..errors import UserError

    late = argparse.ArgumentParser(add_help=False)
    late.add_argument("--resume", action="store_true")
    late.add_argument("--max-steps", type=int)
    try:
        found, rest = late.parse_known_args(args.overrides)
    except SystemExit:
        raise UserError(f"cannot read the options in {' '.join(args.overrides)}; --max-steps needs a number") from None
    bad = [w for w in rest if "=" not in w]
    if bad:
        raise UserError(f"unknown argument(s) {bad}; overrides look like key=value (e.g. epochs=3)")
    return argparse.Namespace(**{**vars(args), "overrides": rest, "resume": args.resume or found.resume,
                                 "max_steps": found.max_steps if found.max_steps is not None else args.max_steps})


def run_from_args(args: argparse.Namespace) -> int:
    """Train (or plot) as the parsed arguments say. Raises ``UserError`` for bad input."""
    from ..errors import UserError

    args = _options_after_config(args)

    if args.plot:
        from .plot import plot_loss_curve

        run = Path(args.plot)
        if not (run / "metrics.csv").is_file():
            raise UserError(f"{run} has no metrics.csv; give the folder of a training run")
        print(plot_loss_curve(run / "metrics.csv", run / "loss_curve.png"))
        return 0
    if not args.config:
        raise UserError("give a config file, e.g. `unicorn train configs/tests/tiny.yaml`")
    from .config import load_train_config
    from .launch import train

    rank = int(os.environ.get("RANK", "0"))
    logging.basicConfig(level=logging.INFO if rank == 0 else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s")
    cfg = load_train_config(args.config, args.overrides)
    run_dir = train(cfg, resume=args.resume, max_steps=args.max_steps)
    if rank == 0:
        print(f"run folder: {run_dir}")
    return 0


__all__ = ["add_train_arguments", "run_from_args"]
