"""Helpers shared by the result writers and readers: safe file creation, RLE, the DAVIS palette."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import numpy as np
from pycocotools import mask as mask_utils

from ..errors import UserError


class OutputExistsError(UserError, FileExistsError):
    """A writer was asked to create a file that already exists and ``overwrite`` is False."""


def ensure_new(path: Path, overwrite: bool) -> Path:
    """Refuse an existing output path unless ``overwrite``; create the parent folder.

    Args:
        path: file to be written.
        overwrite: allow replacing an existing file.

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"Output file {path} already exists; pass overwrite=True (CLI: --overwrite) to replace it, "
            f"or choose another path."
        )
    if path.is_dir():
        raise UserError(f"Output path {path} is a folder; give a file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def open_new_text(path: Path, overwrite: bool) -> IO[str]:
    """Open ``path`` for writing text, exclusively unless ``overwrite`` (no race with other writers)."""
    path = ensure_new(path, overwrite)
    try:
        return open(path, "w" if overwrite else "x", encoding="utf-8", newline="\n")
    except FileExistsError as exc:  # created between the check and the open
        raise OutputExistsError(
            f"Output file {path} already exists; pass overwrite=True (CLI: --overwrite) to replace it."
        ) from exc


def partial_path(path: Path) -> Path:
    """Where a file that cannot be appended safely (json, video) is written until it is complete:
    ``name.partial.ext`` beside ``name.ext`` (the extension stays last so that codecs recognise it)."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


def finish_partial(partial: Path, path: Path) -> None:
    """Give a completed ``partial`` file its final name (atomic on one file system)."""
    os.replace(partial, path)


class FrameFile:
    """A text file written one frame at a time that keeps only whole frames when a write fails.

    ``write`` buffers text; ``commit`` flushes it and marks the end of a complete frame. When a
    flush fails (a full disk: ``OSError`` ENOSPC), the error propagates and ``close`` cuts the file
    back to the last complete frame (which frees the space of the cut part) before adding ``tail``.

    Args:
        path: the file (created exclusively unless ``overwrite``).
        overwrite: replace an existing file.
    """

    def __init__(self, path: Path, overwrite: bool) -> None:
        self.path = Path(path)
        self._fp = open_new_text(self.path, overwrite)
        self._complete = 0  # bytes of whole frames on disk
        self.failed = False

    @property
    def closed(self) -> bool:
        return self._fp.closed

    def write(self, text: str) -> None:
        """Buffer ``text`` (part of the current frame)."""
        try:
            self._fp.write(text)
        except OSError:
            self.failed = True
            raise

    def commit(self) -> None:
        """Flush the current frame to disk and remember where it ends."""
        try:
            self._fp.flush()
        except OSError:
            self.failed = True
            raise
        self._complete = self._fp.tell()

    def close(self, tail: str = "") -> None:
        """Write ``tail`` (e.g. the end of a JSON array) and close; after a failed write, first cut the file
        back to its last complete frame. Idempotent."""
        if self._fp.closed:
            return
        if not self.failed:
            try:
                self.write(tail)
                self.commit()
                self._fp.close()
                return
            except OSError:
                self.failed = True
        try:
            self._fp.close()  # may fail again flushing the unfinished frame; it is cut off below
        except OSError:
            pass
        os.truncate(self.path, self._complete)
        if tail:  # the cut freed at least the space of the unfinished frame; raises if even that is too little
            with open(self.path, "a", encoding="utf-8", newline="\n") as fh:
                fh.write(tail)


def fmt_number(value: float, decimals: int) -> str:
    """Round to ``decimals`` and drop trailing zeros: 12.50 -> '12.5', 3.0 -> '3'."""
    text = f"{float(value):.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def encode_rle(mask: np.ndarray) -> dict:
    """Encode one (H, W) bool mask as COCO compressed RLE with a str ``counts``.

    Returns:
        ``{"size": [H, W], "counts": str}``.
    """
    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode_rle(rle: dict) -> np.ndarray:
    """Decode a COCO compressed RLE (``counts`` str or bytes) to an (H, W) bool mask."""
    counts = rle["counts"]
    if isinstance(counts, list):  # uncompressed RLE
        h, w = rle["size"]
        rle = mask_utils.frPyObjects(rle, h, w)
    elif isinstance(counts, str):
        rle = {"size": list(rle["size"]), "counts": counts.encode("ascii")}
    return mask_utils.decode(rle).astype(bool)


def davis_palette() -> np.ndarray:
    """(256, 3) uint8 DAVIS palette (the PASCAL VOC colour map: 1 = dark red, 2 = green, ...).

    Colour ``i`` spreads the bits of ``i`` over the channels: bit 3k goes to red, 3k+1 to
    green and 3k+2 to blue, at bit position 7 - k.
    """
    idx = np.arange(256)
    pal = np.zeros((256, 3), dtype=np.int64)
    for k in range(8):
        for ch in range(3):
            pal[:, ch] |= ((idx >> (3 * k + ch)) & 1) << (7 - k)
    return pal.astype(np.uint8)
