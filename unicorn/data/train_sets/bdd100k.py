"""BDD100K training data in Scalabel json: box_track_20 and seg_track_20 videos, det_20 and
ins_seg still images. Classes are the 8 tracking classes (``BDD_CLASSES`` order, 0..7); other
categories and crowd / ignored labels are left out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unicorn.data.datasets.bdd100k import BDD_CLASSES, load_scalabel_json, scalabel_to_tracks
from unicorn.data.train_sets.base import TableVideo, TrainSet, Video, valid_boxes


def _frame_index(frame: dict, default: int) -> int:
    """The frame's index as ``scalabel_to_tracks`` reads it (``frameIndex``, else ``index``, else its position)."""
    value = frame.get("frameIndex", frame.get("index"))
    return int(value) if value is not None else default


def _rle_boxes(rles: list[dict]) -> np.ndarray:
    from pycocotools import mask as mask_utils

    if not rles:
        return np.zeros((0, 4))
    coded = [{"size": r["size"], "counts": r["counts"].encode() if isinstance(r["counts"], str) else r["counts"]}
             for r in rles]
    boxes = np.asarray(mask_utils.toBbox(coded), np.float64).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    return boxes


class BDDVideos(TrainSet):
    """BDD100K tracking videos, one Scalabel json per video, all read at construction (as upstream).

    Args:
        root: the BDD100K folder.
        split: "train" (default) or "val".
    """

    name = "BDD100K box_track"
    default_root = "datasets/bdd"
    layout_hint = "<root>/labels/box_track_20/train/<video>.json and <root>/images/track/train/<video>/<name>.jpg"
    default_max_gap = 3  # upstream (qdtrack's sampler): reference within +-3 frames
    kind = "box"
    label_dir = "labels/box_track_20"
    image_dir = "images/track"

    def __init__(self, root: str | Path | None = None, split: str = "train") -> None:
        super().__init__(root)
        labels = self.root / self.label_dir / split
        files = sorted(labels.glob("*.json")) if labels.is_dir() else []
        if not files:
            raise self.missing(labels, "Scalabel json files")
        self.videos: list[TableVideo] = []
        for file in files:
            frames = load_scalabel_json(file)
            names = {(str(f.get("videoName") or "video"), _frame_index(f, k)): str(f.get("name", ""))
                     for k, f in enumerate(frames)}
            for video, (tracks, indices) in scalabel_to_tracks(frames, str(file), self.kind).items():
                keep = ~tracks.ignored & (tracks.classes < len(BDD_CLASSES))
                tracks = tracks.select(keep)
                boxes = tracks.boxes_xyxy if self.kind == "box" else _rle_boxes(tracks.rles)
                ok = valid_boxes(boxes, self.skips, str(file))
                paths = [self.root / self.image_dir / split / video / names[(video, i)] for i in indices]
                t = np.searchsorted(np.asarray(indices), tracks.frames[ok] - 1)
                segs = None if tracks.rles is None else [r for r, k in zip(tracks.rles, ok) if k]
                self.videos.append(TableVideo(video, paths, len(indices), t, tracks.ids[ok], tracks.classes[ok],
                                              boxes[ok], segs))

    def __len__(self) -> int:
        return len(self.videos)

    def video(self, index: int) -> Video:
        return self.videos[index]


class BDDBoxTrack(BDDVideos):
    """BDD100K ``box_track_20`` videos (MOT)."""


class BDDSegTrack(BDDVideos):
    """BDD100K ``seg_track_20`` videos with RLE masks (MOTS); boxes are the masks' boxes."""

    name = "BDD100K seg_track"
    layout_hint = "<root>/labels/seg_track_20/rles/train/<video>.json and " \
                  "<root>/images/seg_track_20/train/<video>/<name>.jpg"
    kind = "mask"
    label_dir = "labels/seg_track_20/rles"
    image_dir = "images/seg_track_20"
    has_masks = True


class BDDImages(TrainSet):
    """BDD100K still images from one Scalabel json (``det_20`` boxes or ``ins_seg`` RLE masks).

    Args:
        root: the BDD100K folder.
        split: "train" (default) or "val".
    """

    name = "BDD100K det"
    default_root = "datasets/bdd"
    layout_hint = "<root>/labels/det_20/det_train.json and <root>/images/100k/train/<name>.jpg"
    is_video = False
    kind = "box"
    label_file = "labels/det_20/det_{split}.json"
    image_dir = "images/100k"

    def __init__(self, root: str | Path | None = None, split: str = "train") -> None:
        super().__init__(root)
        file = self.root / self.label_file.format(split=split)
        if not file.is_file():
            raise self.missing(file, "the label file")
        self.image_root = self.root / self.image_dir / split
        self.items: list[tuple[str, np.ndarray, np.ndarray, list | None]] = []
        for frame in load_scalabel_json(file):
            rows, segs = [], []
            for lab in frame.get("labels") or []:
                attrs = lab.get("attributes") or {}
                cat = lab.get("category")
                if cat not in BDD_CLASSES or attrs.get("crowd") or attrs.get("ignored"):
                    continue
                if self.kind == "box" and lab.get("box2d"):
                    b = lab["box2d"]
                    rows.append([BDD_CLASSES.index(cat), b["x1"], b["y1"], b["x2"], b["y2"]])
                elif self.kind == "mask" and lab.get("rle"):
                    rows.append([BDD_CLASSES.index(cat), *_rle_boxes([lab["rle"]])[0]])
                    segs.append(lab["rle"])
            arr = np.asarray(rows, np.float64).reshape(-1, 5)
            ok = valid_boxes(arr[:, 1:], self.skips, f"{file} {frame.get('name')}")
            if ok.any():
                self.items.append((str(frame.get("name")), arr[ok, 1:], arr[ok, 0].astype(np.int64),
                                   [s for s, k in zip(segs, ok) if k] if self.kind == "mask" else None))
        if not self.items:
            raise self.missing(file, "images with labels of the 8 tracking classes")

    def __len__(self) -> int:
        return len(self.items)

    def video(self, index: int) -> Video:
        name, boxes, classes, segs = self.items[index]
        n = len(boxes)
        return TableVideo(name, [self.image_root / name], 1, np.zeros(n), np.arange(1, n + 1), classes, boxes, segs)


class BDDDet(BDDImages):
    """BDD100K ``det_20`` images (MOT as still-image pairs)."""


class BDDInsSeg(BDDImages):
    """BDD100K ``ins_seg`` images with RLE masks (MOTS as still-image pairs)."""

    name = "BDD100K ins_seg"
    layout_hint = "<root>/labels/ins_seg/rles/ins_seg_train.json and <root>/images/10k/train/<name>.jpg"
    kind = "mask"
    label_file = "labels/ins_seg/rles/ins_seg_{split}.json"
    image_dir = "images/10k"
    has_masks = True
