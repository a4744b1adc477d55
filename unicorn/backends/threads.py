"""How many CPU threads this process should use: the cores it may really run on.

``os.cpu_count()`` (and torch's default thread count) is the machine's core count. A container or a
job scheduler often allows fewer: the CPU affinity mask (``os.sched_getaffinity``) lists the cores
the process may be scheduled on, and the cgroup v2 quota (``cpu.max``: ``"$QUOTA $PERIOD"`` or
``"max $PERIOD"``) caps how much CPU time it gets per period, whatever the affinity says. More
threads than that make every parallel region wait for descheduled threads; on a busy 2-core machine
the default thread count ran 4x slower than one thread.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from ..errors import UserError

CGROUP_ROOT = Path("/sys/fs/cgroup")


def parse_cpu_max(text: str) -> float | None:
    """CPUs allowed by a cgroup v2 ``cpu.max`` line, or None when unlimited.

    Args:
        text: the file's content, e.g. ``"200000 100000"`` (2 CPUs) or ``"max 100000"``.

    Returns:
        quota / period, or None for ``max`` (or an unreadable line).
    """
    parts = text.split()
    if not parts or parts[0] == "max":
        return None
    try:
        quota = float(parts[0])
        period = float(parts[1]) if len(parts) > 1 else 100000.0
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The tightest cgroup v2 CPU quota on this process's cgroup and its ancestors, or None.

    Args:
        root: where the cgroup v2 hierarchy is mounted.
        proc_cgroup: the process's cgroup membership file (the v2 line is ``0::/path``).

    Returns:
        CPUs as a float (1.5 = one and a half cores), or None when no quota applies.
    """
    rel = ""
    try:
        for line in proc_cgroup.read_text().splitlines():
            if line.startswith("0::"):
                rel = line[3:].strip().lstrip("/")
    except OSError:
        pass
    limits = []
    folder = root / rel if rel else root
    while True:
        try:
            limit = parse_cpu_max((folder / "cpu.max").read_text())
        except OSError:
            limit = None
        if limit is not None:
            limits.append(limit)
        if folder == root or root not in folder.parents:
            break
        folder = folder.parent
    return min(limits) if limits else None


def usable_cpus(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup"),
                affinity: set[int] | None = None) -> float:
    """Cores this process may use: min(affinity mask size, cgroup quota).

    Args:
        root, proc_cgroup: as :func:`cgroup_cpu_limit` (parameters for tests).
        affinity: the affinity mask; default ``os.sched_getaffinity(0)`` (``os.cpu_count()`` where absent).
    """
    if affinity is None:
        affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    cpus = float(max(1, len(affinity)))
    quota = cgroup_cpu_limit(root, proc_cgroup)
    return min(cpus, quota) if quota is not None else cpus


def default_threads(**kwargs) -> int:
    """The thread count to use by default: the usable cores, rounded down, at least 1.

    A fractional quota is rounded down (1.5 CPUs -> 1 thread): a thread that only gets part of a
    core still holds up every parallel region. Keyword arguments go to :func:`usable_cpus`.
    """
    return max(1, math.floor(usable_cpus(**kwargs) + 1e-9))


def check_threads(threads: int) -> int:
    """Validate a user's thread count. Raises UserError."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UserError(f"threads must be a positive whole number (1 on a busy machine); got {threads!r}")
    return threads


def apply_threads(threads: int | None) -> int:
    """Set torch's intra-op thread count: ``threads``, or :func:`default_threads` when None.

    When None and ``OMP_NUM_THREADS`` is set, that setting is left alone (the user chose).

    Returns:
        The thread count torch now uses.
    """
    import torch

    if threads is not None:
        torch.set_num_threads(check_threads(threads))
    elif not os.environ.get("OMP_NUM_THREADS"):
        torch.set_num_threads(default_threads())
    return torch.get_num_threads()
