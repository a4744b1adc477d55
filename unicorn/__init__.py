"""unicorn: one model for SOT, MOT, VOS and MOTS (Towards Grand Unification of Object Tracking).

The public surface, on which the command line, the web demo and the tools stand:

- :func:`load` a model; :class:`Tracker` (``init`` / ``step`` / ``track``) for one task over it;
  :func:`tracker_config`, the settings a tracker runs with (defaults < the variant's < yours), and
  :func:`class_names`, the classes a MOT tracker outputs;
- :func:`track_to_folder`, a video into a result folder (annotated video, benchmark files, summary);
- :func:`open_video` (files, frame folders, webcams, streams), :class:`FrameResult`, :class:`UserError`,
  :func:`track_color` (the colour of a track id in annotated videos), :data:`DEFAULT_MODEL`, :data:`TASKS`.

Names are imported on first use, so that ``import unicorn`` (and ``unicorn --help``) stays fast: torch is
loaded only when a model or tracker is asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from .api import Tracker, load
    from .data.video_io import open_video
    from .evaluation.video_writer import track_color
    from .track_folder import FolderRun, track_to_folder
    from .trackers.settings import class_names, tracker_config
    from .types import FrameResult

__version__ = "0.1.0"
DEFAULT_MODEL = "unicorn-lite"
TASKS = ("sot", "vos", "mot", "mots")
__all__ = ["DEFAULT_MODEL", "FolderRun", "FrameResult", "TASKS", "Tracker", "UserError", "__version__", "class_names",
           "load", "open_video", "track_color", "track_to_folder", "tracker_config"]
_LAZY = {"Tracker": "api", "load": "api", "FrameResult": "types", "tracker_config": "trackers.settings",
         "class_names": "trackers.settings",
         "track_to_folder": "track_folder", "FolderRun": "track_folder", "open_video": "data.video_io",
         "track_color": "evaluation.video_writer"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'unicorn' has no attribute {name!r}")
