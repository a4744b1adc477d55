"""Public Python API: ``unicorn.load`` and ``unicorn.Tracker``."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import torch

from .backends.onnxruntime import BACKENDS, load_onnxruntime
from .backends.threads import apply_threads
from .checks import check_ids
from .errors import UserError
from .hub import DEFAULT_MODEL, resolve
from .models.unicorn import Unicorn
from .trackers.association.bytetrack import ByteTrackConfig
from .trackers.association.embedding import EmbeddingMatcherConfig
from .trackers.base import BaseTracker
from .trackers.mot import DETECTORS, MOTConfig, MOTTracker
from .trackers.propagation import PropagationTracker
from .trackers.search import SearchSOTTracker
from .trackers.sot import SOTConfig, SOTTracker, default_config
from .trackers.vos import VOSConfig, VOSTracker

TASKS = ("sot", "vos", "mot", "mots")


def load(name_or_path: str | Path = DEFAULT_MODEL, device: str | torch.device | None = None,
         fast: bool = False, threads: int | None = None, backend: str = "torch") -> Unicorn:
    """Load a model by variant name or checkpoint path.

    Args:
        name_or_path: ``"unicorn-lite"`` (bundled, offline), an upstream variant name whose weights
            were downloaded with ``unicorn weights download``, our ``.safetensors`` file, or an
            upstream ``.pth`` checkpoint.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default: CUDA when available, else CPU.
        fast: also run the last ConvNeXt stage's MLPs as 1x1 convolutions (the first three stages
            always do). Same maths, different rounding: decoded boxes move by up to ~6e-3 px against
            upstream, where the default path stays within the golden tolerances (3.9e-3 of 5e-3 px).
        threads: CPU threads for torch (process-wide); default: the cores this process may really use
            (affinity mask and cgroup quota, see :mod:`unicorn.backends.threads`), unless
            ``OMP_NUM_THREADS`` is set. On a machine busy with other work, 1 is often fastest.
        backend: ``"torch"``, or ``"onnxruntime"`` to run the same trackers on exported ONNX graphs
            (CPU; ``name_or_path`` may be a folder made by ``unicorn export``, otherwise the model is
            exported on the fly at its input size; see :mod:`unicorn.backends.onnxruntime`).

    Returns:
        The model in eval mode on ``device`` (channels-last memory format, which CPUs run fastest;
        on CPU, denormal floats are flushed to zero for the whole process, avoiding 10x slow-downs).
    """
    if backend != "torch":
        if backend not in BACKENDS:
            raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        return load_onnxruntime(name_or_path, device, threads)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' was asked for but no CUDA GPU is available; use --device cpu")
    apply_threads(threads)
    model = resolve(name_or_path)
    model.use_fast_pointwise(fast)
    if device.type == "cpu":
        torch.set_flush_denormal(True)
    return model.to(device=device, memory_format=torch.channels_last).eval()


def _split(thresholds: dict[str, Any], cls) -> tuple[dict[str, Any], dict[str, Any]]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in thresholds.items() if k in names}, {k: v for k, v in thresholds.items() if k not in names}


def Tracker(model: Unicorn, task: str = "sot", *, input_size: tuple[int, int] | None = None,
            detector=None, **thresholds: Any) -> BaseTracker:  # noqa: N802 - a factory that reads as a class
    """Create a tracker for one task over ``model``.

    Args:
        model: from :func:`load`.
        task: ``"sot"``, ``"vos"``, ``"mot"`` or ``"mots"``.
        input_size: network input (H, W), multiples of 32; default: the model's.
        detector: MOT only: your own detections (callable or MOTChallenge det.txt path), or the name
            of a built-in detector (``"auto"``, ``"model"``, ``"nanodet-g"``; same as the
            ``MOTConfig.detector`` setting).
        **thresholds: any field of :class:`SOTConfig`, :class:`VOSConfig`, :class:`MOTConfig`,
            :class:`ByteTrackConfig` or :class:`EmbeddingMatcherConfig` (e.g. ``nms_thresh=0.6``,
            ``association="embedding"``, ``track_thresh=0.5``, ``classes=(0,)``).

    Returns:
        A streaming tracker with ``init``, ``step``, ``track`` and ``reset``.
    """
    check_settings(task, detector, input_size, **thresholds)  # refuses any bad setting before work starts
    task = str(task).lower()
    if task not in TASKS:
        raise UserError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if task in ("sot", "vos"):
        cls = SOTConfig if task == "sot" else VOSConfig
        known, unknown = _split(thresholds, cls)
        if unknown:
            raise UserError(f"unknown {task} setting(s) {sorted(unknown)}; valid: {[f.name for f in fields(cls)]}")
        config = default_config(model, cls, **known)
        if config.method == "propagation" and task == "sot" and config.search_context > 0:
            return SearchSOTTracker(model, config, input_size)
        if config.method == "propagation":
            return PropagationTracker(model, task, config, input_size)
        tracker_cls = SOTTracker if task == "sot" else VOSTracker
        return tracker_cls(model, config, input_size)
    if isinstance(detector, str) and detector in DETECTORS and not Path(detector).is_file():
        thresholds["detector"], detector = detector, None
    mot, rest = _split(thresholds, MOTConfig)
    byte, rest = _split(rest, ByteTrackConfig)
    emb, rest = _split(rest, EmbeddingMatcherConfig)
    if rest:
        valid = [f.name for c in (MOTConfig, ByteTrackConfig, EmbeddingMatcherConfig) for f in fields(c)]
        raise UserError(f"unknown {task} setting(s) {sorted(rest)}; valid: {valid}")
    if "classes" in mot and mot["classes"] is not None:
        mot["classes"] = tuple(int(c) for c in mot["classes"])
    defaults = MOTConfig()
    if task == "mots" and "association" not in mot and not model.has_memory_embedding:
        mot["association"] = "embedding"  # upstream MOTS uses the embedding matcher (unicorn-lite: ByteTrack)
    cfg = replace(defaults, **mot, bytetrack=replace(defaults.bytetrack, **byte),
                  embedding=replace(defaults.embedding, **emb))
    return MOTTracker(model, cfg, input_size, segment=(task == "mots"), detector=detector)


def check_settings(task: str, detector=None, input_size: tuple[int, int] | None = None,
                   **thresholds: Any) -> tuple[str, SOTConfig | MOTConfig, Any]:
    """Check a tracker's settings without a model (the command line does this before loading one).

    Args:
        task, detector, input_size, thresholds: as for :func:`Tracker`.

    Returns:
        (task in lower case, the checked config (SOT/VOS: without the model variant's own defaults),
        the detector object or file when one was given instead of a built-in name).

    Raises:
        UserError: an unknown task or setting, or a value of the wrong type or range.
    """
    task = str(task).lower()
    if task not in TASKS:
        raise UserError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if input_size is not None:
        input_size = tuple(check_ids("input_size", input_size))
        if len(input_size) != 2 or 0 in input_size or input_size[0] % 32 or input_size[1] % 32:
            raise UserError(f"input_size={input_size} is not allowed: give (height, width), positive multiples of "
                            "32 (e.g. 320x512)")
    if task in ("sot", "vos"):
        cls = SOTConfig if task == "sot" else VOSConfig
        known, unknown = _split(thresholds, cls)
        if unknown:
            raise UserError(f"unknown {task} setting(s) {sorted(unknown)}; valid: {[f.name for f in fields(cls)]}")
        return task, cls(**known), detector
    thresholds = dict(thresholds)
    if isinstance(detector, str) and detector in DETECTORS and not Path(detector).is_file():
        thresholds["detector"], detector = detector, None
    mot, rest = _split(thresholds, MOTConfig)
    byte, rest = _split(rest, ByteTrackConfig)
    emb, rest = _split(rest, EmbeddingMatcherConfig)
    if rest:
        valid = [f.name for c in (MOTConfig, ByteTrackConfig, EmbeddingMatcherConfig) for f in fields(c)]
        raise UserError(f"unknown {task} setting(s) {sorted(rest)}; valid: {valid}")
    defaults = MOTConfig()
    if task == "mots" and "association" not in mot:
        mot["association"] = "embedding"  # upstream MOTS uses the embedding matcher
    cfg = replace(defaults, **mot, bytetrack=replace(defaults.bytetrack, **byte),
                  embedding=replace(defaults.embedding, **emb))
    return task, cfg, detector
