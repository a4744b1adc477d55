"""Generated videos with exact labels for all four tasks: textured objects moving over a textured
background, with scale change, occlusion (by each other and by foreground posts), look-alike
distractors and camera motion.

Every frame is rendered on the fly from a few parameters drawn at construction, so a sequence is
deterministic given its seed and cheap to keep. Boxes are the tight boxes of the *visible*
masks (what is left after occlusion and the image border). Real imagery plugs in through
``appearance`` (see ``synthetic_appearance.ImageAppearance``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from unicorn.data.pairs import PairDataset
from unicorn.data.skips import SkipCounter
from unicorn.data.synthetic_appearance import (
    AppearanceSource,
    Cutout,
    ImageAppearance,
    ProceduralAppearance,
    pattern_texture,
)
from unicorn.data.train_sets.base import FrameLabels, TrainSet, Video
from unicorn.data.transforms import PairTransform


@dataclass
class SyntheticSequence:
    """A generated video; frames and masks are rendered on demand.

    Attributes:
        size_hw: (H, W) of the frames.
        num_frames: T.
        track_ids: (K,) int64 identities 1..K.
        classes: (K,) int64 classes (the kind of shape / the cut-out group).
        groups: (K,) int64 appearance group; a distractor shares the group of the object it copies.
        boxes_xywh: (T, K, 4) float32 tight boxes of the visible masks (zeros where not visible).
        visibility: (T, K) float32 visible pixels / pixels of the whole object.
        visible: (T, K) bool at least ``min_visible_pixels`` visible pixels.
        camera_xy: (T, 2) int64 camera offset of each frame in background pixels.
    """

    size_hw: tuple[int, int]
    num_frames: int
    track_ids: np.ndarray
    classes: np.ndarray
    groups: np.ndarray
    camera_xy: np.ndarray
    background: np.ndarray = field(repr=False)
    cutouts: list[Cutout] = field(repr=False)
    centers: np.ndarray = field(repr=False)  # (T, K, 2) object centres in background pixels
    scales: np.ndarray = field(repr=False)  # (T, K) size factor
    depth_order: np.ndarray = field(repr=False)  # (K,) object indices, back to front
    occluders: list[tuple[int, int, np.ndarray]] = field(repr=False)  # (x, y, texture) in background pixels
    min_visible_pixels: int = 16
    _geometry: dict = field(default_factory=dict, init=False, repr=False)
    _rois: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)

    def frame_geometry(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels of frame ``t`` (computed once): boxes_xywh (K, 4), visibility (K,), visible (K,) bool."""
        if t not in self._geometry:
            k = len(self.track_ids)
            boxes, visibility, pixels = np.zeros((k, 4), np.float32), np.zeros(k, np.float32), np.zeros(k, np.int64)
            for obj, (region, mine, full) in self.visible_rois(t).items():
                count = int(mine.sum()) if region is not None else 0
                if count == 0:
                    continue
                rows, cols = np.flatnonzero(mine.any(axis=1)), np.flatnonzero(mine.any(axis=0))
                boxes[obj] = (region[1].start + cols[0], region[0].start + rows[0], cols[-1] - cols[0] + 1,
                              rows[-1] - rows[0] + 1)
                visibility[obj], pixels[obj] = count / max(full, 1), count
            self._geometry[t] = (boxes, visibility, pixels >= self.min_visible_pixels)
        return self._geometry[t]

    @property
    def boxes_xywh(self) -> np.ndarray:
        """(T, K, 4) float32 tight boxes of the visible masks (zeros where not visible)."""
        return np.stack([self.frame_geometry(t)[0] for t in range(self.num_frames)])

    @property
    def visibility(self) -> np.ndarray:
        """(T, K) float32 visible pixels / pixels of the whole object."""
        return np.stack([self.frame_geometry(t)[1] for t in range(self.num_frames)])

    @property
    def visible(self) -> np.ndarray:
        """(T, K) bool: at least ``min_visible_pixels`` visible pixels."""
        return np.stack([self.frame_geometry(t)[2] for t in range(self.num_frames)])

    def on_screen(self) -> np.ndarray:
        """(T, K) bool: the object's box overlaps the frame (cheap; no masks are computed)."""
        h, w = self.size_hw
        sizes = np.asarray([c.alpha.shape[::-1] for c in self.cutouts], np.float64)[None] * self.scales[..., None]
        centers = self.centers - self.camera_xy[:, None, :]
        low, high = centers - sizes / 2, centers + sizes / 2
        return (high[..., 0] > 0) & (low[..., 0] < w) & (high[..., 1] > 0) & (low[..., 1] < h)

    def _placements(self, t: int) -> dict[int, tuple[tuple[slice, slice] | None, tuple[slice, slice], np.ndarray]]:
        """Per object: (canvas region or None when off-screen, patch region, resized alpha)."""
        h, w = self.size_hw
        cam = self.camera_xy[t]
        out = {}
        for obj in range(len(self.track_ids)):
            cut = self.cutouts[obj]
            ph = max(2, round(cut.alpha.shape[0] * self.scales[t, obj]))
            pw = max(2, round(cut.alpha.shape[1] * self.scales[t, obj]))
            alpha = cv2.resize(cut.alpha, (pw, ph), interpolation=cv2.INTER_LINEAR)
            x0 = round(self.centers[t, obj, 0] - cam[0] - pw / 2)
            y0 = round(self.centers[t, obj, 1] - cam[1] - ph / 2)
            out[obj] = _clip_region(x0, y0, pw, ph, w, h) + (alpha,)
        return out

    def visible_rois(self, t: int) -> dict[int, tuple[tuple[slice, slice] | None, np.ndarray | None, int]]:
        """Per object index: (canvas region or None, its visible mask over that region, area of the whole object).

        The visible mask is the object's alpha >= 128 minus objects in front of it and the occluders.
        """
        if t in self._rois:
            return self._rois[t]
        placements = self._placements(t)
        occluders = [region for region, _ in self._occluder_regions(t)]
        order = [int(o) for o in self.depth_order]
        out = {}
        for i, obj in enumerate(order):
            region, patch, alpha = placements[obj]
            full = int((alpha >= 128).sum())
            if region is None:
                out[obj] = (None, None, full)
                continue
            mine = alpha[patch] >= 128
            covers = [(placements[o][0], placements[o][2][placements[o][1]] >= 128) for o in order[i + 1:]]
            covers += [(r, None) for r in occluders]
            for other, other_mask in covers:
                if other is None:
                    continue
                y0, y1 = max(region[0].start, other[0].start), min(region[0].stop, other[0].stop)
                x0, x1 = max(region[1].start, other[1].start), min(region[1].stop, other[1].stop)
                if y1 <= y0 or x1 <= x0:
                    continue
                mine_sl = (slice(y0 - region[0].start, y1 - region[0].start), slice(x0 - region[1].start,
                                                                                   x1 - region[1].start))
                if other_mask is None:
                    mine[mine_sl] = False
                else:
                    mine[mine_sl] &= ~other_mask[y0 - other[0].start:y1 - other[0].start,
                                                 x0 - other[1].start:x1 - other[1].start]
            out[obj] = (region, mine, full)
        self._rois[t] = out
        while len(self._rois) > 4:
            self._rois.popitem(last=False)
        return out

    def label_map(self, t: int) -> np.ndarray:
        """(H, W) int32: 0 background / occluder, ``k + 1`` where object index k is visible."""
        labels = np.zeros(self.size_hw, np.int32)
        for obj, (region, mine, _) in self.visible_rois(t).items():
            if region is not None:
                labels[region][mine] = obj + 1
        return labels

    def masks(self, t: int) -> np.ndarray:
        """(K, H, W) uint8 0/1 visible mask of every object in frame ``t``."""
        out = np.zeros((len(self.track_ids),) + tuple(self.size_hw), np.uint8)
        for obj, (region, mine, _) in self.visible_rois(t).items():
            if region is not None:
                out[obj][region] = mine
        return out

    def _occluder_regions(self, t: int) -> list[tuple[tuple[slice, slice], np.ndarray]]:
        h, w = self.size_hw
        cam = self.camera_xy[t]
        out = []
        for x, y, tex in self.occluders:
            region, patch = _clip_region(x - int(cam[0]), y - int(cam[1]), tex.shape[1], tex.shape[0], w, h)
            if region is not None:
                out.append((region, tex[patch]))
        return out

    def frame(self, t: int) -> np.ndarray:
        """(H, W, 3) uint8 BGR frame ``t``."""
        h, w = self.size_hw
        cx, cy = (int(v) for v in self.camera_xy[t])
        canvas = self.background[cy:cy + h, cx:cx + w].astype(np.float32)
        placements = self._placements(t)
        for obj in self.depth_order:
            region, patch, alpha = placements[obj]
            if region is None:
                continue
            cut = self.cutouts[obj]
            image = cv2.resize(cut.image, (alpha.shape[1], alpha.shape[0]), interpolation=cv2.INTER_LINEAR)
            a = (alpha[patch].astype(np.float32) / 255)[..., None]
            canvas[region] = canvas[region] * (1 - a) + image[patch] * a
        for region, tex in self._occluder_regions(t):
            canvas[region] = tex
        return canvas.astype(np.uint8)

    def frames(self) -> list[np.ndarray]:
        """All T frames."""
        return [self.frame(t) for t in range(self.num_frames)]


def _clip_region(x0: int, y0: int, pw: int, ph: int, w: int, h: int):
    """(canvas slices, patch slices) of a pw x ph patch at (x0, y0) clipped to a w x h canvas; canvas None if off."""
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + pw, w), min(y0 + ph, h)
    if cx1 <= cx0 or cy1 <= cy0:
        return None, (slice(0, 0), slice(0, 0))
    return (slice(cy0, cy1), slice(cx0, cx1)), (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))


def make_sequence(seed: int | Sequence[int], num_frames: int = 24, size_hw: tuple[int, int] = (320, 512),
                  num_objects: int = 3, *, num_distractors: int = 1, num_classes: int = 3, num_occluders: int = 1,
                  camera_motion: bool = True, size_range: tuple[float, float] = (0.14, 0.32),
                  scale_change: float = 0.4, speed_range: tuple[float, float] = (0.006, 0.025),
                  appearance: AppearanceSource | None = None, min_visible_pixels: int = 16) -> SyntheticSequence:
    """Generate a video.

    Args:
        seed: random seed (an int or a sequence of ints, e.g. ``(dataset_seed, index)``).
        num_frames: T.
        size_hw: (H, W) of the frames.
        num_objects: objects with their own look.
        num_distractors: extra objects that copy the look (and class) of one of the others,
            with a slight colour change.
        num_classes: object classes (procedural: the kind of shape).
        num_occluders: foreground posts (not labelled) that objects pass behind.
        camera_motion: pan the view over a larger background.
        size_range: object size (longer side) as a fraction of the shorter frame side.
        scale_change: objects' log-size varies by up to this amplitude over the video.
        speed_range: object speed as a fraction of the shorter frame side per frame.
        appearance: background / object source (default: procedural textures).
        min_visible_pixels: an object is visible in a frame with at least this many visible pixels.
    """
    rng = np.random.default_rng(seed)
    appearance = appearance or ProceduralAppearance()
    h, w = size_hw
    side = min(h, w)
    margin = round(0.1 * max(h, w)) if camera_motion else 0
    background = appearance.background(rng, (h + 2 * margin, w + 2 * margin))
    t = np.arange(num_frames, dtype=np.float64)
    camera = np.full((num_frames, 2), margin, np.int64)
    if camera_motion:
        for axis in range(2):
            amp, period, phase = rng.uniform(0.3, 1.0), rng.uniform(1.0, 3.0) * num_frames, rng.uniform(0, 2 * np.pi)
            camera[:, axis] = np.round(margin + margin * amp * np.sin(2 * np.pi * t / period + phase))
    k = num_objects + num_distractors
    classes = rng.integers(0, num_classes, num_objects)
    cutouts, groups = [], []
    for obj in range(k):
        if obj < num_objects:
            size = max(8, round(side * rng.uniform(*size_range)))
            cutouts.append(appearance.cutout(rng, int(classes[obj]), size))
            groups.append(obj)
        else:
            src = int(rng.integers(num_objects))
            gain = rng.uniform(0.85, 1.15, 3)
            image = np.clip(cutouts[src].image * gain, 0, 255).astype(np.uint8)
            cutouts.append(Cutout(image, cutouts[src].alpha))
            classes = np.append(classes, classes[src])
            groups.append(src)
    centers = _trajectories(rng, k, num_frames, (h, w), margin, side * np.asarray(speed_range))
    amp = rng.uniform(0.25, 1.0, k) * scale_change
    period = rng.uniform(1.0, 3.0, k) * num_frames
    phase = rng.uniform(0, 2 * np.pi, k)
    scales = np.exp(amp * np.sin(2 * np.pi * t[:, None] / period + phase))
    occluders = []
    for _ in range(num_occluders):
        vertical = rng.random() < 0.7
        thick = max(4, round(side * rng.uniform(0.04, 0.09)))
        length = round((h if vertical else w) * rng.uniform(0.6, 1.0))
        tex = pattern_texture(rng, (length, thick) if vertical else (thick, length))
        x = int(rng.integers(margin + w // 6, margin + 5 * w // 6))
        y = int(rng.integers(margin + h // 6, margin + 5 * h // 6))
        occluders.append((x - tex.shape[1] // 2, y - tex.shape[0] // 2, tex))
    return SyntheticSequence(size_hw=(h, w), num_frames=num_frames, track_ids=np.arange(1, k + 1),
                             classes=np.asarray(classes, np.int64), groups=np.asarray(groups, np.int64),
                             camera_xy=camera, background=background, cutouts=cutouts, centers=centers,
                             scales=scales, depth_order=rng.permutation(k), occluders=occluders,
                             min_visible_pixels=min_visible_pixels)


def _trajectories(rng: np.random.Generator, k: int, t: int, size_hw: tuple[int, int], margin: int,
                  speed_range: np.ndarray) -> np.ndarray:
    """(T, K, 2) centres in background pixels: constant speed, slowly turning, bouncing off the view."""
    h, w = size_hw
    low = np.array([margin + 0.05 * w, margin + 0.05 * h])
    high = np.array([margin + 0.95 * w, margin + 0.95 * h])
    pos = low + rng.random((k, 2)) * (high - low)
    angle = rng.uniform(0, 2 * np.pi, k)
    speed = rng.uniform(*speed_range, k)
    turn = rng.uniform(-0.08, 0.08, k)
    out = np.zeros((t, k, 2))
    for f in range(t):
        out[f] = pos
        vel = np.stack([np.cos(angle), np.sin(angle)], 1) * speed[:, None]
        pos = pos + vel
        for axis in range(2):
            over = (pos[:, axis] < low[axis]) | (pos[:, axis] > high[axis])
            pos[over, axis] = np.clip(pos[over, axis], low[axis], high[axis])
            angle[over] = np.pi - angle[over] if axis == 0 else -angle[over]
        angle += turn
    return out


class SyntheticVideo(Video):
    """A ``SyntheticSequence`` seen as a training video (objects present where visible)."""

    def __init__(self, name: str, sequence: SyntheticSequence) -> None:
        self.name, self.sequence, self.num_frames = name, sequence, sequence.num_frames

    def usable_frames(self) -> np.ndarray:
        """Frames with an object on screen (an object hidden behind others is found out by ``load``)."""
        return np.flatnonzero(self.sequence.on_screen().any(axis=1))

    def load(self, t: int, with_masks: bool = False) -> FrameLabels:
        seq = self.sequence
        boxes, _, visible = seq.frame_geometry(t)
        keep = np.flatnonzero(visible)
        boxes = boxes[keep].copy()
        boxes[:, 2:] += boxes[:, :2]
        masks = seq.masks(t)[keep] if with_masks else None
        return FrameLabels(seq.frame(t), boxes, seq.track_ids[keep], seq.classes[keep], masks)


class SyntheticTrainSet(TrainSet):
    """``num_sequences`` generated videos (sequence ``i`` from seed ``(seed, i)``), with masks.

    Args:
        num_sequences: number of videos.
        seed: base seed.
        max_gap: default frame gap of MOT pairs (None: any two frames).
        cache_size: generated sequences kept in memory.
        backgrounds: a folder of background images (real imagery, see ``ImageAppearance``).
        cutouts: a folder of RGBA object cut-outs.
        real_fraction: share of backgrounds / objects drawn from those folders (the rest procedural).
        **sequence_kwargs: arguments of ``make_sequence`` (num_frames, size_hw, num_objects, ...).
    """

    name = "synthetic"
    has_masks = True

    def __init__(self, num_sequences: int, seed: int = 0, max_gap: int | None = None, cache_size: int = 8,
                 backgrounds: str | None = None, cutouts: str | None = None, real_fraction: float = 1.0,
                 **sequence_kwargs) -> None:
        if backgrounds is not None or cutouts is not None:
            sequence_kwargs["appearance"] = ImageAppearance(backgrounds, cutouts,
                                                            sequence_kwargs.get("num_classes", 3), real_fraction)
        for key in ("size_range", "speed_range"):  # YAML gives lists
            if key in sequence_kwargs:
                sequence_kwargs[key] = tuple(sequence_kwargs[key])
        self.root = "<generated>"
        self.skips = SkipCounter(self.name)
        self.num_sequences, self.seed, self.default_max_gap = int(num_sequences), int(seed), max_gap
        self.sequence_kwargs, self.cache_size = sequence_kwargs, cache_size
        self._cache: OrderedDict[int, SyntheticSequence] = OrderedDict()

    def __len__(self) -> int:
        return self.num_sequences

    def sequence(self, index: int) -> SyntheticSequence:
        """Sequence ``index`` (generated once, then cached)."""
        if index not in self._cache:
            self._cache[index] = make_sequence((self.seed, int(index)), **self.sequence_kwargs)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(index)
        return self._cache[index]

    def video(self, index: int) -> Video:
        return SyntheticVideo(f"synthetic-{self.seed}-{index}", self.sequence(index))


class SyntheticPairDataset(PairDataset):
    """Pairs of generated videos for one task, through the same sampling and augmentation as real sets.

    Args:
        num_sequences: number of distinct videos.
        input_size: (H, W) training input; frames are generated at this size unless ``size_hw`` is given.
        task: "sot", "mot", "vos" or "mots".
        seed: seed of the videos and of the pair draws.
        num_frames: frames per video.
        max_gap: largest frame distance of a pair (default: whole video for SOT/VOS, 8 for MOT/MOTS).
        augment: HSV jitter and flips.
        **sequence_kwargs: more ``make_sequence`` arguments (num_objects, num_distractors, appearance ...).
    """

    def __init__(self, num_sequences: int = 1000, input_size: tuple[int, int] = (320, 512), task: str = "sot",
                 seed: int = 0, *, num_frames: int = 24, max_gap: int | None = None, augment: bool = True,
                 **sequence_kwargs) -> None:
        sequence_kwargs.setdefault("size_hw", tuple(input_size))
        if max_gap is None and task in ("mot", "mots"):
            max_gap = 8
        source = SyntheticTrainSet(num_sequences, seed, max_gap, num_frames=num_frames, **sequence_kwargs)
        super().__init__(source, task, input_size, seed=seed, transform=PairTransform(input_size, augment=augment))
