"""One sequence interface for every benchmark, and the base class of the readers.

A reader (``Benchmark``) lists the sequences of one benchmark split and loads each one as a
``Sequence``. What a sequence carries depends on the task:

* SOT (LaSOT, GOT-10k, TrackingNet, OTB): ``boxes_xywh`` (T, 4) and ``visible`` (T,).
* VOS (DAVIS, YouTube-VOS): ``mask_paths`` (one PNG per annotated frame) and ``object_ids``.
* MOT / MOTS / BDD100K: ``tracks``, a ``TrackAnnotations`` with one row per object per frame.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unicorn.errors import UserError

DATASETS_README = "datasets/README.md"


@dataclass
class TrackAnnotations:
    """Multi-object annotations (or tracker output) of one sequence, one row per object per frame.

    Attributes:
        frames: (N,) int64 1-based frame numbers.
        ids: (N,) int64 object / track identities.
        boxes: (N, 4) float64 boxes, in ``box_format`` ("xywh" = left, top, width, height;
            "xyxy" = x1, y1, x2, y2 as written in the file).
        classes: (N,) int64 class ids (benchmark-specific; -1 when the file has none).
        flags: (N,) int64 MOTChallenge "consider" flag (1 evaluate, 0 ignore); ones when absent.
        visibility: (N,) float64 visibility ratio; ones when absent.
        confidences: (N,) float64 detection scores; ones when absent.
        ignored: (N,) bool rows that only mark ignore regions (crowd / ignored attributes).
        rles: N COCO compressed RLE dicts (``{"size": [h, w], "counts": str}``), or None.
        box_format: "xywh" or "xyxy".
        class_names: names of the class ids when the source uses names (BDD100K), else empty.
        source: the file the rows were read from (for error messages).
        lines: (N,) int64 1-based line number of each row in ``source`` (0 when unknown).
    """

    frames: np.ndarray
    ids: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray | None = None
    flags: np.ndarray | None = None
    visibility: np.ndarray | None = None
    confidences: np.ndarray | None = None
    ignored: np.ndarray | None = None
    rles: list[dict] | None = None
    box_format: str = "xywh"
    class_names: tuple[str, ...] = ()
    source: str = ""
    lines: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, dtype=np.int64).reshape(-1)
        n = len(self.frames)
        self.ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        self.boxes = np.asarray(self.boxes, dtype=np.float64).reshape(n, 4)
        self.classes = _column(self.classes, n, np.int64, -1)
        self.flags = _column(self.flags, n, np.int64, 1)
        self.visibility = _column(self.visibility, n, np.float64, 1.0)
        self.confidences = _column(self.confidences, n, np.float64, 1.0)
        self.ignored = _column(self.ignored, n, bool, False)
        self.lines = _column(self.lines, n, np.int64, 0)
        if self.box_format not in ("xywh", "xyxy"):
            raise ValueError(f"box_format must be 'xywh' or 'xyxy'; got {self.box_format!r}")
        if self.rles is not None and len(self.rles) != n:
            raise ValueError(f"rles has {len(self.rles)} entries but there are {n} rows")
        if len(self.ids) != n:
            raise ValueError(f"ids has {len(self.ids)} rows but frames has {n}")

    def __len__(self) -> int:
        return len(self.frames)

    def select(self, keep: np.ndarray) -> TrackAnnotations:
        """Rows where ``keep`` (a bool mask or an index array) is set, as a new object."""
        idx = np.arange(len(self))[keep]
        return TrackAnnotations(
            frames=self.frames[idx], ids=self.ids[idx], boxes=self.boxes[idx], classes=self.classes[idx],
            flags=self.flags[idx], visibility=self.visibility[idx], confidences=self.confidences[idx],
            ignored=self.ignored[idx], rles=None if self.rles is None else [self.rles[i] for i in idx],
            box_format=self.box_format, class_names=self.class_names, source=self.source,
            lines=self.lines[idx],
        )

    def rows_per_frame(self, num_frames: int) -> list[np.ndarray]:
        """Row indices of each frame 1..num_frames, as a list of num_frames int arrays."""
        order = np.argsort(self.frames, kind="stable")
        starts = np.searchsorted(self.frames[order], np.arange(1, num_frames + 2))
        return [order[starts[t]:starts[t + 1]] for t in range(num_frames)]

    @property
    def boxes_xywh(self) -> np.ndarray:
        """(N, 4) boxes as left, top, width, height."""
        if self.box_format == "xywh":
            return self.boxes
        out = self.boxes.copy()
        out[:, 2:] -= out[:, :2]
        return out

    @property
    def boxes_xyxy(self) -> np.ndarray:
        """(N, 4) boxes as x1, y1, x2, y2 (x2 = left + width, no +1)."""
        if self.box_format == "xyxy":
            return self.boxes
        out = self.boxes.copy()
        out[:, 2:] += out[:, :2]
        return out

    @staticmethod
    def empty(box_format: str = "xywh", with_rles: bool = False) -> TrackAnnotations:
        """An annotation set with no rows."""
        return TrackAnnotations(np.zeros(0), np.zeros(0), np.zeros((0, 4)), box_format=box_format,
                                rles=[] if with_rles else None)


def _column(values, n: int, dtype, fill) -> np.ndarray:
    if values is None:
        return np.full(n, fill, dtype=dtype)
    out = np.asarray(values, dtype=dtype).reshape(-1)
    if len(out) != n:
        raise ValueError(f"column has {len(out)} rows; expected {n}")
    return out


@dataclass
class Sequence:
    """One video of a benchmark with its ground truth.

    Attributes:
        name: sequence name as used for result files (``<results>/<name>.txt`` etc.).
        frame_paths: image paths in temporal order (may be empty when only labels are present).
        num_frames: number of frames T (from the images, the labels or ``seqinfo.ini``).
        image_size: (height, width) in pixels when known.
        boxes_xywh: (T, 4) float64 single-object boxes (SOT), NaN where unknown.
        visible: (T,) bool target visibility (SOT; False = absent / fully occluded / out of view).
        mask_paths: (T,) ground-truth mask PNG per frame, None where a frame has no annotation (VOS).
        object_ids: ids of the annotated objects (VOS: label values; SOT: ``[1]``).
        tracks: multi-object annotations (MOT, MOTS, BDD100K).
        extra: benchmark-specific arrays (e.g. GOT-10k ``cover`` (T,)).
    """

    name: str
    frame_paths: list[Path] = field(default_factory=list)
    num_frames: int = 0
    image_size: tuple[int, int] | None = None
    boxes_xywh: np.ndarray | None = None
    visible: np.ndarray | None = None
    mask_paths: list[Path | None] | None = None
    object_ids: list[int] = field(default_factory=list)
    tracks: TrackAnnotations | None = None
    extra: dict = field(default_factory=dict)


class Benchmark:
    """Base reader: a named split of a benchmark under a root folder.

    Subclasses set ``name``, ``task`` and ``default_root`` and implement ``sequence_names`` and
    ``load``. Constructing a reader checks that the root exists.

    Args:
        root: the dataset folder (default: ``default_root``, relative to the working directory).
    """

    name: str = ""
    task: str = ""  # "sot" | "vos" | "mot" | "mots"
    default_root: str = ""
    layout_hint: str = ""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root if root is not None else self.default_root)
        if not self.root.exists():
            raise UserError(
                f"{self.name} data not found at '{self.root}'. Put it there (expected layout: "
                f"{self.layout_hint}) or pass --data DIR; see {DATASETS_README}."
            )

    def sequence_names(self) -> list[str]:
        """Names of the sequences of this split, in evaluation order."""
        raise NotImplementedError

    def load(self, name: str) -> Sequence:
        """Read one sequence with its ground truth."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Sequence]:
        for name in self.sequence_names():
            yield self.load(name)

    def __len__(self) -> int:
        return len(self.sequence_names())

    def missing(self, path: Path, what: str) -> UserError:
        """A UserError for a file or folder of the dataset that is not where it should be."""
        return UserError(f"{self.name}: {what} not found at '{path}' (expected layout: {self.layout_hint}); "
                         f"see {DATASETS_README}.")


def sorted_images(folder: Path, exts: SequenceABC[str] = (".jpg", ".jpeg", ".png")) -> list[Path]:
    """Image files of a folder sorted by name (empty when the folder does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in exts)
