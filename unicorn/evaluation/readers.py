"""Readers for the formats in :mod:`unicorn.evaluation.writers` (results or ground truth).

Text readers parse the (small) text file once and then yield one
:class:`~unicorn.types.FrameResult` per frame, decoding masks lazily, frame by frame.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import UserError
from ..geometry import mask_boxes_xyxy
from ..types import FrameResult
from ._output import decode_rle

__all__ = [
    "iter_davis_pngs",
    "iter_mot_challenge",
    "iter_mots",
    "read_coco_tracks",
    "read_pytracking_txt",
    "read_youtube_vis",
]


def _lines(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Results file not found: {path}")
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]


def _box_xyxy(xywh) -> list[float]:
    x, y, w, h = (float(v) for v in xywh)
    return [x, y, x + w, y + h]


def _frames(rows: dict[int, list], num_frames: int | None) -> range:
    last = max(rows) if rows else -1
    return range(max(last + 1, num_frames or 0))


def iter_mot_challenge(
    path: str | Path,
    *,
    image_size: tuple[int, int] = (0, 0),
    frame_offset: int = 1,
    num_frames: int | None = None,
) -> Iterator[FrameResult]:
    """Read a MOTChallenge txt (``frame,id,x,y,w,h,score,...``; commas or spaces).

    Args:
        path: the ``.txt`` file.
        image_size: (H, W) to put in each FrameResult (the format does not store it).
        frame_offset: subtracted from the file's frame numbers (1 for MOTChallenge).
        num_frames: yield at least this many frames (trailing frames may have no rows).

    Yields:
        One FrameResult per frame index from 0, empty where the file has no rows; class 0.
    """
    rows: dict[int, list] = defaultdict(list)
    for n, line in enumerate(_lines(path), 1):
        cols = re.split(r"[,\s]+", line.strip())
        if len(cols) < 7:
            raise UserError(f"{path}:{n}: expected at least 7 columns (frame,id,x,y,w,h,score); got {line!r}")
        rows[int(float(cols[0])) - frame_offset].append(cols)
    for f in _frames(rows, num_frames):
        r = rows.get(f, [])
        yield FrameResult(
            frame_index=f, image_size=image_size,
            track_ids=[int(float(c[1])) for c in r],
            boxes_xyxy=np.array([_box_xyxy(c[2:6]) for c in r]).reshape(-1, 4),
            scores=[float(c[6]) for c in r],
            class_ids=np.zeros(len(r), dtype=np.int64),
        )


def iter_mots(
    path: str | Path, *, class_map: Mapping[int, int] | None = None, decode_class_in_id: bool = True,
    frame_offset: int = 1, num_frames: int | None = None,
) -> Iterator[FrameResult]:
    """Read a MOTS txt (``frame object_id class_id H W rle``).

    Args:
        path: the ``.txt`` file.
        class_map: the writer's map (our class -> MOTS class), inverted here; None keeps MOTS
            class ids (2 = pedestrian).
        decode_class_in_id: track id = ``object_id % 1000`` (MOTS20 convention).
        frame_offset: subtracted from the file's frame numbers (1 for MOTS20, 0 for KITTI-MOTS).
        num_frames: yield at least this many frames.

    Yields:
        One FrameResult per frame from 0 with masks decoded; boxes are the masks' tight boxes
        and scores are 1. Ignore regions (class 10) are skipped.
    """
    inverse = None if class_map is None else {int(v): int(k) for k, v in class_map.items()}
    rows: dict[int, list] = defaultdict(list)
    size = (0, 0)
    for n, line in enumerate(_lines(path), 1):
        cols = line.split()
        if len(cols) != 6:
            raise UserError(f"{path}:{n}: expected 6 space-separated columns (frame id class H W rle)")
        size = (int(cols[3]), int(cols[4]))
        if int(cols[2]) != 10:
            rows[int(cols[0]) - frame_offset].append(cols)
    for f in _frames(rows, num_frames):
        r = rows.get(f, [])
        masks = np.zeros((len(r), *size), dtype=bool)
        for i, c in enumerate(r):
            masks[i] = decode_rle({"size": [int(c[3]), int(c[4])], "counts": c[5]})
        classes = [int(c[2]) if inverse is None else inverse[int(c[2])] for c in r]
        ids = [int(c[1]) % 1000 if decode_class_in_id else int(c[1]) for c in r]
        yield FrameResult(f, size, track_ids=ids, boxes_xyxy=mask_boxes_xyxy(masks),
                          scores=np.ones(len(r)), class_ids=classes, masks=masks)


def iter_davis_pngs(folder: str | Path) -> Iterator[FrameResult]:
    """Read DAVIS-style indexed PNGs (pixel value = object id, 0 = background).

    Frames are the folder's PNGs in sorted order; ``frame_index`` is the file's number when
    the stem is numeric, else its position. Boxes are the masks' tight boxes; scores are 1.
    """
    files = sorted(Path(folder).glob("*.png"))
    if not files:
        raise UserError(f"No PNG files in {folder}")
    for pos, file in enumerate(files):
        index = np.array(Image.open(file))
        if index.ndim != 2:
            raise UserError(f"{file} is not an indexed (palette or grey) PNG; got shape {index.shape}")
        ids = np.unique(index)
        ids = ids[ids != 0]
        masks = index[None] == ids[:, None, None]
        yield FrameResult(int(file.stem) if file.stem.isdigit() else pos, index.shape, track_ids=ids,
                          boxes_xyxy=mask_boxes_xyxy(masks), scores=np.ones(len(ids)),
                          class_ids=np.zeros(len(ids)), masks=masks)


def read_pytracking_txt(path: str | Path) -> np.ndarray:
    """Read a SOT result file (one ``x y w h`` per line; tab, comma or space separated).

    Returns:
        (N, 4) float64 boxes as x, y, width, height.
    """
    rows = [re.split(r"[,\s]+", ln.strip()) for ln in _lines(path)]
    bad = [i + 1 for i, r in enumerate(rows) if len(r) != 4]
    if bad:
        raise UserError(f"{path}: line {bad[0]} does not have 4 numbers (x y w h)")
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def _load_json_list(path: str | Path) -> list:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Results file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".partial.json") and not text.rstrip().endswith("]"):
        text = text.rstrip().rstrip(",") + "\n]"  # a killed run's array, cut after its last whole entry
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}); was the run that wrote it "
                        "cut off?") from None
    if not isinstance(data, list):
        raise UserError(f"{path}: expected a JSON list of results; got {type(data).__name__}")
    return data


def _inverse_category(category_map: Mapping[int, int] | None):
    if category_map is None:
        return lambda c: int(c) - 1
    inverse = {int(v): int(k) for k, v in category_map.items()}
    return lambda c: inverse[int(c)]


def _frame_from_entries(frame_index: int, entries: list[dict], to_class, size=None) -> FrameResult:
    masks = None
    if entries and all("segmentation" in e for e in entries):
        masks = np.stack([decode_rle(e["segmentation"]) for e in entries])
        size = masks.shape[1:]
    return FrameResult(
        frame_index, tuple(size or (0, 0)), track_ids=[e["track_id"] for e in entries],
        boxes_xyxy=np.array([_box_xyxy(e["bbox"]) for e in entries]).reshape(-1, 4),
        scores=[e["score"] for e in entries], class_ids=[to_class(e["category_id"]) for e in entries],
        masks=masks,
    )


def read_coco_tracks(path: str | Path, *, category_map: Mapping[int, int] | None = None) -> dict[int, list]:
    """Read a json written by ``CocoTrackWriter``.

    Returns:
        video_id -> FrameResults sorted by frame (only frames that have entries).
    """
    grouped: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for e in _load_json_list(path):
        grouped[int(e.get("video_id", 1))][int(e.get("frame_index", e.get("image_id", 0)))].append(e)
    to_class = _inverse_category(category_map)
    return {v: [_frame_from_entries(f, frames[f], to_class) for f in sorted(frames)]
            for v, frames in grouped.items()}


def read_youtube_vis(path: str | Path, *, category_map: Mapping[int, int] | None = None) -> dict[int, list]:
    """Read a YouTube-VIS results json (as written by ``YouTubeVISWriter``).

    Track ids come from ``track_id`` when present, else from the entry's position (1, 2, ...).

    Returns:
        video_id -> one FrameResult per frame of the video (boxes from the masks).
    """
    to_class = _inverse_category(category_map)
    videos: dict[int, list] = defaultdict(list)
    for e in _load_json_list(path):
        videos[int(e["video_id"])].append(e)
    out = {}
    for vid, tracks in videos.items():
        n = max(len(t["segmentations"]) for t in tracks)
        size = next((s["size"] for t in tracks for s in t["segmentations"] if s), (0, 0))
        frames = []
        for f in range(n):
            present = [(k, t) for k, t in enumerate(tracks, 1)
                       if f < len(t["segmentations"]) and t["segmentations"][f]]
            masks = np.zeros((len(present), *size), dtype=bool)
            for i, (_, t) in enumerate(present):
                masks[i] = decode_rle(t["segmentations"][f])
            frames.append(FrameResult(
                f, tuple(size), track_ids=[t.get("track_id", k) for k, t in present],
                boxes_xyxy=mask_boxes_xyxy(masks), scores=[t["score"] for _, t in present],
                class_ids=[to_class(t["category_id"]) for _, t in present], masks=masks,
            ))
        out[vid] = frames
    return out
