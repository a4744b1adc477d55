"""A result folder: checked before any work, created only then, and a ``summary.json`` that always says how
the run ended (``running`` while it runs, then ``complete``, ``interrupted`` or ``failed`` with the reason).

No heavy imports: the command line checks the folder before torch loads.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import UserError

STATUSES = ("running", "complete", "interrupted", "failed")
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def check_result_folder(out: Path, overwrite: bool) -> None:
    """Refuse a result folder that cannot be used, before anything is computed or created.

    Raises:
        UserError: ``out`` is a file, holds results (without ``overwrite``), or cannot be created or written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder; give the name of a folder for the results")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise UserError(f"result folder {out} already exists and is not empty; pass --overwrite or another --out")
    place = out
    while not place.exists():
        place = place.parent
    if not place.is_dir():
        raise UserError(f"cannot create result folder {out}: {place} is a file; choose another --out")
    if not os.access(place, os.W_OK | os.X_OK):
        raise UserError(f"cannot write in {place} (no permission); choose another --out")


def create_result_folder(out: Path, overwrite: bool) -> None:
    """Create ``out`` (replacing it when ``overwrite``); call only after every check has passed."""
    out = Path(out)
    try:
        if out.is_dir() and overwrite and any(out.iterdir()):
            shutil.rmtree(out)
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create result folder {out}: {describe_os_error(exc)}") from None


def describe_os_error(exc: OSError) -> str:
    """One line for a failed write: a full disk says so; other errors give the system's words and the file."""
    where = f" ({exc.filename})" if exc.filename else ""
    if exc.errno in DISK_FULL:
        return f"the disk is full{where}"
    return f"{exc.strerror or exc}{where}"


class RunSummary:
    """``summary.json`` of a result folder, rewritten whole (temporary file + rename) at every change.

    Args:
        out: the result folder (exists).
        info: what the run is (input, task, weights ...); ``status`` starts as ``running``, so a run that
            was killed outright is still recognisable as incomplete.
    """

    def __init__(self, out: Path, info: dict[str, Any]) -> None:
        self.out = Path(out)
        self.path = self.out / "summary.json"
        self.data: dict[str, Any] = {"status": "running", **info}
        self.save()

    def finish(self, status: str, reason: str | None = None, **stats: Any) -> None:
        """Record how the run ended (one of :data:`STATUSES`), why, its counts and the files it left."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}; got {status!r}")
        self.data.update(status=status, **stats)
        if reason:
            self.data["reason"] = reason
        self.data["outputs"] = sorted(p.name for p in self.out.iterdir() if p.name != self.path.name)
        self.save()

    def save(self) -> None:
        """Write the summary; on a full disk, rewrite the old file in place (its blocks are already ours)."""
        text = json.dumps(self.data, indent=2) + "\n"
        temp = self.path.with_name(".summary.json.tmp")
        try:
            temp.write_text(text)
            os.replace(temp, self.path)
        except OSError:
            temp.unlink(missing_ok=True)
            if not self.path.exists():
                raise
            with open(self.path, "r+", encoding="utf-8") as fh:
                fh.write(text)
                fh.truncate()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (``kill PID``, a container stop) is handled like Ctrl+C (KeyboardInterrupt)."""
    def interrupt(signum, frame):  # noqa: ARG001 - the signal handler's signature
        raise KeyboardInterrupt(signal.Signals(signum).name)

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


__all__ = ["RunSummary", "STATUSES", "check_result_folder", "create_result_folder", "describe_os_error",
           "sigterm_as_interrupt"]
