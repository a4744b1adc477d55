"""MOTChallenge readers (MOT15 / MOT16 / MOT17 / MOT20 box tracking) and the MOT txt format."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unicorn.data.datasets.base import Benchmark, Sequence, TrackAnnotations, sorted_images
from unicorn.data.datasets.textio import read_ini, read_numeric_rows
from unicorn.errors import UserError


def read_mot_txt(path: str | Path, is_gt: bool, num_frames: int | None = None) -> TrackAnnotations:
    """Read a MOTChallenge txt file (``frame, id, left, top, w, h, conf|flag, class, visibility``).

    Ground truth: column 7 is the "consider" flag, 8 the class, 9 the visibility. Tracker output:
    column 7 is the confidence and column 8, when present, the class (as TrackEval reads it).

    Args:
        path: the file.
        is_gt: whether it is a ground-truth file.
        num_frames: when given, frames outside 1..num_frames are an error.

    Returns:
        The rows, with ``lines`` pointing back into the file.

    Raises:
        UserError: a malformed line, a frame out of range or an id repeated within a frame
            (the message names the file and the line).
    """
    rows, lines = read_numeric_rows(path, 6, what="MOTChallenge row (frame, id, left, top, width, height, ...)")
    frames = rows[:, 0]
    if len(rows) and (np.any(frames != np.round(frames)) or frames.min() < 1):
        bad = np.flatnonzero((frames != np.round(frames)) | (frames < 1))[0]
        raise UserError(f"{path}:{lines[bad]}: frame numbers are integers starting at 1, got {frames[bad]:g}")
    if num_frames is not None and len(rows) and frames.max() > num_frames:
        bad = int(np.argmax(frames))
        raise UserError(f"{path}:{lines[bad]}: frame {frames[bad]:g} is outside the sequence (1..{num_frames})")
    if len(rows) and not np.isfinite(rows[:, 1:6]).all():
        bad = np.flatnonzero(~np.isfinite(rows[:, 1:6]).all(axis=1))[0]
        raise UserError(f"{path}:{lines[bad]}: id and box must be finite numbers")
    _check_unique_ids(path, frames.astype(np.int64), rows[:, 1].astype(np.int64), lines)
    col = lambda i, fill: rows[:, i] if rows.shape[1] > i else np.full(len(rows), fill)  # noqa: E731
    return TrackAnnotations(
        frames=frames, ids=rows[:, 1], boxes=rows[:, 2:6],
        classes=np.nan_to_num(col(7, -1), nan=-1),
        flags=np.nan_to_num(col(6, 1), nan=1) if is_gt else None,
        visibility=np.nan_to_num(col(8, 1), nan=1) if is_gt else None,
        confidences=None if is_gt else np.nan_to_num(col(6, 1), nan=1),
        source=str(path), lines=lines,
    )


def _check_unique_ids(path, frames: np.ndarray, ids: np.ndarray, lines: np.ndarray) -> None:
    if len(frames) == 0:
        return
    _, inverse, counts = np.unique(np.stack([frames, ids], axis=1), axis=0, return_inverse=True,
                                   return_counts=True)
    dup = np.flatnonzero(counts[inverse.reshape(-1)] > 1)
    if len(dup):
        same = dup[inverse.reshape(-1)[dup] == inverse.reshape(-1)[dup[0]]]
        raise UserError(f"{path}:{lines[same[1]]}: id {ids[same[0]]} appears twice in frame {frames[same[0]]} "
                        f"(also on line {lines[same[0]]}); ids must be unique within a frame")


class MOTChallenge(Benchmark):
    """MOTChallenge box tracking: ``<root>/<split>/<seq>/{gt/gt.txt, seqinfo.ini, img1/}``.

    Also reads custom data without seqinfo or split folders: ``<root>/<seq>/gt/gt.txt`` or
    ``<root>/<seq>/gt.txt``. The sequence length is the number of images in ``img1`` when
    present, otherwise ``seqLength`` from ``seqinfo.ini``, otherwise the last annotated frame.

    Args:
        root: dataset folder.
        benchmark: "MOT15", "MOT16", "MOT17" or "MOT20" (selects the preprocessing at evaluation).
        split: "train" (default) or "test" (no public ground truth).
        detector: keep only sequences whose name ends with this (e.g. "FRCNN" for MOT17).
    """

    task = "mot"
    layout_hint = "<root>/train/<seq>/gt/gt.txt (+ seqinfo.ini, img1/)"

    def __init__(self, root=None, benchmark: str = "MOT17", split: str = "train", detector: str | None = None):
        self.name = benchmark
        self.default_root = {"MOT17": "datasets/mot", "MOT16": "datasets/mot"}.get(benchmark,
                                                                                  f"datasets/{benchmark}")
        super().__init__(root)
        self.benchmark, self.split, self.detector = benchmark, split, detector

    @property
    def split_root(self) -> Path:
        """Folder holding one folder per sequence."""
        nested = self.root / self.split
        return nested if nested.is_dir() else self.root

    def sequence_names(self) -> list[str]:
        names = sorted(p.name for p in self.split_root.iterdir()
                       if p.is_dir() and ((p / "gt" / "gt.txt").is_file() or (p / "gt.txt").is_file()))
        if self.detector:
            names = [n for n in names if n.endswith(self.detector)]
        if not names:
            suffix = f" ending in {self.detector}" if self.detector else ""
            raise self.missing(self.split_root, f"sequence folders with gt/gt.txt{suffix}")
        return names

    def load(self, name: str) -> Sequence:
        folder = self.split_root / name
        gt_file = folder / "gt" / "gt.txt"
        if not gt_file.is_file():
            gt_file = folder / "gt.txt"
        info = read_ini(folder / "seqinfo.ini") if (folder / "seqinfo.ini").is_file() else {}
        frames = sorted_images(folder / info.get("imDir", "img1"))
        tracks = read_mot_txt(gt_file, is_gt=True)
        num_frames = len(frames) or int(info.get("seqLength", 0)) or int(tracks.frames.max(initial=0))
        num_frames = max(num_frames, int(tracks.frames.max(initial=0)))
        size = (int(info["imHeight"]), int(info["imWidth"])) if "imHeight" in info and "imWidth" in info else None
        return Sequence(name=name, frame_paths=frames, num_frames=num_frames, image_size=size, tracks=tracks,
                        extra={"benchmark": self.benchmark})
