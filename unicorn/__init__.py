"""unicorn: one model for SOT, MOT, VOS and MOTS (Towards Grand Unification of Object Tracking).

``Tracker``, ``load`` and ``FrameResult`` are imported on first use, so that ``import unicorn`` (and
``unicorn --help``) stays fast: torch is loaded only when a model or tracker is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from .api import Tracker, load
    from .types import FrameResult

__version__ = "0.1.0"
__all__ = ["FrameResult", "Tracker", "UserError", "__version__", "load"]
_LAZY = {"Tracker": "api", "load": "api", "FrameResult": "types"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'unicorn' has no attribute {name!r}")
