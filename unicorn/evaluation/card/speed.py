"""Speed and memory of the three tasks, each measured in a fresh Python process (so its peak memory is its own).

The child is this module: ``python -m unicorn.evaluation.card.speed JOB_JSON`` prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np

from unicorn.data.datasets.davis import DAVIS, read_label_png
from unicorn.errors import UserError
from unicorn.evaluation.card.data import check_data, load_davis, load_mot17, mask_box_xywh, read_frame
from unicorn.evaluation.card.detections import describe_detector
from unicorn.probe import Stopwatch, peak_rss_mb

SPEED_STEPS, SPEED_WARMUP = 20, 3
QUICK_SPEED_STEPS, QUICK_SPEED_WARMUP = 3, 1
SPEED_CLIP = "blackswan"
MOT_SPEED_SEQUENCE = "MOT17-04-FRCNN"
PACKAGE_ROOT = Path(__file__).resolve().parents[3]  # the folder that holds this unicorn package


def model_label(model: str) -> str:
    """A model's short name: the file stem of a weights path, else the name itself."""
    path = Path(str(model))
    return path.stem if path.suffix else str(model)


def speed_jobs(model: str, device: str, threads: int, data: Path, quick: bool,
               classes: list[int] | tuple[int, ...] | None) -> dict[str, dict]:
    """The child-process jobs of the three speed measurements (SOT, VOS on DAVIS blackswan; MOT on MOT17-04).

    Args:
        model: anything ``unicorn.load`` accepts.
        device: "cpu" or "cuda".
        threads: torch / OpenCV threads of the child.
        data: the data root.
        quick: ``QUICK_SPEED_STEPS`` timed steps instead of ``SPEED_STEPS``.
        classes: the MOT tracker's classes (None: all).
    """
    data = check_data(data).resolve()
    davis = load_davis(data, (SPEED_CLIP,))[0]
    mot_root = data / "mot17_mini"
    names = [c.name for c in load_mot17(data)] if mot_root.is_dir() else []
    if not names:
        raise UserError(f"no MOT17-mini sequence found under '{mot_root}' for the MOT speed measurement")
    if MOT_SPEED_SEQUENCE in names:
        mot = load_mot17(data, (MOT_SPEED_SEQUENCE,))[0]
    else:
        mot = max(load_mot17(data), key=lambda c: len(c.frames))
    steps, warmup = (QUICK_SPEED_STEPS, QUICK_SPEED_WARMUP) if quick else (SPEED_STEPS, SPEED_WARMUP)
    mask_path = str(DAVIS(data / "davis2016_val", 2016).load(SPEED_CLIP).mask_paths[0])
    model = str(Path(model).resolve()) if Path(str(model)).exists() else str(model)
    base = {"model": model, "device": device, "threads": threads, "steps": steps, "warmup": warmup}
    frames = [str(p) for p in davis.frames]
    return {
        "sot": {**base, "task": "sot", "frames": frames, "boxes": [mask_box_xywh(davis.masks[0]).tolist()],
                "source": f"DAVIS {SPEED_CLIP}, 1 target"},
        "vos": {**base, "task": "vos", "frames": frames, "mask": mask_path, "source": f"DAVIS {SPEED_CLIP}, 1 object"},
        "mot": {**base, "task": "mot", "frames": [str(p) for p in mot.frames], "classes": classes,
                "source": f"{mot.name} ({len(mot.frames)} frames looped, {mot.size[1]}x{mot.size[0]})"},
    }


def speed_child(job: dict) -> dict:
    """Run inside the child: time ``steps`` tracker steps after ``warmup`` ones; peak memory at the end.
    ``job["backend"]`` is :func:`unicorn.load`'s (default ``"auto"``, what a user gets)."""
    import torch

    import unicorn

    torch.set_num_threads(int(job["threads"]))
    cv2.setNumThreads(int(job["threads"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = unicorn.load(job["model"], job["device"], backend=job.get("backend", "auto"))
    after_load = peak_rss_mb()
    task, paths = job["task"], job["frames"]
    settings = {"classes": tuple(job["classes"])} if task == "mot" and job.get("classes") else {}
    tracker = unicorn.Tracker(model, task, **settings)
    if task == "sot":
        prompts = {"boxes": job["boxes"]}
    elif task == "vos":
        prompts = {"masks": (read_label_png(job["mask"]) > 0).astype(np.uint8)}
    else:
        prompts = {}
    watch = Stopwatch()
    with torch.inference_mode():
        tracker.init(read_frame(Path(paths[0])), **prompts)
        for k in range(job["warmup"] + job["steps"]):
            # SOT/VOS walk forward through the clip; MOT loops its short sequence (frame 0 included)
            index = (1 + k) % len(paths) if task == "mot" else 1 + k % (len(paths) - 1)
            frame = read_frame(Path(paths[index]))  # decoding is not timed
            if k < job["warmup"]:
                tracker.step(frame)
                continue
            with watch:
                tracker.step(frame)
    median = watch.median
    return {"fps": 1.0 / median, "ms_per_frame": 1000.0 * median, "peak_mb": peak_rss_mb(),
            "after_load_mb": after_load, "steps": len(watch.seconds), "warmup": job["warmup"],
            "input_size": list(tracker.input_size), "threads": torch.get_num_threads(), "source": job["source"],
            "detector": describe_detector(tracker, model_label(job["model"])) if task == "mot" else None}


def measure_speed(job: dict) -> dict:
    """Run one speed job in a fresh Python process that imports this same ``unicorn`` package."""
    env = dict(os.environ, OMP_NUM_THREADS=str(job["threads"]), MKL_NUM_THREADS=str(job["threads"]),
               PYTHONPATH=os.pathsep.join([str(PACKAGE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    command = [sys.executable, "-m", "unicorn.evaluation.card.speed", json.dumps(job)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=PACKAGE_ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"the {job['task']} speed measurement failed: {tail}")
    return json.loads(lines[-1])


if __name__ == "__main__":
    print(json.dumps(speed_child(json.loads(sys.argv[1]))))
