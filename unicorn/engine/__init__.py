"""Training: config, trainer with hooks, checkpoints, torchrun integration (see ``tools/train.py``)."""

from .config import DatasetConfig, TrainConfig, load_train_config, resolve_train_config
from .launch import train

__all__ = ["DatasetConfig", "TrainConfig", "load_train_config", "resolve_train_config", "train"]
