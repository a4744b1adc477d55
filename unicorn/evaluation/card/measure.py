"""The whole model card: every section measured on the same data, then written as JSON, markdown and plots."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from unicorn.evaluation import baselines
from unicorn.evaluation.card import peers, runs
from unicorn.evaluation.card.data import (
    DAVIS_SEQUENCES,
    DAVIS_SOT_RULE,
    MOT17_SOT_RULE,
    DavisClip,
    MotClip,
    check_data,
    davis_sot_sequences,
    load_davis,
    load_mot17,
    mot17_sot_sequences,
)
from unicorn.evaluation.card.detections import RecordedDetections, default_mot_detector, person_classes
from unicorn.evaluation.card.figures import write_grids, write_plots
from unicorn.evaluation.card.render import render_markdown
from unicorn.evaluation.card.scores import score_mot, score_sot, score_vos
from unicorn.evaluation.card.speed import PACKAGE_ROOT, measure_speed, model_label, speed_jobs
from unicorn.evaluation.report import json_ready

if TYPE_CHECKING:
    from unicorn.models.unicorn import Unicorn

QUICK_FRAMES = 4
QUICK_MOT_SEQUENCES = ("MOT17-05-FRCNN",)
SOT_NOTE = ("pytracking convention (percent): AUC over 21 IoU thresholds, Precision at 20 px, "
            "frame 0 counts and is set to the ground truth; dataset AUC = mean of per-target AUC")
VOS_NOTE = ("DAVIS-2016 protocol of the project's vos metrics (percent): J = region IoU, F = boundary F-measure, "
            "first and last frames not scored, means over sequences")
MOT_NOTE = ("TrackEval metrics with MOT17 preprocessing (percent), all sequences combined; "
            "only the model's person class is tracked")
# Method keys -> display names (the model's own name is used for key "model").
METHODS = {"csrt": "OpenCV CSRT", "kcf": "OpenCV KCF", "held_box": "first-frame box held",
           "held_mask": "first-frame mask held", "flow": "optical flow (Farneback)",
           "imagenet": "training-free (ImageNet features)"}
# The training-free baseline: label propagation on the frozen backbone's own features (no training).
TRAINING_FREE = {"method": "propagation", "features": "imagenet"}


def cpu_model() -> str:
    """The CPU's name and its number of logical CPUs."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    names = [ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")]
    return f"{names[0]} ({len(names)} logical CPUs)" if names else platform.processor() or platform.machine()


def versions() -> dict[str, str | None]:
    """Python, torch, numpy and OpenCV versions, and the git commit of the package (None outside a checkout)."""
    import torch

    out = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
           "opencv": cv2.__version__}
    try:
        out["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PACKAGE_ROOT,
                                           capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def speed_section(results: dict, model: str, device: str, threads: int, data: Path, quick: bool,
                  classes: Sequence[int] | None) -> None:
    """``results["speed"]``: one child process per task; a note when the machine is busy."""
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cpus:
        results["notes"]["busy"] = (f"the machine was busy when the speed was measured (load average {load:.1f} on "
                                    f"{cpus} CPUs): frames/s are lower than on an idle machine")
        runs.log(f"warning: {results['notes']['busy']}")
    for task, job in speed_jobs(model, device, threads, data, quick, classes).items():
        runs.log(f"speed: {task} ({job['source']}) in a child process ...")
        results["speed"][task] = measure_speed(job)
    if results["speed"].get("mot", {}).get("detector"):
        runs.log(f"MOT speed includes detection with: {results['speed']['mot']['detector']}")


def sot_sections(results: dict, net: Unicorn, label: str, davis: list[DavisClip], mot: list[MotClip],
                 threads: int, with_baselines: bool, opencv: bool, snaps: dict) -> None:
    """``results["sot_davis"]`` and ``results["sot_mot17"]``: the model, training-free and the baselines."""
    sets = {"sot_davis": (davis_sot_sequences(davis), DAVIS_SOT_RULE, "DAVIS-2016"),
            "sot_mot17": (mot17_sot_sequences(mot), MOT17_SOT_RULE, "MOT17-mini")}
    for key, (seqs, rule, title) in sets.items():
        section = results[key]
        section.update({"protocol": rule, "convention": SOT_NOTE, "sequences": [s.name for s in seqs],
                        "targets": int(sum(len(s.init) for s in seqs)), "methods": {}})
        if not seqs:
            section["note"] = "no target satisfies the rule"
            continue
        shots = snaps.get("sot") if key == "sot_davis" else None
        methods = {label: lambda d, s=seqs, shots=shots: runs.sot_model(net, s, snapshots=shots, desc=d)}
        if net.has_memory_embedding:
            methods[METHODS["imagenet"]] = lambda d, s=seqs: runs.sot_model(net, s, desc=d, **TRAINING_FREE)
        if with_baselines:
            for kind in ("csrt", "kcf") if opencv else ():
                methods[METHODS[kind]] = lambda d, s=seqs, k=kind: runs.sot_opencv(k, s, threads, d)
            methods[METHODS["held_box"]] = lambda d, s=seqs: runs.sot_held(s)
        for name, run in methods.items():
            section["methods"][name] = score_sot(run(f"SOT {title} {name}"), seqs)
            runs.log(f"SOT {title:10s} {name:26s} AUC {section['methods'][name]['AUC']:5.1f}")


def vos_section(results: dict, net: Unicorn, label: str, davis: list[DavisClip], with_baselines: bool,
                snaps: dict) -> None:
    """``results["vos_davis"]``: the model, training-free, the held mask and optical flow."""
    section = results["vos_davis"]
    section.update({"convention": VOS_NOTE, "sequences": [c.name for c in davis], "methods": {}})
    methods = {label: lambda: runs.vos_model(net, davis, snapshots=snaps.get("vos"), desc=f"VOS DAVIS {label}")}
    if net.has_memory_embedding:
        methods[METHODS["imagenet"]] = lambda: runs.vos_model(net, davis, desc=f"VOS DAVIS {METHODS['imagenet']}",
                                                              **TRAINING_FREE)
    if with_baselines:
        methods[METHODS["held_mask"]] = lambda: runs.vos_held(davis)
        methods[METHODS["flow"]] = lambda: runs.vos_flow(davis, desc=f"VOS DAVIS {METHODS['flow']}")
    for name, run in methods.items():
        section["methods"][name] = score_vos(run(), davis)
        runs.log(f"VOS DAVIS-2016 {name:26s} J&F {section['methods'][name]['J&F']:5.1f}")


def mot_section(results: dict, net: Unicorn, label: str, mot: list[MotClip], classes: Sequence[int] | None,
                with_baselines: bool, snaps: dict) -> None:
    """``results["mot17"]``: the model's person tracks, then the BoT-SORT peer on the detections it received."""
    dets = RecordedDetections()
    tracks, detector = runs.mot_model(net, mot, classes=classes, model_label=label, snapshots=snaps.get("mot"),
                                      desc=f"MOT MOT17-mini {label}", detections=dets if with_baselines else None)
    builtin = default_mot_detector(net) not in ("model", "own")
    names = None if not classes else ["person"] if builtin else [net.config.class_names[c] for c in classes]
    results["mot17"].update({"convention": MOT_NOTE, "detector": detector,
                             "classes": list(classes) if classes else None, "class_names": names,
                             "methods": {label: score_mot(tracks, mot)}})
    runs.log(f"MOT MOT17-mini {label} with {detector}: HOTA {results['mot17']['methods'][label]['HOTA']:.1f}")
    if with_baselines:
        peers.mot_peer_section(results, mot, dets)


def write_outputs(results: dict, out: Path, snaps: dict, davis: Sequence[DavisClip],
                  class_names: Sequence[str]) -> list[str]:
    """Write the plots (and grids when ``snaps`` has any), then ``results.md`` and ``results.json``.

    Returns:
        The written paths, also stored in ``results["files"]``.
    """
    out.mkdir(parents=True, exist_ok=True)
    files = write_plots(results, out) + (write_grids(snaps, out, davis, class_names) if snaps else [])
    results["files"] = [str(p) for p in files] + [str(out / "results.md"), str(out / "results.json")]
    (out / "results.md").write_text(render_markdown(results))
    (out / "results.json").write_text(json.dumps(json_ready(results), indent=1) + "\n")
    return results["files"]


def run_card(model: str, data: str | Path, out: str | Path, threads: int = 2, device: str = "cpu",
             skip_baselines: bool = False, skip_speed: bool = False, quick: bool = False,
             frame_grids: bool = False) -> dict:
    """Measure everything, write ``results.json``, ``results.md`` and the plots into ``out``; returns the results.

    Args:
        model: anything ``unicorn.load`` accepts.
        data: the shared data folder (``davis2016_val``, ``mot17_mini``).
        out: output folder (created; only the card's files are replaced).
        threads: torch / OpenCV threads, here and in the speed children.
        device: "cpu" (the card's setting) or "cuda".
        skip_baselines: only the model (and its training-free variant).
        skip_speed: no speed / memory children.
        quick: the first ``QUICK_FRAMES`` frames of DAVIS blackswan and MOT17-05 only, 3 timed steps (tests).
        frame_grids: also write annotated frame grids (DAVIS / MOT17 images: keep them out of the repository).
    """
    import torch

    import unicorn

    started = time.perf_counter()
    data, out = check_data(Path(data)), Path(out)
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    label = model_label(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = unicorn.load(model, device)
    load_warnings = sorted({str(w.message) for w in caught if issubclass(w.category, UserWarning)})
    for text in load_warnings:
        runs.log(f"warning: {text}")
    max_frames = QUICK_FRAMES if quick else None
    davis = load_davis(data, DAVIS_SEQUENCES[:1] if quick else DAVIS_SEQUENCES, max_frames)
    mot = load_mot17(data, QUICK_MOT_SEQUENCES if quick else None, max_frames)
    classes = person_classes(net)
    results: dict = {
        "setup": {"model": str(model), "label": label, "input_size": list(unicorn.Tracker(net, "sot").input_size),
                  "threads": threads, "device": device, "cpu": cpu_model(), **versions(), "quick": quick,
                  "data": str(data), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  "load_average_1m": round(os.getloadavg()[0], 2), "load_warnings": load_warnings},
        "notes": {}, "speed": {}, "sot_davis": {}, "sot_mot17": {}, "vos_davis": {}, "mot17": {},
    }
    snaps: dict = {"sot": {}, "vos": {}, "mot": {}} if frame_grids else {}
    if not skip_speed:
        speed_section(results, str(model), device, threads, data, quick, classes)
    missing = None if skip_baselines else baselines.opencv_trackers_missing()
    if missing:
        results["notes"]["opencv"] = f"OpenCV CSRT/KCF not run: {missing}"
        runs.log(results["notes"]["opencv"])
    elif not skip_baselines:
        results["setup"]["opencv_contrib"] = cv2.__version__
    with_baselines = not skip_baselines
    sot_sections(results, net, label, davis, mot, threads, with_baselines, missing is None, snaps)
    vos_section(results, net, label, davis, with_baselines, snaps)
    mot_section(results, net, label, mot, classes, with_baselines, snaps)
    results["setup"]["wall_time_s"] = round(time.perf_counter() - started, 1)
    write_outputs(results, out, snaps, davis, net.config.class_names)
    return results
