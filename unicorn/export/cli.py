"""``unicorn export MODEL OUT_DIR [--format onnx|torchscript] [--size HxW]``: the parser and its handler."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 320x512 (height x width), got {text!r}") from None
    return h, w


def add_export_parser(sub) -> None:
    """Add the ``export`` subcommand to an ``argparse`` subparsers object."""
    from .formats import FORMATS, OPSET

    p = sub.add_parser("export", help="write the network as ONNX or TorchScript graphs for other runtimes",
                       description="Writes the per-frame graphs a tracker needs (features, interaction, "
                                   "propagation, SOT/MOT heads, masks) and unicorn_export.json describing them. "
                                   "Run them with unicorn.load(OUT_DIR, backend='onnxruntime').")
    p.add_argument("model", help="variant name or checkpoint path (as for `unicorn track --weights`)")
    p.add_argument("out_dir", help="folder to write (must be empty unless --overwrite)")
    p.add_argument("--format", choices=FORMATS, default="onnx", help="graph format (default onnx)")
    p.add_argument("--size", type=_size, help="network input HxW, multiples of 32 (default: the model's)")
    p.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET}, the lowest that works)")
    p.add_argument("--overwrite", action="store_true", help="write into a non-empty folder")


def run_export(args: argparse.Namespace) -> int:
    """Handler of ``unicorn export``."""
    from ..api import load
    from .exporter import check_size, export_model

    out = Path(args.out_dir)  # refuse what export_model would refuse before the model loads
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise UserError(f"export folder {out} already exists and is not empty; pass --overwrite or another folder")
    if args.size is not None:
        check_size(args.size)
    if args.format == "onnx":
        try:
            import onnx  # noqa: F401 - the exporter needs it
        except ImportError:
            raise UserError("ONNX export needs the onnx package: pip install 'unicorn-track[onnx]'") from None
    model = load(args.model, "cpu")
    manifest = export_model(model, args.out_dir, args.size, args.format, args.opset, args.overwrite)
    h, w = manifest["input_size"]
    opset = f", opset {manifest['opset']}" if manifest["opset"] else ""
    print(f"exported {len(manifest['graphs'])} {args.format} graphs at {h}x{w}{opset} -> {args.out_dir}: "
          f"{', '.join(manifest['graphs'])}")
    for name, why in manifest["skipped"].items():
        print(f"  skipped {name}: {why}")
    return 0
