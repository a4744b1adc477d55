"""Memory and speed probes shared by the measuring tools (benchmark, stress, model card).

Memory comes from ``/proc/self/status`` (Linux): ``VmRSS`` is the resident memory now, ``VmHWM`` its
peak over the life of the process (unlike ``ru_maxrss``, it is not inherited from the parent).
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

STATUS = Path("/proc/self/status")


def _status_mb(key: str) -> float:
    """A ``/proc/self/status`` field (given in KiB) in MB."""
    try:
        text = STATUS.read_text()
    except OSError as err:
        raise RuntimeError(f"cannot read {STATUS} ({err}); the memory probes need Linux") from err
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no {key} in {STATUS}; the memory probes need Linux")


def rss_mb() -> float:
    """Resident memory of this process now (``VmRSS``), in MB."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (``VmHWM``), in MB; ``ru_maxrss`` where there is no ``/proc``."""
    try:
        return _status_mb("VmHWM")
    except RuntimeError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> float:
    """Set the kernel's peak-memory mark back to the resident memory now (Linux ``clear_refs``).

    Returns:
        The new peak (``VmHWM``) in MB, the baseline of a later ``peak_rss_mb()``.
    """
    Path("/proc/self/clear_refs").write_text("5")
    return peak_rss_mb()


class Stopwatch:
    """Wall time of each ``with`` block, kept in ``seconds``.

    Example:
        >>> watch = Stopwatch()
        >>> with watch:
        ...     work()
        >>> watch.median
    """

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds.append(time.perf_counter() - self._start)

    @property
    def total(self) -> float:
        """Seconds of all blocks together."""
        return float(sum(self.seconds))

    @property
    def median(self) -> float:
        """Median seconds of one block."""
        if not self.seconds:
            raise ValueError("the stopwatch has timed nothing yet")
        return statistics.median(self.seconds)


def median_seconds(fn: Callable[[], object], runs: int, warmup: int = 1) -> float:
    """Median wall time of ``runs`` calls of ``fn`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    watch = Stopwatch()
    for _ in range(runs):
        with watch:
            fn()
    return watch.median


def peak_gflops(n: int = 2048, runs: int = 5) -> float:
    """The CPU's float32 GFLOP/s on an (n x n) @ (n x n) product at torch's current thread count.

    The fastest of ``runs`` (after a warm-up): the limit, not a typical run on a busy machine.
    """
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n ** 3 / best / 1e9
