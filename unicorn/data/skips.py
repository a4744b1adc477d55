"""Bad training data is skipped and counted, never a crash in the middle of an epoch."""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import numpy as np


class BadSample(Exception):
    """One sample cannot be used (missing or corrupt image, no usable labels ...).

    Args:
        reason: a short category ("missing image", "corrupt image", "no usable frames" ...).
        detail: what exactly (usually a path).
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


class BadDataWarning(UserWarning):
    """Warning category of skipped training data (filter with ``warnings.filterwarnings``)."""


class SkipCounter:
    """Counts skipped data per reason and warns on the 1st, 10th, 100th ... skip of each reason.

    Each warning carries the running summary, so a long run shows how much data it is losing
    without flooding the log. Counts are per process (each DataLoader worker has its own).

    Args:
        name: what is being read, for the messages (e.g. the dataset name).
    """

    def __init__(self, name: str = "training data") -> None:
        self.name = name
        self.counts: Counter[str] = Counter()
        self.last: dict[str, str] = {}

    @property
    def total(self) -> int:
        """Number of skips so far, all reasons together."""
        return sum(self.counts.values())

    def add(self, reason: str, detail: str = "") -> None:
        """Count one skip, warning when this reason's count is a power of ten."""
        self.counts[reason] += 1
        self.last[reason] = detail
        n = self.counts[reason]
        if str(n).rstrip("0") == "1":  # 1, 10, 100, ...
            warnings.warn(f"{self.name}: skipped {reason} ({detail}); {self.summary()}", BadDataWarning, stacklevel=2)

    def add_exception(self, err: BaseException) -> None:
        """Count a ``BadSample`` (its reason) or any other readable error (its type)."""
        if isinstance(err, BadSample):
            self.add(err.reason, err.detail)
        else:
            self.add(type(err).__name__, str(err)[:200])

    def summary(self) -> str:
        """``"N skipped so far (reason: n, ...)"``."""
        parts = ", ".join(f"{k}: {v}" for k, v in self.counts.most_common())
        return f"{self.total} skipped so far ({parts})"


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as (H, W, 3) uint8 BGR.

    Raises:
        BadSample: "missing image" when the file does not exist, "corrupt image" when it cannot
            be decoded.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise BadSample("missing image", str(path))
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise BadSample("corrupt image", str(path))
    return image
