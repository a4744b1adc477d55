"""Reading the text formats of tracking benchmarks with errors that name the file and the line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from unicorn.errors import UserError

_SPLIT = re.compile(r"[,\s]+")


def read_numeric_rows(path: str | Path, min_cols: int, what: str = "row") -> tuple[np.ndarray, np.ndarray]:
    """Read a text file of numbers separated by commas, tabs or spaces.

    Blank lines are skipped. Rows may have different lengths; shorter rows are padded with NaN.

    Args:
        path: the file.
        min_cols: the fewest numbers a row may have.
        what: what one row is, for the error message (e.g. "MOT row").

    Returns:
        ``(rows, lines)``: (N, C) float64 values and (N,) int64 1-based line numbers.

    Raises:
        UserError: the file is missing, or a line has too few or non-numeric values
            (the message names the file and the line).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    values: list[list[float]] = []
    lines: list[int] = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            text = line.strip()
            if not text:
                continue
            fields = [x for x in _SPLIT.split(text) if x]
            try:
                row = [float(x) for x in fields]
            except ValueError:
                raise UserError(f"{path}:{number}: expected numbers in a {what}, got {text[:80]!r}") from None
            if len(row) < min_cols:
                raise UserError(f"{path}:{number}: a {what} needs at least {min_cols} values, "
                                f"got {len(row)} ({text[:80]!r})")
            values.append(row)
            lines.append(number)
    width = max((len(r) for r in values), default=min_cols)
    out = np.full((len(values), width), np.nan)
    for i, row in enumerate(values):
        out[i, :len(row)] = row
    return out, np.asarray(lines, dtype=np.int64)


def read_box_rows(path: str | Path, allow_nan: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Read a single-object box file: one ``x, y, w, h`` row per frame.

    Args:
        path: the file (comma, tab or space separated).
        allow_nan: accept NaN values (ground truth of unknown frames); when False a NaN is an error.

    Returns:
        ``(boxes, lines)``: (T, 4) float64 boxes (extra columns dropped) and (T,) line numbers.
    """
    rows, lines = read_numeric_rows(path, 4, what="box row (x, y, w, h)")
    boxes = rows[:, :4]
    if not allow_nan:
        bad = np.flatnonzero(~np.isfinite(boxes).all(axis=1))
        if len(bad):
            raise UserError(f"{path}:{lines[bad[0]]}: box is not finite ({boxes[bad[0]].tolist()})")
    return boxes, lines


def read_flag_file(path: str | Path) -> np.ndarray:
    """Read a file of 0/1 (or integer) flags separated by commas, spaces or newlines, as (T,) int64."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    fields = [x for x in _SPLIT.split(text.strip()) if x]
    try:
        return np.asarray([int(float(x)) for x in fields], dtype=np.int64)
    except ValueError:
        raise UserError(f"{path}: expected integer flags, got {text[:80]!r}") from None


def read_ini(path: str | Path) -> dict[str, str]:
    """Read ``key=value`` or ``key: value`` lines (seqinfo.ini, GOT-10k meta_info.ini) into a dict."""
    out: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith(("[", "#", ";")):
            continue
        for sep in ("=", ":"):
            if sep in line:
                key, value = line.split(sep, 1)
                out[key.strip()] = value.strip()
                break
    return out
