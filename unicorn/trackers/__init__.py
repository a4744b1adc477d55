"""Task trackers: thin policies over one Unicorn model."""

from .base import BaseTracker
from .mot import MOTConfig, MOTTracker
from .mots import remove_overlaps
from .sot import SOTConfig, SOTTracker
from .vos import VOSConfig, VOSTracker, soft_aggregate

__all__ = ["BaseTracker", "MOTConfig", "MOTTracker", "SOTConfig", "SOTTracker", "VOSConfig", "VOSTracker",
           "remove_overlaps", "soft_aggregate"]
