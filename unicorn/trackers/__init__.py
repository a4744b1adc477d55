"""Task trackers: thin policies over one Unicorn model."""

from .base import BaseTracker
from .configs import MOTConfig, SOTConfig, VOSConfig
from .mot import MOTTracker
from .mots import remove_overlaps
from .sot import SOTTracker
from .vos import VOSTracker, soft_aggregate

__all__ = ["BaseTracker", "MOTConfig", "MOTTracker", "SOTConfig", "SOTTracker", "VOSConfig", "VOSTracker",
           "remove_overlaps", "soft_aggregate"]
