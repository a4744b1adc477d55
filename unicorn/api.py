"""Public Python API: ``unicorn.load``, ``unicorn.Tracker`` and ``unicorn.tracker_config``."""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any

import torch

from . import DEFAULT_MODEL
from .backends.onnxruntime import BACKENDS, MemoryRuntime, load_onnxruntime, memory_runtime_available
from .backends.threads import apply_threads
from .checks import check_ids
from .errors import UserError
from .hub import resolve
from .models.unicorn import Unicorn
from .trackers.base import BaseTracker
from .trackers.configs import DETECTORS, MOTConfig, SOTConfig
from .trackers.mot import MOTTracker
from .trackers.propagation import PropagationTracker
from .trackers.search import SearchSOTTracker
from .trackers.settings import check_task, tracker_config
from .trackers.sot import SOTTracker
from .trackers.vos import VOSTracker
from .variants import TASKS

__all__ = ["TASKS", "Tracker", "check_settings", "load", "tracker_config"]


def load(name_or_path: str | Path = DEFAULT_MODEL, device: str | torch.device | None = None,
         fast: bool = False, threads: int | None = None, backend: str = "auto") -> Unicorn:
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
        backend: ``"auto"`` (default): the torch model, whose per-frame memory network (unicorn-lite's SOT,
            VOS and MOTS) runs through ONNX Runtime on a CPU when that is installed (the ``onnx`` extra;
            2-2.6x faster here, same outputs to float rounding; :class:`~unicorn.backends.onnxruntime.
            MemoryRuntime`); ``"torch"``: torch only; ``"onnxruntime"``: every step on exported ONNX graphs
            (CPU; ``name_or_path`` may be a folder made by ``unicorn export``, otherwise the model is
            exported on the fly at its input size; see :mod:`unicorn.backends.onnxruntime`).

    Returns:
        The model in eval mode on ``device`` (channels-last memory format, which CPUs run fastest;
        on CPU, denormal floats are flushed to zero for the whole process, avoiding 10x slow-downs).
    """
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    if backend == "onnxruntime":
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
        if backend == "auto" and model.has_memory_embedding and memory_runtime_available():
            model.memory_runtime = MemoryRuntime(threads)
    return model.to(device=device, memory_format=torch.channels_last).eval()


class Tracker(abc.ABC):
    """A streaming tracker for one task over a model: ``init``, ``step``, ``track``, ``reset``, ``config``.

    ``Tracker(model, task, ...)`` creates the task's tracker (as ``pathlib.Path`` creates a
    ``PosixPath``): :class:`~unicorn.trackers.sot.SOTTracker`, the propagation trackers of
    ``unicorn-lite``, :class:`~unicorn.trackers.vos.VOSTracker` or
    :class:`~unicorn.trackers.mot.MOTTracker`. Every one of them is an instance of ``Tracker``
    (``isinstance(t, unicorn.Tracker)``), and all derive from
    :class:`~unicorn.trackers.base.BaseTracker`.

    Args:
        model: from :func:`load`.
        task: ``"sot"``, ``"vos"``, ``"mot"`` or ``"mots"``.
        input_size: network input (H, W), multiples of 32; default: the model's.
        detector: MOT only: your own detections (callable or MOTChallenge det.txt path), or the name
            of a built-in detector (``"auto"``, ``"model"``, ``"nanodet-g"``; same as the
            ``MOTConfig.detector`` setting).
        fps: frames per second of the video to track; MOT/MOTS keep a lost track for the same time in
            seconds at any frame rate (ByteTrack's ``frame_rate``) unless you set ``frame_rate``.
        **settings: any field of :class:`SOTConfig`, :class:`VOSConfig`, :class:`MOTConfig`,
            :class:`ByteTrackConfig` or :class:`EmbeddingMatcherConfig` (e.g. ``nms_thresh=0.6``,
            ``association="embedding"``, ``track_thresh=0.5``, ``classes=(0,)``). What you set wins over
            the model variant's defaults, which win over the dataclasses' (:func:`tracker_config`); the
            tracker's ``config`` holds the values it runs with.
    """

    def __new__(cls, model: Unicorn, task: str = "sot", *, input_size: tuple[int, int] | None = None,
                detector: Any = None, fps: float | None = None, **settings: Any) -> BaseTracker:
        return create_tracker(model, task, input_size=input_size, detector=detector, fps=fps, **settings)

    @abc.abstractmethod
    def init(self, frame: Any, **prompts: Any) -> Any:
        """Start a video on its first frame (SOT: ``boxes``; VOS: ``masks`` or ``boxes``; MOT: nothing)."""

    @abc.abstractmethod
    def step(self, frame: Any) -> Any:
        """Track one more frame; returns its :class:`~unicorn.types.FrameResult`."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget the video (targets, tracks, ids)."""


Tracker.register(BaseTracker)


def _builtin_detector(detector: Any, settings: dict[str, Any]) -> Any:
    """Move a built-in detector's name from ``detector`` into the settings; returns what is left (own detections)."""
    if isinstance(detector, str) and detector in DETECTORS and not Path(detector).is_file():
        settings["detector"] = detector
        return None
    return detector


def create_tracker(model: Unicorn, task: str = "sot", *, input_size: tuple[int, int] | None = None,
                   detector: Any = None, fps: float | None = None, **settings: Any) -> BaseTracker:
    """The tracker :class:`Tracker` creates (same arguments)."""
    check_settings(task, detector, input_size, **settings)  # refuses any bad setting before work starts
    task = check_task(task)
    detector = _builtin_detector(detector, settings)
    config = tracker_config(model, task, settings, fps=fps, detector_given=detector is not None)
    if task in ("sot", "vos"):
        if config.method == "propagation" and task == "sot" and config.search_context > 0:
            return SearchSOTTracker(model, config, input_size)
        if config.method == "propagation":
            return PropagationTracker(model, task, config, input_size)
        return (SOTTracker if task == "sot" else VOSTracker)(model, config, input_size)
    return MOTTracker(model, config, input_size, segment=(task == "mots"), detector=detector)


def check_settings(task: str, detector: Any = None, input_size: tuple[int, int] | None = None,
                   **settings: Any) -> tuple[str, SOTConfig | MOTConfig, Any]:
    """Check a tracker's settings without a model (the command line does this before loading one).

    Args:
        task, detector, input_size, settings: as for :class:`Tracker`.

    Returns:
        (task in lower case, the checked config without any model variant's defaults, the detector object
        or file when one was given instead of a built-in name).

    Raises:
        UserError: an unknown task or setting, or a value of the wrong type or range.
    """
    task = check_task(task)
    if input_size is not None:
        input_size = tuple(check_ids("input_size", input_size))
        if len(input_size) != 2 or 0 in input_size or input_size[0] % 32 or input_size[1] % 32:
            raise UserError(f"input_size={input_size} is not allowed: give (height, width), positive multiples of "
                            "32 (e.g. 320x512)")
    settings = dict(settings)
    detector = _builtin_detector(detector, settings)
    return task, tracker_config(None, task, settings, detector_given=detector is not None), detector

