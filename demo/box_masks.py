"""Box-initialised VOS for the demo: the model's mask head turns first-frame boxes into masks.

The work is done by :meth:`unicorn.trackers.vos.VOSTracker.masks_from_boxes`; these names stay for
the demo's callers.
"""

from __future__ import annotations

import numpy as np

from unicorn.geometry import filled_box_masks
from unicorn.trackers.vos import VOSTracker

__all__ = ["filled_box_masks", "masks_from_boxes"]


def masks_from_boxes(tracker: VOSTracker, frame: np.ndarray, boxes_xywh, mask_thresh: float = 0.5
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(K, H, W) masks and (K,) from-head flags for boxes; see ``VOSTracker.masks_from_boxes``."""
    return tracker.masks_from_boxes(frame, boxes_xywh, mask_thresh)
