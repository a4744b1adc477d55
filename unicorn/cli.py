"""The ``unicorn`` command line: track, eval, demo, train, convert-checkpoint, weights, info.

User errors print one line and exit with code 2; nothing on disk is overwritten unless asked.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .cli_track import add_track_parser, join_negative_values, run_track
from .demo.options import add_demo_parser
from .errors import UserError
from .export.cli import add_export_parser, run_export
from .run_folder import DISK_FULL, describe_os_error


def run_convert(args: argparse.Namespace) -> int:
    from .hub import load_checkpoint_file, save_safetensors

    src, dst = Path(args.input), Path(args.output)
    if dst.exists() and not args.overwrite:
        raise UserError(f"{dst} already exists; pass --overwrite to replace it")
    if dst.suffix != ".safetensors":
        raise UserError(f"output must end in .safetensors, got {dst.name}")
    if not dst.parent.is_dir() or not os.access(dst.parent, os.W_OK):
        raise UserError(f"cannot write {dst}: {dst.parent} is not a folder this user can write to")
    if not src.is_file():
        raise UserError(f"checkpoint {src} does not exist")
    model = load_checkpoint_file(src, args.variant)
    partial = dst.with_name(f"{dst.stem}.partial{dst.suffix}")  # a failed write never leaves a cut file at dst
    try:
        save_safetensors(model, partial, args.variant or "", half=args.half)
        os.replace(partial, dst)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UserError(f"cannot write {dst}: {describe_os_error(exc)}") from None
    n = sum(p.numel() for p in model.parameters())
    print(f"converted {src} ({n / 1e6:.2f} M parameters, backbone {model.config.backbone}, "
          f"{model.config.num_classes} classes, masks: {model.config.with_masks}) -> {dst}")
    return 0


def run_weights(args: argparse.Namespace) -> int:
    from .hub import BUNDLED, cache_dir, download
    from .variants import VARIANTS

    if args.action == "list":
        for name, v in VARIANTS.items():
            bundled = BUNDLED.get(name)
            here = (bundled is not None and bundled.is_file()) or (cache_dir() / f"{name}.pth").is_file()
            print(f"{name:42s} {'[on disk]' if here else '         '} {v.description}")
        return 0
    if not args.name:
        raise UserError("name the variant to download, e.g. `unicorn weights download unicorn_track_tiny_mask`")
    print(f"downloaded and verified -> {download(args.name)}")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise UserError("the web demo needs Gradio: pip install 'unicorn-track[demo]'") from None
    from .demo.app import run

    return run(args)


def add_train_parser(sub) -> None:
    from .engine.main import add_train_arguments

    p = sub.add_parser("train", help="train or fine-tune a model from a YAML config (torchrun for several GPUs)",
                       description="unicorn train CONFIG [key=value ...] [--resume] [--max-steps N]; several "
                                   "processes: torchrun --nproc_per_node 8 -m unicorn.cli train CONFIG")
    add_train_arguments(p)


def run_train(args: argparse.Namespace) -> int:
    from .engine.main import run_from_args

    return run_from_args(args)


def add_track_many_parser(sub) -> None:
    from .track_many import add_track_many_parser as add

    add(sub)


def run_track_many(args: argparse.Namespace) -> int:
    from .track_many import run_track_many as run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unicorn", description="One model for SOT, MOT, VOS and MOTS.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_track_parser(sub)
    add_track_many_parser(sub)
    add_demo_parser(sub)
    add_train_parser(sub)
    add_export_parser(sub)
    c = sub.add_parser("convert-checkpoint", help="convert an upstream .pth checkpoint to .safetensors")
    c.add_argument("input")
    c.add_argument("output")
    c.add_argument("--variant", help="variant name when it cannot be inferred (e.g. unicorn_track_tiny_rt_mask)")
    c.add_argument("--half", action="store_true", help="store float16 weights")
    c.add_argument("--overwrite", action="store_true")
    w = sub.add_parser("weights", help="list variants or download released weights")
    w.add_argument("action", choices=("list", "download"))
    w.add_argument("name", nargs="?")
    try:
        from .evaluation.cli import add_eval_parser
    except ImportError:  # evaluation extras not installed
        add_eval_parser = None
    if add_eval_parser is not None:
        add_eval_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(join_negative_values(list(sys.argv[1:] if argv is None else argv)))
    handlers = {"track": run_track, "convert-checkpoint": run_convert, "weights": run_weights, "demo": run_demo,
                "train": run_train, "track-many": run_track_many, "export": run_export}
    try:
        if args.command == "eval":
            from .evaluation.cli import run_eval

            return run_eval(args)
        return handlers[args.command](args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        print(f"error: {describe_os_error(exc)}; free space and run again", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
