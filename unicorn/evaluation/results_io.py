"""Finding and reading tracker result files, with errors that name the file and the line.

Layouts (``<results>`` is the folder given to ``unicorn eval --results``):

* SOT: ``<results>/<seq>.txt`` (pytracking, one ``x y w h`` row per frame) or the GOT-10k toolkit's
  ``<results>/<seq>/<seq>_001.txt`` (``_002``, ... are further repetitions).
* MOT: ``<results>/<seq>.txt`` (MOTChallenge txt) or ``<results>/data/<seq>.txt`` (TrackEval).
* MOTS: ``<results>/<seq>.txt`` (MOTS txt).
* VOS: ``<results>/<seq>/<frame>.png`` (palette PNG, same names as the annotations).
* BDD100K: one Scalabel json (``--results file.json``) or a folder of json files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unicorn.data.datasets.base import TrackAnnotations
from unicorn.data.datasets.mot_challenge import read_mot_txt
from unicorn.data.datasets.mots import read_mots_txt
from unicorn.data.datasets.textio import read_box_rows, read_numeric_rows
from unicorn.errors import UserError


def sot_result_files(results: Path, name: str) -> list[Path]:
    """Result files of one SOT sequence (several for GOT-10k repetitions); empty when missing."""
    runs = sorted((results / name).glob(f"{name}_[0-9]*.txt")) if (results / name).is_dir() else []
    runs = [p for p in runs if p.stem[len(name) + 1:].isdigit()]
    if runs:
        return runs
    return [results / f"{name}.txt"] if (results / f"{name}.txt").is_file() else []


def read_sot_result(path: Path, num_frames: int) -> np.ndarray:
    """(T, 4) predicted boxes of one sequence.

    A longer file is cut to T rows (as pytracking does); a shorter one, a NaN or a negative
    width / height is an error naming the file and the line.
    """
    boxes, lines = read_box_rows(path, allow_nan=True)
    bad = np.flatnonzero(np.isnan(boxes).any(axis=1) | (boxes[:, 2:] < 0).any(axis=1))
    if len(bad):
        raise UserError(f"{path}:{lines[bad[0]]}: invalid box {boxes[bad[0]].tolist()} "
                        f"(NaN or negative width/height)")
    if len(boxes) < num_frames:
        raise UserError(f"{path}: has {len(boxes)} boxes but the sequence has {num_frames} frames "
                        f"(one 'x, y, w, h' line per frame is needed)")
    return boxes[:num_frames]


def mot_result_file(results: Path, name: str) -> Path | None:
    """The MOTChallenge result file of a sequence, or None."""
    for candidate in (results / f"{name}.txt", results / "data" / f"{name}.txt"):
        if candidate.is_file():
            return candidate
    return None


def read_mot_result(path: Path, num_frames: int) -> TrackAnnotations:
    """Tracker rows of one MOTChallenge result file (frames checked against the sequence length).

    Track ids must be whole numbers, widths and heights >= 0 and scores (column 7) numbers: the
    ground-truth reader fills a missing value, but a tracker that wrote NaN has a bug to report.
    """
    raw, lines = read_numeric_rows(path, 6, what="MOTChallenge row (frame, id, left, top, width, height, ...)")
    if len(raw):
        checks = ((raw[:, 1] != np.round(raw[:, 1]), "track ids are whole numbers, got {:g}", 1),
                  ((raw[:, 4:6] < 0).any(axis=1), "width and height must be >= 0, got {:g}", 4),
                  (raw.shape[1] > 6 and np.isnan(raw[:, 6]), "the score (column 7) is not a number: {:g}", 6))
        for bad, text, col in checks:
            rows = np.flatnonzero(bad)
            if len(rows):
                i = rows[0]
                value = raw[i, col] if col != 4 or raw[i, 4] < 0 else raw[i, 5]
                raise UserError(f"{path}:{lines[i]}: {text.format(value)}; fix the tracker output")
    return read_mot_txt(path, is_gt=False, num_frames=num_frames)


def unknown_results(results: Path, names: list[str]) -> list[str]:
    """Result files or folders in ``results`` named after no sequence of the benchmark (they are not scored)."""
    if not results.is_dir():
        return []
    found = {p.stem for p in results.glob("*.txt")} | {p.stem for p in results.glob("data/*.txt")}
    found |= {p.name for p in results.iterdir()
              if p.is_dir() and p.name != "data" and (any(p.glob("*.png")) or any(p.glob("*.txt")))}
    return sorted(found - set(names))


def read_mots_result(path: Path, num_frames: int, frame_base: int = 1,
                     image_size: tuple[int, int] | None = None) -> TrackAnnotations:
    """Tracker rows of one MOTS txt file; the mask size must match the images when known."""
    rows = read_mots_txt(path, num_frames=num_frames, frame_base=frame_base)
    if image_size is not None and rows.rles:
        for i, rle in enumerate(rows.rles):
            if tuple(rle["size"]) != tuple(image_size):
                raise UserError(f"{path}:{rows.lines[i]}: mask size {tuple(rle['size'])} differs from the "
                                f"image size {tuple(image_size)}")
    return rows


def vos_result_frames(results: Path, name: str, mask_names: list[str]) -> list[Path] | None:
    """Predicted PNG per annotated frame of a sequence; None when the sequence folder is missing.

    Frames 1..T-2 are scored, so their PNGs must exist (a missing one is an error naming it);
    the first and last frames may be absent.
    """
    folder = results / name
    if not folder.is_dir():
        return None
    paths = [folder / m for m in mask_names]
    for path in paths[1:-1]:
        if not path.is_file():
            raise UserError(f"{path}: file not found (every scored frame of {name} needs a PNG)")
    return paths
