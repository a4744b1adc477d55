"""The ``unicorn`` command line: track, eval, demo, train, convert-checkpoint, weights, info.

User errors print one line and exit with code 2; nothing on disk is overwritten unless asked.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import warnings
from pathlib import Path

from .errors import UserError
from .outputs import FORMATS

DEFAULT_FORMATS = {"sot": ("video", "pytracking", "mot", "json"), "vos": ("video", "davis", "json"),
                   "mot": ("video", "mot", "json"), "mots": ("video", "mots", "mot", "json")}


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 320x512 (height x width), got {text!r}") from None
    return h, w


def _box(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"a box is x,y,w,h in pixels, e.g. 10,20,50,80; got {text!r}")
    return values


def add_track_parser(sub) -> None:
    p = sub.add_parser("track", help="track objects in a video, a folder of frames, a webcam or a stream")
    p.add_argument("input", help="video file, folder of frames, webcam index or URL")
    p.add_argument("--task", choices=("sot", "vos", "mot", "mots"), default="mot")
    p.add_argument("--box", type=_box, action="append",
                   help="SOT target (or VOS object, made into a mask) x,y,w,h; repeat for several")
    p.add_argument("--mask", help="VOS first-frame mask PNG (index or palette image; 0 = background)")
    p.add_argument("--classes", help="MOT/MOTS: comma-separated class names or ids to keep")
    p.add_argument("--detections", help="MOT: use this MOTChallenge det.txt instead of our detector")
    p.add_argument("--detector", choices=("auto", "model", "nanodet-g"),
                   help="MOT detections from the model's own head or the bundled NanoDet-g COCO detector "
                        "(default auto: NanoDet-g for unicorn-lite, the model otherwise; MOTS always uses the model)")
    p.add_argument("--association", choices=("bytetrack", "embedding"), help="MOT/MOTS association")
    p.add_argument("--weights", default="unicorn-lite", help="variant name or checkpoint path")
    p.add_argument("--size", type=_size, help="network input HxW, multiples of 32 (default: the model's)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--out", help="result folder (default: runs/track/<input name>)")
    p.add_argument("--formats", help=f"comma-separated subset of {','.join(FORMATS)} (default: per task)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing result folder")
    p.add_argument("--max-frames", type=int, help="stop after this many frames")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any tracker threshold, e.g. --set conf_thresh=0.3 --set track_buffer=60 (repeatable)")


def _settings(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _class_ids(text: str | None, names: tuple[str, ...]) -> tuple[int, ...] | None:
    if not text:
        return None
    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        if item.isdigit():
            out.append(int(item))
        elif item in names:
            out.append(names.index(item))
        else:
            raise UserError(f"unknown class {item!r}; this model knows: {', '.join(names)}")
    return tuple(out)


def _read_mask(path: str):
    import numpy as np
    from PIL import Image

    p = Path(path)
    if not p.is_file():
        raise UserError(f"mask file {p} does not exist")
    try:
        img = Image.open(p)
        arr = np.array(img)
    except Exception:  # noqa: BLE001
        raise UserError(f"{p} is not an image; give a PNG mask (0 = background, object ids > 0)") from None
    if arr.ndim == 3:  # an RGB drawing: every distinct non-black colour is one object
        flat = arr[..., :3].reshape(-1, 3)
        colours, inverse = np.unique(flat, axis=0, return_inverse=True)
        arr = inverse.reshape(arr.shape[:2])
        black = np.flatnonzero((colours == 0).all(1))
        if len(black):
            arr = np.where(arr == black[0], 0, arr + (arr < black[0]))
    return arr


def run_track(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import Tracker, load
    from .data.video_io import open_video
    from .run import open_writers, run_tracker

    formats = tuple(f.strip() for f in args.formats.split(",")) if args.formats else DEFAULT_FORMATS[args.task]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise UserError(f"unknown format(s) {bad}; choose from {', '.join(FORMATS)}")
    if args.task == "sot" and not args.box:
        raise UserError("SOT needs at least one --box x,y,w,h on the first frame")
    if args.task == "vos" and not (args.mask or args.box):
        raise UserError("VOS needs --mask first_frame_mask.png, or --box x,y,w,h per object (the mask head "
                        "turns each box into a mask)")
    if args.task in ("sot", "mot") and "davis" in formats:
        raise UserError("the davis format holds masks; use it with --task vos or mots")
    name = Path(str(args.input).rstrip("/")).stem or "stream"
    out = Path(args.out or Path("runs") / "track" / name)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise UserError(f"result folder {out} already exists and is not empty; pass --overwrite or another --out")
    extra = _settings(args.set)
    from .trackers.mot import DETECTORS

    kind = args.detector or extra.pop("detector", None) or "auto"
    if kind not in DETECTORS:
        raise UserError(f"unknown detector {kind!r}; choose one of {', '.join(DETECTORS)}")
    if kind != "auto" and args.task not in ("mot", "mots"):
        raise UserError(f"the detector setting is for --task mot (and mots), not {args.task}")
    if args.detections and kind not in ("auto", "model"):
        raise UserError(f"--detections and detector {kind!r} both give detections; choose one")
    source = open_video(args.input)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(args.weights, args.device)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    cfg = model.config
    names = cfg.class_names
    detector = args.detections
    if args.task in ("mot", "mots"):
        from .models.build import COCO_CLASSES
        from .trackers.mot import resolve_detector

        if not args.detections:
            detector = kind
            if resolve_detector(kind, model, args.task == "mots") == "nanodet-g":
                names = COCO_CLASSES  # NanoDet-g's classes, whatever the tracking model's
        classes = _class_ids(args.classes, names)
        if classes is not None:
            extra["classes"] = classes
        if args.association:
            extra["association"] = args.association
    tracker = Tracker(model, args.task, input_size=args.size, detector=detector, **extra)
    prompts = {}
    if args.task == "sot":
        prompts["boxes"] = args.box
    elif args.task == "vos":
        prompts.update({"masks": _read_mask(args.mask)} if args.mask else {"boxes": args.box})
    if out.exists() and args.overwrite:
        shutil.rmtree(out)
    out.mkdir(parents=True)
    writers = open_writers(out, formats, source.fps or 25.0, names)
    total = min(x for x in (args.max_frames, source.frame_count) if x) if (args.max_frames or source.frame_count) \
        else None
    bar = tqdm(total=total, unit="frame", desc=f"{args.task} {name}")
    try:
        stats = run_tracker(tracker, source, prompts, writers, args.max_frames, on_frame=lambda _: bar.update(1))
    finally:
        bar.close()
        source.close()
    summary = {"input": str(args.input), "task": args.task, "weights": str(args.weights),
               **{k: stats[k] for k in ("frames", "tracks", "seconds", "fps")},
               "device": str(next(model.parameters()).device), "outputs": sorted(p.name for p in out.iterdir())}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{stats['frames']} frames, {stats['tracks']} track(s), {stats['fps']} frames/s -> {out}")
    return 0


def run_convert(args: argparse.Namespace) -> int:
    from .hub import load_checkpoint_file, save_safetensors

    src, dst = Path(args.input), Path(args.output)
    if dst.exists() and not args.overwrite:
        raise UserError(f"{dst} already exists; pass --overwrite to replace it")
    if dst.suffix != ".safetensors":
        raise UserError(f"output must end in .safetensors, got {dst.name}")
    model = load_checkpoint_file(src, args.variant)
    save_safetensors(model, dst, args.variant or "", half=args.half)
    n = sum(p.numel() for p in model.parameters())
    print(f"converted {src} ({n / 1e6:.2f} M parameters, backbone {model.config.backbone}, "
          f"{model.config.num_classes} classes, masks: {model.config.with_masks}) -> {dst}")
    return 0


def run_weights(args: argparse.Namespace) -> int:
    from .hub import BUNDLED, cache_dir, download
    from .models.build import VARIANTS

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


def add_demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="start the web demo (Gradio) for uploaded videos, all four tasks")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=7860, help="TCP port (default 7860)")
    p.add_argument("--weights", default="unicorn-lite", help="variant name or checkpoint path")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--max-frames", type=int, help="longest video in frames (default 300; $UNICORN_DEMO_MAX_FRAMES)")
    p.add_argument("--max-seconds", type=float, help="longest video in seconds (default 60; $UNICORN_DEMO_MAX_SECONDS)")
    p.add_argument("--max-upload-mb", type=float, help="largest upload, MB (default 100; $UNICORN_DEMO_MAX_UPLOAD_MB)")
    p.add_argument("--concurrency", type=int, default=2, help="tracking runs served at the same time (default 2)")


def run_demo(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parents[1]
    if not (root / "demo" / "app.py").is_file():
        raise UserError("the web demo (demo/app.py) ships with the source repository, not with the installed "
                        "package; clone the repository and run `unicorn demo` from an editable install")
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise UserError("the web demo needs Gradio: pip install 'unicorn-track[demo]'") from None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from demo.app import run

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="unicorn", description="One model for SOT, MOT, VOS and MOTS.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_track_parser(sub)
    add_demo_parser(sub)
    add_train_parser(sub)
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
    args = parser.parse_args(argv)
    handlers = {"track": run_track, "convert-checkpoint": run_convert, "weights": run_weights, "demo": run_demo,
                "train": run_train}
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


if __name__ == "__main__":
    sys.exit(main())
