"""``unicorn track``: the arguments and files are checked before torch loads; the rest is
:func:`unicorn.track_folder.track_to_folder` (settings and the first frame -> the model -> the result folder,
``summary.json`` ``running`` -> tracking -> ``complete``, ``interrupted`` or ``failed``).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .errors import UserError
from .outputs import FORMATS
from .run_folder import check_result_folder


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


def _correction(text: str) -> tuple[int, int | None, tuple[float, float, float, float]]:
    """``K:x,y,w,h`` or ``K:ID:x,y,w,h`` -> (frame K, target id or None, box)."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(p.strip().isdigit() for p in parts[:-1]):
        raise argparse.ArgumentTypeError(f"a correction is FRAME:x,y,w,h or FRAME:ID:x,y,w,h (frame 0-based, "
                                         f"e.g. 20:42,86,36,68 or 20:2:42,86,36,68); got {text!r}")
    frame, target = int(parts[0]), (int(parts[1]) if len(parts) == 3 else None)
    if frame < 1 or target == 0:
        raise argparse.ArgumentTypeError(f"correction {text!r}: the frame must be >= 1 (frame 0 takes --box) and "
                                         "a target id >= 1")
    return frame, target, _box(parts[-1])


def _corrections(items: list | None) -> dict[int, object] | None:
    """Per frame: boxes for the targets in order (no ids), or {id: box}."""
    if not items:
        return None
    out: dict[int, object] = {}
    for frame, target, box in items:
        entry = out.setdefault(frame, {} if target is not None else [])
        if isinstance(entry, dict) != (target is not None):
            raise UserError(f"--correct at frame {frame} mixes boxes with and without target ids; give FRAME:ID:"
                            "x,y,w,h for each, or one FRAME:x,y,w,h per target in order")
        if target is None:
            entry.append(box)
        elif target in entry:
            raise UserError(f"--correct gives target {target} two boxes at frame {frame}")
        else:
            entry[target] = box
    return out


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
        joined = ("--box", "--size", "--max-frames", "--correct")
        if word in joined and value[:1] == "-" and value[1:2] in tuple("0123456789."):
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
    p.add_argument("--correct", type=_correction, action="append", metavar="K:[ID:]x,y,w,h",
                   help="SOT/VOS: the target's true box at frame K (0-based): tracked from there with that frame "
                        "as an extra reference, frames before K unchanged. Repeatable: several targets at one frame "
                        "take K:ID:x,y,w,h (ids 1, 2, ... in --box order), or one K:x,y,w,h per target in order")
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
    p.add_argument("--backend", choices=("auto", "torch", "onnxruntime"), default="auto",
                   help="auto (default): PyTorch, with unicorn-lite's per-frame network on ONNX Runtime when it is "
                        "installed; torch: PyTorch only; onnxruntime: every step on exported ONNX graphs "
                        "(the onnx extra; --weights may then name a `unicorn export` folder)")
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
    from .track_folder import check_formats

    formats = tuple(f.strip() for f in args.formats.split(",")) if args.formats else None
    if args.task == "sot" and not args.box:
        raise UserError("SOT needs at least one --box x,y,w,h on the first frame")
    if args.task == "vos" and not (args.mask or args.box):
        raise UserError("VOS needs --mask first_frame_mask.png, or --box x,y,w,h per object (the mask head "
                        "turns each box into a mask)")
    return check_formats(args.task, formats)


def _check_files(args: argparse.Namespace) -> None:
    """Weights and detections named as files must exist (variant names are checked when loaded)."""
    weights = Path(str(args.weights)).expanduser()
    if weights.suffix in (".pth", ".pt", ".ckpt", ".tar", ".safetensors") and not weights.is_file():
        raise UserError(f"weights file {weights} does not exist; give a checkpoint path or a variant name "
                        "(`unicorn weights list`)")
    if args.detections and not Path(args.detections).is_file():
        raise UserError(f"detections file {args.detections} does not exist")


def run_track(args: argparse.Namespace) -> int:
    """``unicorn track``: checks that need no torch first, then :func:`unicorn.track_folder.track_to_folder`."""
    formats = _formats(args)
    _check_input(str(args.input))
    _check_files(args)
    name = Path(str(args.input).rstrip("/")).stem or "stream"
    out = Path(args.out or Path("runs") / "track" / name)
    check_result_folder(out, args.overwrite)
    settings = _settings(args.set)
    from .trackers.configs import DETECTORS

    kind = args.detector or settings.pop("detector", None) or "auto"
    if kind not in DETECTORS:
        raise UserError(f"unknown detector {kind!r}; choose one of {', '.join(DETECTORS)}")
    if kind != "auto" and args.task not in ("mot", "mots"):
        raise UserError(f"the detector setting is for --task mot (and mots), not {args.task}")
    if args.detections and kind not in ("auto", "model"):
        raise UserError(f"--detections and detector {kind!r} both give detections; choose one")
    if args.association and args.task in ("mot", "mots"):
        settings["association"] = args.association
    masks = _read_mask(args.mask) if args.task == "vos" and args.mask else None
    boxes = args.box if args.task in ("sot", "vos") and masks is None else None
    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    corrections = _corrections(args.correct)
    from tqdm import tqdm

    from .track_folder import track_to_folder

    bars: list = []  # made at the first frame, so that a refusal before any work prints no bar

    def progress(done: int, total: int | None) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit="frame", desc=f"{args.task} {name}"))
        bars[0].update(done - bars[0].n)

    mot = args.task in ("mot", "mots")
    try:
        run = track_to_folder(args.input, out, args.task, model=args.weights, boxes=boxes, masks=masks,
                              classes=classes if mot else None, settings=settings,
                              detector=(args.detections or kind) if mot else None, input_size=args.size,
                              formats=formats, overwrite=args.overwrite, max_frames=args.max_frames,
                              device=args.device, threads=args.threads, backend=args.backend, progress=progress,
                              corrections=corrections)
    finally:
        for bar in bars:
            bar.close()
    s = run.summary
    print(f"{s['frames']} frames, {s['tracks']} track(s), {s['fps']} frames/s -> {out}")
    for target, spans in s.get("lost_spans", {}).items():
        if spans:
            text = ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in spans)
            print(f"target {target} lost in frames {text} ({s['state_frames'][target]['lost']} of {s['frames']})")
    return 0
