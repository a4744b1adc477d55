"""unicorn: one model for SOT, MOT, VOS and MOTS (Towards Grand Unification of Object Tracking)."""

from .api import Tracker, load
from .errors import UserError
from .types import FrameResult

__version__ = "0.1.0"
__all__ = ["FrameResult", "Tracker", "UserError", "__version__", "load"]
