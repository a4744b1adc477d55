"""DAVIS 2016 / 2017 readers (video object segmentation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unicorn.data.datasets.base import Benchmark, Sequence, sorted_images
from unicorn.errors import UserError, reason


def read_label_png(path: str | Path) -> np.ndarray:
    """Read a palette / grey PNG as its (H, W) label indices (``np.array(Image.open(path))``)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            labels = np.array(img)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except OSError as err:
        raise UserError(f"{path}: not a readable PNG ({reason(err)})") from None
    if labels.ndim == 3:  # an RGB(A) mask: any non-black pixel is foreground
        labels = (labels[..., :3].max(axis=2) > 0).astype(np.uint8)
    return labels


class DAVIS(Benchmark):
    """DAVIS: ``<root>/Annotations/480p/<seq>/00000.png`` (+ ``JPEGImages/480p``, ``ImageSets/<year>/val.txt``).

    DAVIS-2017 annotation PNGs hold object ids 1..K (255 = void); the DAVIS-2016 originals are
    binary 0/255 (one object). The sequence list is ``ImageSets/<year>/<split>.txt`` when present,
    otherwise every annotation folder.

    Args:
        root: dataset folder.
        year: 2016 or 2017.
        split: "val" (default) or "train".
        resolution: "480p" (default) or "Full-Resolution".
    """

    task = "vos"
    default_root = "datasets/DAVIS"
    layout_hint = "<root>/Annotations/480p/<seq>/00000.png (+ JPEGImages/480p, ImageSets/<year>/val.txt)"

    def __init__(self, root=None, year: int = 2017, split: str = "val", resolution: str = "480p") -> None:
        self.name = f"DAVIS-{year}"
        super().__init__(root)
        self.year, self.split, self.resolution = year, split, resolution

    @property
    def annotation_root(self) -> Path:
        """Folder holding one annotation folder per sequence."""
        nested = self.root / "Annotations" / self.resolution
        return nested if nested.is_dir() else self.root / "Annotations"

    def sequence_names(self) -> list[str]:
        listing = self.root / "ImageSets" / str(self.year) / f"{self.split}.txt"
        if listing.is_file():
            return [s.strip() for s in listing.read_text().splitlines() if s.strip()]
        if not self.annotation_root.is_dir():
            raise self.missing(self.annotation_root, "the annotation folder")
        return sorted(p.name for p in self.annotation_root.iterdir() if p.is_dir())

    def load(self, name: str) -> Sequence:
        masks = sorted_images(self.annotation_root / name, (".png",))
        if not masks:
            raise self.missing(self.annotation_root / name, f"annotation PNGs of sequence {name}")
        first = read_label_png(masks[0])
        binary_255 = set(np.unique(first).tolist()) == {0, 255}  # DAVIS-2016 original: 255 is the object
        if self.year == 2016 or binary_255:
            object_ids = [1]
        else:
            object_ids = [int(v) for v in np.unique(first) if 0 < v < 255]
        frames = sorted_images(self.root / "JPEGImages" / self.resolution / name, (".jpg",))
        return Sequence(name=name, frame_paths=frames, num_frames=len(masks), image_size=first.shape[:2],
                        mask_paths=list(masks), object_ids=object_ids,
                        extra={"year": self.year, "binary_255": binary_255})
