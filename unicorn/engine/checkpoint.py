"""Atomic, resumable training checkpoints and the export of final weights.

A checkpoint (``RUN/checkpoints/last.pt``; also ``step_XXXXXXX.pt`` when asked) holds the model,
EMA, optimizer and schedule states, the step and iteration counters, the RNG states of every
rank (python, numpy, torch, CUDA) and the resolved config. It is written to a temporary file and
moved into place with ``os.replace``, so a crash never leaves a half-written ``last.pt``.
Everything in it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import os
import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import UserError, reason
from .distributed import DistInfo, all_gather_objects, barrier, unwrap
from .schedule import ModelEMA, WarmupCosineSchedule

FORMAT_VERSION = 1
LAST = "last.pt"


def rng_state() -> dict[str, Any]:
    """This process's RNG states in a ``weights_only``-loadable form."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, py_state, py_gauss = random.getstate()
    state = {"python": [version, list(py_state), py_gauss],
             "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    version, py_state, py_gauss = state["python"]
    random.setstate((version, tuple(py_state), py_gauss))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, then ``os.replace`` onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


class Checkpointer:
    """Saves and restores the full training state of a run.

    Args:
        run_dir: the run folder (checkpoints go to ``run_dir/checkpoints``).
        info: process placement; only rank 0 writes, every rank reads.
        keep_steps: also keep a ``step_XXXXXXX.pt`` copy of every save.
    """

    def __init__(self, run_dir: str | Path, info: DistInfo, keep_steps: bool = False) -> None:
        self.dir = Path(run_dir) / "checkpoints"
        self.info = info
        self.keep_steps = keep_steps

    def latest(self) -> Path | None:
        """``last.pt`` of the run, or None."""
        path = self.dir / LAST
        return path if path.is_file() else None

    def save(self, step: int, *, model: nn.Module, optimizer: torch.optim.Optimizer,
             schedule: WarmupCosineSchedule | None, ema: ModelEMA | None, iteration: int,
             config: dict[str, Any]) -> Path | None:
        """Write the state after ``step`` optimizer steps (call on every rank; rank 0 writes)."""
        rngs = all_gather_objects(rng_state(), self.info)
        path = None
        if self.info.is_main:
            state = {"format": FORMAT_VERSION, "step": step, "iteration": iteration,
                     "world_size": self.info.world_size, "model": unwrap(model).state_dict(),
                     "ema": ema.state_dict() if ema is not None else None, "optimizer": optimizer.state_dict(),
                     "schedule": schedule.state_dict() if schedule is not None else None,
                     "rng": rngs, "config": config}
            path = atomic_save(state, self.dir / LAST)
            if self.keep_steps:
                atomic_save(state, self.dir / f"step_{step:07d}.pt")
        barrier(self.info)
        return path

    def load(self, path: str | Path, *, model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
             schedule: WarmupCosineSchedule | None = None, ema: ModelEMA | None = None,
             restore_rng: bool = True) -> dict[str, Any]:
        """Restore a checkpoint into the given objects; returns ``{"step", "iteration", "config"}``."""
        path = Path(path)
        try:
            state = torch.load(str(path), map_location=self.info.device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
            raise UserError(f"cannot read checkpoint {path} ({reason(exc)}); delete it to start over") from None
        if state.get("format") != FORMAT_VERSION:
            raise UserError(f"{path} is not a training checkpoint of this version (format {state.get('format')})")
        unwrap(model).load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if schedule is not None and state["schedule"] is not None:
            schedule.load_state_dict(state["schedule"])
        if ema is not None:
            if state["ema"] is None:
                warnings.warn(f"{path} has no EMA state; the EMA restarts from the current weights", stacklevel=2)
                ema.module.load_state_dict(unwrap(model).state_dict())
            else:
                ema.load_state_dict(state["ema"])
        if restore_rng:
            rngs = state["rng"]
            if len(rngs) == self.info.world_size:
                set_rng_state(rngs[self.info.rank])
            else:
                warnings.warn(f"{path} was written by {len(rngs)} processes, this run has "
                              f"{self.info.world_size}; random streams restart from fresh seeds", stacklevel=2)
        return {"step": int(state["step"]), "iteration": int(state["iteration"]), "config": state["config"]}


def export_weights(model: nn.Module, path: str | Path, half: bool = False, variant: str = "") -> Path:
    """Final weights as ``.safetensors`` with the architecture in its metadata (``unicorn.load`` reads it).

    Args:
        model: the model to export (pass the EMA copy for the averaged weights).
        path: destination ``.safetensors``.
        half: store float16.
        variant: variant name recorded in the metadata.
    """
    from ..hub import save_safetensors

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    save_safetensors(unwrap(model), tmp, variant, half=half)
    os.replace(tmp, path)
    return path


__all__ = ["Checkpointer", "atomic_save", "export_weights", "rng_state", "set_rng_state"]
