"""Looks of the generated videos: procedural textures and shapes by default, or real imagery
(a folder of background images, RGBA cut-outs with alpha, glyphs of a colour font) when given.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from unicorn.errors import UserError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass
class Cutout:
    """An object's look at its base size.

    Attributes:
        image: (h, w, 3) uint8 BGR.
        alpha: (h, w) uint8 opacity 0..255 (the object is where alpha >= 128).
    """

    image: np.ndarray
    alpha: np.ndarray


class AppearanceSource(Protocol):
    """Where backgrounds and object looks come from (``ProceduralAppearance`` or ``ImageAppearance``)."""

    def background(self, rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
        """(H, W, 3) uint8 BGR background."""

    def cutout(self, rng: np.random.Generator, class_id: int, size: int) -> Cutout:
        """An object of ``class_id`` whose longer side is about ``size`` pixels."""


def noise_texture(rng: np.random.Generator, size_hw: tuple[int, int], colors: np.ndarray, octaves: int = 3,
                  cells: int = 4) -> np.ndarray:
    """Smooth multi-octave value noise mapped onto a colour ramp, as (H, W, 3) uint8.

    Args:
        size_hw: (H, W).
        colors: (K, 3) BGR colours of the ramp (K >= 2).
        octaves: number of noise octaves, each twice as fine with half the amplitude.
        cells: grid cells along the shorter side at the coarsest octave.
    """
    h, w = size_hw
    field = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        n = cells * 2**o
        gh, gw = max(2, round(n * h / min(h, w))), max(2, round(n * w / min(h, w)))
        field += amp * cv2.resize(rng.random((gh, gw), dtype=np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    index = cv2.convertScaleAbs(field, alpha=255.0 / total)  # uint8 0..255, saturating
    ramp = np.linspace(0, len(colors) - 1, 256)
    low = np.floor(ramp).astype(np.int64).clip(0, len(colors) - 2)
    colors = np.asarray(colors, np.float32)
    lut = (colors[low] * (1 - (ramp - low)[:, None]) + colors[low + 1] * (ramp - low)[:, None]).astype(np.uint8)
    return cv2.LUT(cv2.merge([index, index, index]), lut.reshape(256, 1, 3))


def pattern_texture(rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
    """A saturated object texture: stripes, checks, dots or noise in 2-3 random colours, (H, W, 3) uint8."""
    h, w = size_hw
    colors = random_colors(rng, 3, saturated=True)
    kind = int(rng.integers(4))
    if kind == 3:
        return noise_texture(rng, size_hw, colors, octaves=2, cells=3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = float(rng.uniform(6, 16))
    if kind == 0:  # stripes at a random angle
        angle = rng.uniform(0, np.pi)
        t = (np.cos(angle) * xx + np.sin(angle) * yy) / period
        index = (np.floor(t) % 2).astype(np.int64)
    elif kind == 1:  # checks
        index = ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(np.int64)
    else:  # dots
        d = np.hypot((xx % period) - period / 2, (yy % period) - period / 2)
        index = (d < period / 3.2).astype(np.int64)
    out = colors[index]
    out[:2], out[-2:], out[:, :2], out[:, -2:] = colors[2], colors[2], colors[2], colors[2]  # a rim
    return out.astype(np.uint8)


def random_colors(rng: np.random.Generator, n: int, saturated: bool = False) -> np.ndarray:
    """(n, 3) uint8 BGR colours; saturated ones are vivid, the others muted (for backgrounds)."""
    hsv = np.zeros((1, n, 3), np.uint8)
    hsv[0, :, 0] = rng.integers(0, 180, n)
    hsv[0, :, 1] = rng.integers(150, 256, n) if saturated else rng.integers(10, 110, n)
    hsv[0, :, 2] = rng.integers(140, 256, n) if saturated else rng.integers(50, 200, n)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0]


def shape_alpha(rng: np.random.Generator, class_id: int, size: int) -> np.ndarray:
    """Binary (0/255) alpha of a procedural shape; the class decides the kind of shape.

    Classes cycle through ellipse, rounded box, star and blob; the aspect ratio varies per object.
    """
    aspect = float(np.exp(rng.uniform(-0.5, 0.5)))
    h, w = (size, max(4, int(size / aspect))) if aspect > 1 else (max(4, int(size * aspect)), size)
    alpha = np.zeros((h, w), np.uint8)
    kind = class_id % 4
    if kind == 0:
        cv2.ellipse(alpha, (w // 2, h // 2), (max(1, w // 2 - 1), max(1, h // 2 - 1)), 0, 0, 360, 255, -1)
    elif kind == 1:
        r = max(1, min(h, w) // 5)
        cv2.rectangle(alpha, (r, 0), (w - 1 - r, h - 1), 255, -1)
        cv2.rectangle(alpha, (0, r), (w - 1, h - 1 - r), 255, -1)
        for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
            cv2.circle(alpha, (cx, cy), r, 255, -1)
    else:
        n = int(rng.integers(5, 9)) if kind == 2 else 16
        angles = np.linspace(0, 2 * np.pi, 2 * n if kind == 2 else n, endpoint=False) + rng.uniform(0, np.pi)
        radii = np.where(np.arange(len(angles)) % 2 == 0, 1.0, 0.5) if kind == 2 else rng.uniform(0.6, 1.0,
                                                                                                 len(angles))
        pts = np.stack([w / 2 + (w / 2 - 1) * radii * np.cos(angles), h / 2 + (h / 2 - 1) * radii * np.sin(angles)], 1)
        cv2.fillPoly(alpha, [np.round(pts).astype(np.int32)], 255)
    return alpha


class ProceduralAppearance:
    """Noise backgrounds and patterned shapes (no files needed)."""

    def background(self, rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
        """(H, W, 3) muted multi-octave noise with a few soft blotches."""
        return noise_texture(rng, size_hw, random_colors(rng, 4), octaves=4, cells=int(rng.integers(3, 7)))

    def cutout(self, rng: np.random.Generator, class_id: int, size: int) -> Cutout:
        """A patterned shape of ``class_id``."""
        alpha = shape_alpha(rng, class_id, size)
        return Cutout(pattern_texture(rng, alpha.shape), alpha)


def crop_to_alpha(image: np.ndarray, alpha: np.ndarray) -> Cutout | None:
    """The cut-out cropped to the box of ``alpha >= 128`` (None when nothing is opaque)."""
    rows, cols = np.flatnonzero((alpha >= 128).any(axis=1)), np.flatnonzero((alpha >= 128).any(axis=0))
    if len(rows) < 2 or len(cols) < 2:
        return None
    sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return Cutout(np.ascontiguousarray(image[sl]), np.ascontiguousarray(alpha[sl]))


def load_rgba_cutouts(folder: str | Path) -> list[Cutout]:
    """Every RGBA PNG of a folder (recursively) as a ``Cutout`` cropped to its opaque part.

    Files without an alpha channel or without opaque pixels are skipped with a warning.

    Raises:
        UserError: the folder does not exist or holds no usable cut-out.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"cut-out folder not found: '{folder}' (expected RGBA .png files with transparency)")
    out, skipped = [], []
    for path in sorted(folder.rglob("*.png")):
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        cut = crop_to_alpha(img[..., :3], img[..., 3]) if img is not None and img.ndim == 3 and \
            img.shape[2] == 4 else None
        (out if cut is not None else skipped).append(cut if cut is not None else path.name)
    if skipped:
        warnings.warn(f"{folder}: skipped {len(skipped)} PNGs without an alpha channel or opaque pixels "
                      f"(e.g. {skipped[0]})", stacklevel=2)
    if not out:
        raise UserError(f"no RGBA cut-out in '{folder}': expected .png files with an alpha channel")
    return out


def render_font_cutouts(font_path: str | Path, characters: Sequence[str], size: int = 109) -> list[Cutout]:
    """Render glyphs of a colour font (e.g. Noto Color Emoji, size 109) as cut-outs with Pillow.

    Args:
        font_path: a TrueType / OpenType font file (e.g. Debian's fonts-noto-color-emoji
            ``/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf``).
        characters: the glyphs to render.
        size: font size in pixels (bitmap colour fonts accept only their strike size, 109 for Noto).

    Returns:
        One cut-out per glyph that rendered any opaque pixel.
    """
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype(str(font_path), size)
    except OSError as err:
        raise UserError(f"cannot load font '{font_path}' at size {size}: {err}") from None
    out = []
    for ch in characters:
        canvas = Image.new("RGBA", (2 * size, 2 * size), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((size // 4, size // 4), ch, font=font, embedded_color=True)
        rgba = np.asarray(canvas)
        cut = crop_to_alpha(np.ascontiguousarray(rgba[..., 2::-1]), rgba[..., 3])
        if cut is not None:
            out.append(cut)
    return out


class ImageAppearance(ProceduralAppearance):
    """Real imagery: backgrounds from a folder of images and/or objects from cut-outs.

    Whatever is not given stays procedural. Cut-out ``i`` belongs to class ``i % num_classes``
    so that a class keeps a consistent look.

    Args:
        backgrounds: a folder of images (any size; a random crop is resized to the frame).
        cutouts: a folder of RGBA PNGs, or a list of ``Cutout`` (e.g. from ``render_font_cutouts``).
        num_classes: number of object classes the cut-outs are spread over.
        real_fraction: probability that a background or an object uses the real imagery rather than a
            procedural look (1: always real).
    """

    def __init__(self, backgrounds: str | Path | None = None, cutouts: str | Path | list[Cutout] | None = None,
                 num_classes: int = 1, real_fraction: float = 1.0) -> None:
        if not 0.0 <= real_fraction <= 1.0:
            raise UserError(f"real_fraction must be within [0, 1], got {real_fraction}")
        self.real_fraction = float(real_fraction)
        self.background_paths: list[Path] = []
        if backgrounds is not None:
            folder = Path(backgrounds)
            if not folder.is_dir():
                raise UserError(f"background folder not found: '{folder}'")
            self.background_paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTS)
            if not self.background_paths:
                raise UserError(f"no image ({', '.join(IMAGE_EXTS)}) in background folder '{folder}'")
        self.cutouts = load_rgba_cutouts(cutouts) if isinstance(cutouts, (str, Path)) else list(cutouts or [])
        self.num_classes = max(1, num_classes)

    def _use_real(self, rng: np.random.Generator) -> bool:
        return self.real_fraction >= 1.0 or rng.random() < self.real_fraction

    def background(self, rng: np.random.Generator, size_hw: tuple[int, int]) -> np.ndarray:
        """A random crop (at least half of each side) of a random background image, resized to size_hw."""
        for _ in range(5 if self._use_real(rng) else 0):
            if not self.background_paths:
                break
            img = cv2.imread(str(self.background_paths[int(rng.integers(len(self.background_paths)))]))
            if img is None:
                continue
            h, w = img.shape[:2]
            ch, cw = int(h * rng.uniform(0.5, 1)), int(w * rng.uniform(0.5, 1))
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            return cv2.resize(img[y:y + ch, x:x + cw], (size_hw[1], size_hw[0]), interpolation=cv2.INTER_LINEAR)
        return super().background(rng, size_hw)

    def cutout(self, rng: np.random.Generator, class_id: int, size: int) -> Cutout:
        """A random cut-out of the class, scaled so its longer side is ``size``."""
        choices = [c for i, c in enumerate(self.cutouts) if i % self.num_classes == class_id % self.num_classes]
        if not choices or not self._use_real(rng):
            return super().cutout(rng, class_id, size)
        cut = choices[int(rng.integers(len(choices)))]
        r = size / max(cut.alpha.shape)
        wh = (max(2, round(cut.alpha.shape[1] * r)), max(2, round(cut.alpha.shape[0] * r)))
        return Cutout(cv2.resize(cut.image, wh, interpolation=cv2.INTER_AREA),
                      cv2.resize(cut.alpha, wh, interpolation=cv2.INTER_AREA))
