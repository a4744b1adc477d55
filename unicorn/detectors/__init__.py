"""Detectors the MOT tracker can use instead of the tracking network's own detections."""

from .nanodet import NanoDetDetector

__all__ = ["NanoDetDetector"]
