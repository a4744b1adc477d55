"""``unicorn track``: every check that can be made runs before torch, the model or the result folder.

Order: arguments and files (no torch) -> settings and the first frame -> the model -> the result folder,
``summary.json`` (``running``) -> tracking -> ``summary.json`` (``complete``, ``interrupted`` or ``failed``).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import warnings
from pathlib import Path
from typing import Any

from .errors import UserError
from .outputs import FORMATS
from .run_folder import (
    DISK_FULL,
    RunSummary,
    check_result_folder,
    create_result_folder,
    describe_os_error,
    sigterm_as_interrupt,
)

DEFAULT_FORMATS = {"sot": ("video", "pytracking", "mot", "json"), "vos": ("video", "davis", "json"),
                   "mot": ("video", "mot", "json"), "mots": ("video", "mots", "mot", "json")}
DAVIS_MAX_ID = 255


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 320x512 (height x width), got {text!r}") from None
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        raise argparse.ArgumentTypeError(f"size {text!r}: height and width must be positive multiples of 32 "
                                         "(e.g. 320x512)")
    return h, w


def _box(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"a box is x,y,w,h in pixels, e.g. 10,20,50,80; got {text!r}")
    if not all(math.isfinite(v) for v in values) or values[2] <= 0 or values[3] <= 0:
        raise argparse.ArgumentTypeError(f"box {text!r} needs finite numbers and a width and height of at least "
                                         "1 pixel (x,y,w,h)")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def join_negative_values(argv: list[str]) -> list[str]:
    """``--box -50,-50,20,20`` -> ``--box=-50,-50,20,20``: argparse would take the value for an option."""
    out, i = [], 0
    while i < len(argv):
        word = argv[i]
        value = argv[i + 1] if i + 1 < len(argv) else ""
        if word in ("--box", "--size", "--max-frames") and value[:1] == "-" and value[1:2] in tuple("0123456789."):
            out.append(f"{word}={argv[i + 1]}")
            i += 2
        else:
            out.append(word)
            i += 1
    return out


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
    p.add_argument("--threads", type=int, help="CPU threads (default: the usable cores; 1 on a busy machine)")
    p.add_argument("--out", help="result folder (default: runs/track/<input name>)")
    p.add_argument("--formats", help=f"comma-separated subset of {','.join(FORMATS)} (default: per task)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing result folder")
    p.add_argument("--max-frames", type=_positive_int, help="stop after this many frames (>= 1)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any tracker threshold, e.g. --set conf_thresh=0.3 --set track_buffer=60 (repeatable)")


def _settings(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def _class_ids(text: str | None, names: tuple[str, ...]) -> tuple[int, ...] | None:
    if not text:
        return None
    out = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        if item.isdigit() and int(item) < len(names):
            out.append(int(item))
        elif item.isdigit():
            raise UserError(f"class id {item} does not exist: this detector has {len(names)} classes (0 to "
                            f"{len(names) - 1}); give an id in that range or a class name")
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


def _check_input(text: str) -> None:
    """A local file or folder must exist (URLs and webcam indices are checked when opened)."""
    if text.isdigit() or "://" in text:
        return
    path = Path(text).expanduser()
    if not path.exists():
        raise UserError(f"Video not found: {path}. Check the path; a source can also be a folder of frames, "
                        f"a webcam index (0) or an rtsp:// URL.")


def _formats(args: argparse.Namespace) -> tuple[str, ...]:
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
    return formats


def _prompts(args: argparse.Namespace, formats: tuple[str, ...]) -> dict[str, Any]:
    """SOT/VOS prompts, read and checked without torch (their fit to the first frame comes later)."""
    if args.task == "sot":
        return {"boxes": args.box}
    if args.task != "vos":
        return {}
    if not args.mask:
        return {"boxes": args.box}
    mask = _read_mask(args.mask)
    from .inputs import mask_ids

    ids = mask_ids(mask)
    if "davis" in formats and max(ids) > DAVIS_MAX_ID:
        raise UserError(f"{args.mask} has object ids up to {max(ids)}, but DAVIS PNGs hold ids 1..{DAVIS_MAX_ID}; "
                        "renumber the objects, or leave davis out of --formats")
    return {"masks": mask}


def _check_files(args: argparse.Namespace) -> None:
    """Weights and detections named as files must exist (variant names are checked when loaded)."""
    weights = Path(str(args.weights)).expanduser()
    if weights.suffix in (".pth", ".pt", ".ckpt", ".tar", ".safetensors") and not weights.is_file():
        raise UserError(f"weights file {weights} does not exist; give a checkpoint path or a variant name "
                        "(`unicorn weights list`)")
    if args.detections and not Path(args.detections).is_file():
        raise UserError(f"detections file {args.detections} does not exist")


def run_track(args: argparse.Namespace) -> int:
    formats = _formats(args)
    _check_input(str(args.input))
    _check_files(args)
    name = Path(str(args.input).rstrip("/")).stem or "stream"
    out = Path(args.out or Path("runs") / "track" / name)
    check_result_folder(out, args.overwrite)
    extra = _settings(args.set)
    prompts = _prompts(args, formats)
    from .api import check_settings
    from .trackers.mot import DETECTORS

    kind = args.detector or extra.pop("detector", None) or "auto"
    if kind not in DETECTORS:
        raise UserError(f"unknown detector {kind!r}; choose one of {', '.join(DETECTORS)}")
    if kind != "auto" and args.task not in ("mot", "mots"):
        raise UserError(f"the detector setting is for --task mot (and mots), not {args.task}")
    if args.detections and kind not in ("auto", "model"):
        raise UserError(f"--detections and detector {kind!r} both give detections; choose one")
    if args.association and args.task in ("mot", "mots"):
        extra["association"] = args.association
    check_settings(args.task, args.detections or kind, args.size, **extra)
    return _track(args, formats, out, name, extra, prompts, kind)


def _finish(summary: RunSummary, status: str, reason: str, frames: int) -> None:
    """Record a run that did not complete; a summary that cannot be written keeps saying ``running``."""
    with contextlib.suppress(OSError):
        summary.finish(status, reason, frames=frames)


def _build_tracker(args: argparse.Namespace, extra: dict[str, Any], kind: str):
    """Load the model and make the tracker (class names resolved for ``--classes``); returns (tracker, names)."""
    from . import Tracker, load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load(args.weights, args.device, threads=args.threads)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    names, detector = model.config.class_names, args.detections
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
    return Tracker(model, args.task, input_size=args.size, detector=detector, **extra), names


def _track(args: argparse.Namespace, formats: tuple[str, ...], out: Path, name: str, extra: dict[str, Any],
           prompts: dict[str, Any], kind: str) -> int:
    from tqdm import tqdm

    from .data.video_io import open_video
    from .inputs import check_boxes_xywh, check_masks
    from .run import open_writers, run_tracker

    source = open_video(args.input)
    try:
        if "boxes" in prompts:
            check_boxes_xywh(prompts["boxes"], source.size)
        if "masks" in prompts:
            check_masks(prompts["masks"], source.size)
        tracker, names = _build_tracker(args, extra, kind)
        create_result_folder(out, args.overwrite)
        summary = RunSummary(out, {"input": str(args.input), "task": args.task, "weights": str(args.weights),
                                   "device": str(tracker.device)})
        total = min(x for x in (args.max_frames, source.frame_count) if x) \
            if (args.max_frames or source.frame_count) else None
        done = [0]
        bar = tqdm(total=total, unit="frame", desc=f"{args.task} {name}")

        def on_frame(n: int) -> None:
            done[0] = n
            bar.update(1)

        try:
            with sigterm_as_interrupt():
                writers = open_writers(out, formats, source.fps or 25.0, names)
                stats = run_tracker(tracker, source, prompts, writers, args.max_frames, on_frame=on_frame)
        except KeyboardInterrupt as exc:
            by = exc.args[0] if exc.args else "Ctrl+C (SIGINT)"
            _finish(summary, "interrupted", f"stopped by {by}", frames=done[0])
            raise
        except OSError as exc:
            _finish(summary, "failed", describe_os_error(exc), frames=done[0])
            what = "the disk is full" if exc.errno in DISK_FULL else describe_os_error(exc)
            raise UserError(f"{what}: stopped after {done[0]} complete frame(s), kept in {out}; free space (or fix "
                            "the cause) and rerun with --overwrite") from None
        except UserError as exc:
            _finish(summary, "failed", str(exc), frames=done[0])
            raise
        except BaseException as exc:
            _finish(summary, "failed", f"{type(exc).__name__}: {exc}", frames=done[0])
            raise
        finally:
            bar.close()
    finally:
        source.close()
    try:
        summary.finish("complete", **{k: stats[k] for k in ("frames", "tracks", "seconds", "fps", "truncated")})
    except OSError as exc:
        raise UserError(f"all {stats['frames']} frames are in {out}, but summary.json could not be updated "
                        f"({describe_os_error(exc)}); it still says running") from None
    print(f"{stats['frames']} frames, {stats['tracks']} track(s), {stats['fps']} frames/s -> {out}")
    return 0
