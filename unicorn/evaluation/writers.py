"""Result writers: MOTChallenge txt, MOTS txt, pytracking txt, DAVIS palette PNGs, COCO and
YouTube-VIS json, annotated video.

Every writer takes :class:`~unicorn.types.FrameResult` objects one frame at a time (``write``)
and keeps at most one frame in memory where the format allows it (the YouTube-VIS writer has
to keep each track's compressed RLE strings until its video ends). Writers are context
managers and never replace an existing file unless ``overwrite=True``.

Example:
    >>> with MOTChallengeWriter("out/MOT17-02.txt") as w:
    ...     for result in tracker.track("video.mp4"):
    ...         w.write(result)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import UserError
from ..types import FrameResult
from ._output import FrameFile, OutputExistsError, davis_palette, encode_rle, fmt_number
from .video_writer import AnnotatedVideoWriter, annotate_frame
from .writers_json import CocoTrackWriter, YouTubeVISWriter

__all__ = [
    "AnnotatedVideoWriter",
    "CocoTrackWriter",
    "DavisPaletteWriter",
    "MOTChallengeWriter",
    "MOTSWriter",
    "OutputExistsError",
    "PyTrackingWriter",
    "YouTubeVISWriter",
    "annotate_frame",
    "write_all",
]


class IdRangeError(UserError, ValueError):
    """Track ids that a format cannot hold (DAVIS PNGs: 0..255)."""


class _TextWriter:
    """Base for line-based text writers: opens the file at construction, flushes every frame."""

    def __init__(self, path: str | Path, overwrite: bool) -> None:
        self.path = Path(path)
        self._fp = FrameFile(self.path, overwrite)

    def write(self, result: FrameResult) -> None:
        lines = self._lines(result)
        if lines:
            self._fp.write("".join(lines))
        self._fp.commit()

    def _lines(self, result: FrameResult) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self._fp.closed:
            self._fp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class MOTChallengeWriter(_TextWriter):
    """MOTChallenge txt: ``frame,id,x,y,w,h,score,-1,-1,-1`` per track, frames 1-based.

    Args:
        path: output ``.txt`` file (one per sequence).
        overwrite: replace an existing file.
        frame_offset: added to ``FrameResult.frame_index`` (1 for MOTChallenge).
        decimals: decimals kept for coordinates (scores keep ``decimals + 2``).
    """

    def __init__(self, path: str | Path, *, overwrite: bool = False, frame_offset: int = 1,
                 decimals: int = 2) -> None:
        super().__init__(path, overwrite)
        self.frame_offset, self.decimals = frame_offset, decimals

    def _lines(self, result: FrameResult) -> list[str]:
        frame = result.frame_index + self.frame_offset
        d = self.decimals
        out = []
        for tid, box, score in zip(result.track_ids, result.boxes_xywh, result.scores, strict=True):
            if tid < 0:
                continue
            x, y, w, h = (fmt_number(v, d) for v in box)
            out.append(f"{frame},{int(tid)},{x},{y},{w},{h},{fmt_number(score, d + 2)},-1,-1,-1\n")
        return out


class MOTSWriter(_TextWriter):
    """MOTS txt: ``frame object_id class_id H W rle`` per track (MOTS20 / KITTI-MOTS format).

    Conventions (MOTS20): frames are 1-based (KITTI-MOTS is 0-based: ``frame_offset=0``);
    ``class_id`` 1 = car, 2 = pedestrian, 10 = ignore region; ``object_id`` is
    ``class_id * 1000 + track_id`` (so pedestrians are 2001, 2002, ...), which is what upstream
    Unicorn writes (``2000 + id``, class 2); ``rle`` is the pycocotools compressed RLE
    ``counts`` string of the (H, W) mask. Masks of one frame must not overlap: by default
    overlaps go to the lower track id, as upstream does.

    Args:
        path: output ``.txt`` file (one per sequence).
        overwrite: replace an existing file.
        class_map: our ``class_ids`` -> MOTS class ids; None writes every object as ``default_class``.
        default_class: MOTS class used when ``class_map`` is None (2 = pedestrian).
        encode_class_in_id: write ``class * 1000 + track_id`` (track ids must be < 1000);
            False writes the track id unchanged.
        frame_offset: added to ``FrameResult.frame_index``.
        resolve_overlaps: give overlapping pixels to the lower track id.
    """

    def __init__(self, path: str | Path, *, overwrite: bool = False,
                 class_map: Mapping[int, int] | None = None, default_class: int = 2,
                 encode_class_in_id: bool = True, frame_offset: int = 1,
                 resolve_overlaps: bool = True) -> None:
        super().__init__(path, overwrite)
        self.class_map, self.default_class = class_map, default_class
        self.encode_class_in_id, self.frame_offset = encode_class_in_id, frame_offset
        self.resolve_overlaps = resolve_overlaps

    def _mots_class(self, class_id: int) -> int:
        if self.class_map is None:
            return self.default_class
        if class_id not in self.class_map:
            raise ValueError(f"class_id {class_id} is not in class_map {dict(self.class_map)}; add it")
        return int(self.class_map[class_id])

    def _lines(self, result: FrameResult) -> list[str]:
        if result.masks is None:
            raise ValueError(f"MOTSWriter needs masks; frame {result.frame_index} has none (box-only result)")
        frame = result.frame_index + self.frame_offset
        h, w = result.image_size
        taken = np.zeros((h, w), dtype=bool)
        out = []
        for i in np.argsort(result.track_ids, kind="stable"):
            tid = int(result.track_ids[i])
            if tid < 0:
                continue
            cls = self._mots_class(int(result.class_ids[i]))
            if self.encode_class_in_id and not 0 < tid < 1000:
                raise ValueError(f"track id {tid} does not fit the MOTS id encoding class*1000+id (needs "
                                 f"1..999); pass encode_class_in_id=False")
            obj_id = cls * 1000 + tid if self.encode_class_in_id else tid
            mask = result.masks[i]
            if self.resolve_overlaps:
                mask = mask & ~taken
                taken |= mask
            out.append(f"{frame} {obj_id} {cls} {h} {w} {encode_rle(mask)['counts']}\n")
        return out


class PyTrackingWriter(_TextWriter):
    """pytracking-style SOT results: one ``x<TAB>y<TAB>w<TAB>h`` line per frame.

    Upstream Unicorn writes this for SOT (tab-separated, integers). Frames where the chosen
    target is absent are written as ``0 0 0 0``.

    Args:
        path: output ``.txt`` file.
        overwrite: replace an existing file.
        delimiter: ``"\\t"`` (pytracking) or ``","`` (GOT-10k / LaSOT toolkits).
        track_id: which track to write; None takes the highest-scoring box of each frame.
        decimals: decimals kept (0 writes integers, like upstream).
    """

    def __init__(self, path: str | Path, *, overwrite: bool = False, delimiter: str = "\t",
                 track_id: int | None = None, decimals: int = 2) -> None:
        super().__init__(path, overwrite)
        self.delimiter, self.track_id, self.decimals = delimiter, track_id, decimals

    def _lines(self, result: FrameResult) -> list[str]:
        box = np.zeros(4, dtype=np.float32)
        if self.track_id is not None:
            hit = np.flatnonzero(result.track_ids == self.track_id)
            if len(hit):
                box = result.boxes_xywh[hit[0]]
        elif len(result):
            box = result.boxes_xywh[int(np.argmax(result.scores))]
        return [self.delimiter.join(fmt_number(v, self.decimals) for v in box) + "\n"]


class DavisPaletteWriter:
    """DAVIS-style indexed PNGs (one per frame, palette mode, pixel value = track id).

    Overlaps go to the lower track id (``FrameResult.index_mask``). Track ids must be in
    0..255. Frames without masks are written as background.

    Args:
        folder: output folder for one sequence; refused if it already holds PNG files.
        overwrite: allow replacing PNG files in ``folder``.
        name_format: file name from the 0-based frame index (DAVIS: ``00000.png``).
    """

    def __init__(self, folder: str | Path, *, overwrite: bool = False,
                 name_format: str = "{:05d}.png") -> None:
        self.folder = Path(folder)
        if not overwrite and self.folder.is_dir():
            existing = sorted(self.folder.glob("*.png"))
            if existing:
                raise OutputExistsError(
                    f"Output folder {self.folder} already holds PNG files (e.g. {existing[0].name}); pass "
                    f"overwrite=True (CLI: --overwrite) to replace them, or choose another folder."
                )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.overwrite, self.name_format = overwrite, name_format
        self._palette = davis_palette().reshape(-1).tolist()

    def write(self, result: FrameResult) -> Path:
        """Write the frame's index mask; returns the PNG path."""
        return self.write_index_mask(result.frame_index, result.index_mask())

    def write_index_mask(self, frame_index: int, index_mask: np.ndarray) -> Path:
        """Write an (H, W) integer map of object ids (0 = background) as ``name_format`` PNG."""
        index_mask = np.asarray(index_mask)
        if index_mask.size and (index_mask.min() < 0 or index_mask.max() > 255):
            raise IdRangeError(f"DAVIS PNGs hold ids 0..255; frame {frame_index} has ids from "
                               f"{index_mask.min()} to {index_mask.max()}; renumber the objects or choose another "
                               "format")
        path = self.folder / self.name_format.format(frame_index)
        image = Image.fromarray(index_mask.astype(np.uint8))  # mode "L"
        image.putpalette(self._palette)  # turns it into mode "P" with the DAVIS colours
        try:
            with open(path, "wb" if self.overwrite else "xb") as fp:
                try:
                    image.save(fp, format="PNG")
                except OSError:  # a full disk: leave no half PNG
                    fp.close()
                    path.unlink(missing_ok=True)
                    raise
        except FileExistsError as exc:
            raise OutputExistsError(
                f"Output file {path} already exists; pass overwrite=True (CLI: --overwrite) to replace it."
            ) from exc
        return path

    def close(self) -> None:
        """Nothing to flush (each PNG is written whole); present for symmetry."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_all(writer, results: Iterable[FrameResult]):
    """Stream ``results`` into ``writer`` and close it; returns the writer.

    Example:
        >>> write_all(MOTChallengeWriter("seq.txt"), tracker.track("seq.mp4"))
    """
    with writer:
        for result in results:
            writer.write(result)
    return writer
