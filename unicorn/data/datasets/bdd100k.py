"""BDD100K box tracking (``box_track``) and segmentation tracking (``seg_track``) in Scalabel json."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from unicorn.data.datasets.base import Benchmark, Sequence, TrackAnnotations
from unicorn.errors import UserError

# Leaf classes in the order of the official box_track / seg_track configs, and their groups.
BDD_CLASSES = ("pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")
BDD_SUPER_CLASSES = {"human": ("pedestrian", "rider"), "vehicle": ("car", "truck", "bus", "train"),
                     "bike": ("motorcycle", "bicycle")}
BDD_IMAGE_SIZE = (720, 1280)  # (height, width) of every BDD100K frame


def load_scalabel_json(path: str | Path) -> list[dict]:
    """Frames of one Scalabel json file (a list of frames, or a dict with a ``frames`` list)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except json.JSONDecodeError as err:
        raise UserError(f"{path}:{err.lineno}: not valid json ({err.msg})") from None
    frames = data.get("frames") if isinstance(data, dict) else data
    if not isinstance(frames, list) or not all(isinstance(f, dict) for f in frames):
        raise UserError(f"{path}: expected a Scalabel json (a list of frames or {{'frames': [...]}})")
    return frames


def scalabel_to_tracks(frames: list[dict], source: str, kind: str = "box",
                       image_size: tuple[int, int] = BDD_IMAGE_SIZE) -> dict[str, tuple[TrackAnnotations, list[int]]]:
    """Convert Scalabel frames into per-video track rows.

    Row frames are ``frameIndex + 1``. Ids are integers: when any id of a video is not a
    digit string, all ids are renumbered 1.. in sorted string order (scalabel's rule).
    Polygons (``poly2d``) are rasterised as scalabel does (matplotlib, no antialiasing).

    Args:
        frames: the Scalabel frames (any number of videos).
        source: the file name, for error messages.
        kind: "box" (labels need ``box2d``) or "mask" (labels need ``rle`` or ``poly2d``).
        image_size: (height, width) used to rasterise polygons.

    Returns:
        ``{video name: (rows, sorted frame indices of the video)}``; rows have
        ``box_format="xyxy"`` (the raw ``box2d`` values), ``class_names`` with the categories,
        ``ignored`` set for crowd / ignored labels and, for masks, ``rles``.
    """
    videos: dict[str, list[dict]] = defaultdict(list)
    for k, frame in enumerate(frames):
        videos[str(frame.get("videoName") or "video")].append((k, frame))
    out = {}
    for video, items in videos.items():
        items.sort(key=lambda kf: _frame_index(kf[1], kf[0]))
        out[video] = _video_rows([f for _, f in items], [_frame_index(f, k) for k, f in items],
                                 source, kind, image_size)
    return out


def _frame_index(frame: dict, default: int) -> int:
    value = frame.get("frameIndex", frame.get("index"))
    return int(value) if value is not None else default


def _video_rows(frames, indices, source, kind, image_size) -> tuple[TrackAnnotations, list[int]]:
    names = list(BDD_CLASSES)
    labels = [(i, lab) for i, f in zip(indices, frames) for lab in (f.get("labels") or [])]
    raw_ids = [str(lab.get("id", "")) for _, lab in labels]
    id_map = None if all(x.isdigit() for x in raw_ids) else {s: k + 1 for k, s in enumerate(sorted(set(raw_ids)))}
    rows, rles = [], []
    raster = None
    for (index, lab), raw in zip(labels, raw_ids):
        box, rle = lab.get("box2d"), lab.get("rle")
        if kind == "box" and box is None or kind == "mask" and rle is None and not lab.get("poly2d"):
            continue
        if raw == "":
            raise UserError(f"{source}: a label in frame {index} has no 'id'")
        cat = str(lab.get("category"))
        if cat not in names:
            names.append(cat)
        attrs = lab.get("attributes") or {}
        ignored = bool(attrs.get("crowd") or attrs.get("Crowd") or attrs.get("ignored"))
        if kind == "mask":
            if rle is None:
                raster = raster or PolygonRasterizer(*image_size)
                rle = raster.to_rle(lab["poly2d"])
            rles.append({"size": list(rle["size"]), "counts": rle["counts"]})
        coords = [box[k] for k in ("x1", "y1", "x2", "y2")] if box else [np.nan] * 4
        rows.append([index + 1, id_map[raw] if id_map else int(raw), names.index(cat), ignored, *coords])
    arr = np.asarray(rows, dtype=np.float64).reshape(-1, 8)
    tracks = TrackAnnotations(frames=arr[:, 0], ids=arr[:, 1], boxes=arr[:, 4:], classes=arr[:, 2],
                              ignored=arr[:, 3] > 0, rles=rles if kind == "mask" else None, box_format="xyxy",
                              class_names=tuple(names), source=source)
    return tracks, list(indices)


class PolygonRasterizer:
    """Rasterise Scalabel ``poly2d`` lists into COCO RLE masks, as scalabel's ``poly2ds_to_mask`` does.

    Matplotlib's Agg renderer fills the (Bezier) paths without antialiasing on a figure of the
    image size at 100 dpi with the y axis inverted; the figure is reused between calls.

    Args:
        height: image height in pixels.
        width: image width in pixels.
    """

    def __init__(self, height: int, width: int) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.size = (height, width)
        self.fig = Figure(facecolor="0", dpi=100)
        self.canvas = FigureCanvasAgg(self.fig)
        self.fig.set_size_inches(width / 100, height / 100)
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.axis("off")
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_facecolor((0, 0, 0, 0))
        self.ax.invert_yaxis()

    def to_mask(self, polygons: list[dict]) -> np.ndarray:
        """(H, W) uint8 mask (0 / 255) of the union of the polygons."""
        from matplotlib.patches import PathPatch
        from matplotlib.path import Path as MplPath

        patches = []
        for poly in polygons:
            points = [tuple(v) for v in poly["vertices"]]
            codes = [MplPath.CURVE4 if t == "C" else MplPath.LINETO for t in poly.get("types", "L" * len(points))]
            codes[0] = MplPath.MOVETO
            closed = poly.get("closed", True)
            if closed:
                points.append(points[0])
                codes.append(MplPath.LINETO)
            patch = PathPatch(MplPath(points, codes), facecolor=(1, 1, 1) if closed else "none",
                              edgecolor=(1, 1, 1), lw=0 if closed else 1, alpha=1, antialiased=False, snap=True)
            patches.append(self.ax.add_patch(patch))
        self.canvas.draw()
        mask = np.asarray(self.canvas.buffer_rgba())[..., 0].copy()
        for patch in patches:
            patch.remove()
        return mask

    def to_rle(self, polygons: list[dict]) -> dict:
        """COCO compressed RLE (``counts`` as str) of the union of the polygons."""
        from pycocotools import mask as mask_utils

        rle = mask_utils.encode(np.asfortranarray(self.to_mask(polygons)[:, :, None]))[0]
        return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def read_scalabel(path: str | Path, kind: str = "box",
                  image_size: tuple[int, int] = BDD_IMAGE_SIZE) -> dict[str, tuple[TrackAnnotations, list[int]]]:
    """Read a Scalabel json file, or every ``*.json`` of a folder, into per-video rows.

    See ``scalabel_to_tracks`` for the conversion. A video found in two files is an error.
    """
    path = Path(path)
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise UserError(f"{path}: no Scalabel .json file in this folder")
    out: dict[str, tuple[TrackAnnotations, list[int]]] = {}
    for file in files:
        for video, value in scalabel_to_tracks(load_scalabel_json(file), str(file), kind, image_size).items():
            if video in out:
                raise UserError(f"{file}: video {video} also appears in {out[video][0].source}")
            out[video] = value
    return out


class BDD100K(Benchmark):
    """BDD100K tracking labels in Scalabel json: one file per video.

    Layout: ``<root>/labels/box_track_20/<split>/*.json`` (boxes) and
    ``<root>/labels/seg_track_20/rles/<split>/*.json`` (masks; ``polygons/`` works too). ``root``
    may also be one json file or a folder of json files.

    Args:
        root: dataset folder or file.
        kind: "box" (box_track) or "mask" (seg_track).
        split: "val" (default) or "train".
    """

    task = "mot"
    default_root = "datasets/bdd"
    layout_hint = "<root>/labels/box_track_20/val/<video>.json or <root>/labels/seg_track_20/rles/val/<video>.json"

    def __init__(self, root=None, kind: str = "box", split: str = "val") -> None:
        self.name = "BDD100K box_track" if kind == "box" else "BDD100K seg_track"
        super().__init__(root)
        self.kind, self.split = kind, split
        self.task = "mot" if kind == "box" else "mots"
        self._videos: dict | None = None

    def label_path(self) -> Path:
        """The json file or folder holding the labels."""
        if self.root.is_file():
            return self.root
        sub = (["labels/box_track_20", "box_track_20"] if self.kind == "box" else
               ["labels/seg_track_20/rles", "labels/seg_track_20/polygons", "seg_track_20/rles"])
        for candidate in sub:
            if (self.root / candidate / self.split).is_dir():
                return self.root / candidate / self.split
        if any(self.root.glob("*.json")):
            return self.root
        raise self.missing(self.root / sub[0] / self.split, "the label folder")

    def videos(self) -> dict[str, tuple[TrackAnnotations, list[int]]]:
        """All videos' rows, read once."""
        if self._videos is None:
            self._videos = read_scalabel(self.label_path(), self.kind)
        return self._videos

    def sequence_names(self) -> list[str]:
        return sorted(self.videos())

    def load(self, name: str) -> Sequence:
        tracks, indices = self.videos()[name]
        return Sequence(name=name, num_frames=len(indices), image_size=BDD_IMAGE_SIZE, tracks=tracks,
                        extra={"frame_indices": indices, "kind": self.kind})
