"""Training: config, trainer with hooks, checkpoints, torchrun integration (see ``tools/train.py``).

The names below are imported on first use, so that the command line can build its parser without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .config import DatasetConfig, TrainConfig, load_train_config, resolve_train_config
    from .launch import train

__all__ = ["DatasetConfig", "TrainConfig", "load_train_config", "resolve_train_config", "train"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from importlib import import_module

        value = getattr(import_module(".launch" if name == "train" else ".config", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'unicorn.engine' has no attribute {name!r}")
