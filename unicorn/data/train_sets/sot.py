"""Single-object training videos: LaSOT (protocol II train), GOT-10k train, TrackingNet TRAIN_0..3.

Each video has one target (track id 1, class 0). A frame is usable when the target is visible
(the benchmark's occlusion / out-of-view / absence flags) and its box is larger than
``min_size`` pixels on both sides (32 upstream).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from unicorn.data.datasets import GOT10k, LaSOT, TrackingNet
from unicorn.data.datasets.base import Sequence
from unicorn.data.train_sets.base import TableVideo, TrainSet, Video


def sot_video(seq: Sequence, min_size: float) -> TableVideo:
    """A ``TableVideo`` of a benchmark sequence's single target, with only its usable frames.

    Args:
        seq: a SOT sequence (``boxes_xywh`` (T, 4), ``visible`` (T,)).
        min_size: the box must be wider and taller than this.
    """
    boxes = np.asarray(seq.boxes_xywh, np.float64).reshape(-1, 4)
    visible = np.ones(len(boxes), bool) if seq.visible is None else np.asarray(seq.visible, bool)[:len(boxes)]
    visible = np.pad(visible, (0, len(boxes) - len(visible)))
    ok = visible & np.isfinite(boxes).all(axis=1) & (boxes[:, 2] > min_size) & (boxes[:, 3] > min_size)
    frames = np.flatnonzero(ok)
    xyxy = boxes[frames].copy()
    xyxy[:, 2:] += xyxy[:, :2]
    return TableVideo(seq.name, seq.frame_paths, max(seq.num_frames, len(boxes)), frames, np.ones(len(frames)),
                      np.zeros(len(frames)), xyxy)


class LaSOTTrain(TrainSet):
    """LaSOT training videos: every sequence not in ``testing_set.txt`` (protocol II), or those of
    ``training_set.txt`` when present.

    Args:
        root: the LaSOT folder (``<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/}``).
        min_size: smallest usable target side in pixels.
    """

    name = "LaSOT"
    default_root = "datasets/lasot"
    layout_hint = "<root>/<class>/<class>-<n>/{groundtruth.txt, full_occlusion.txt, out_of_view.txt, img/00000001.jpg}"

    def __init__(self, root: str | Path | None = None, min_size: float = 32) -> None:
        super().__init__(root)
        self.reader, self.min_size = LaSOT(self.root), min_size
        listing = self.root / "training_set.txt"
        if listing.is_file():
            names = [s.strip() for s in listing.read_text().splitlines() if s.strip()]
        else:
            found = {p.parent.name for p in self.root.glob("*/*/groundtruth.txt")}
            found |= {p.parent.name for p in self.root.glob("*/groundtruth.txt")}
            test = self.root / "testing_set.txt"
            exclude = set(test.read_text().split()) if test.is_file() else set()
            names = sorted(found - exclude)
        if not names:
            raise self.missing(self.root, "training sequences (folders with groundtruth.txt)")
        self.names = names

    def __len__(self) -> int:
        return len(self.names)

    def video(self, index: int) -> Video:
        return sot_video(self.reader.load(self.names[index]), self.min_size)


class GOT10kTrain(TrainSet):
    """GOT-10k training videos (``train/list.txt``), optionally limited to a split file.

    Args:
        root: the GOT-10k folder (``train/list.txt``, ``train/<seq>/{groundtruth.txt, absence.label, cover.label}``).
        sequence_list: a text file of sequence names, or of 0-based indices into ``list.txt``
            (the format of the "vot-train" split upstream uses); None = all.
        min_size: smallest usable target side in pixels.
    """

    name = "GOT-10k"
    default_root = "datasets/got10k"
    layout_hint = "<root>/train/list.txt and <root>/train/GOT-10k_Train_000001/{groundtruth.txt, absence.label, " \
                  "cover.label, 00000001.jpg}"

    def __init__(self, root: str | Path | None = None, sequence_list: str | Path | None = None,
                 min_size: float = 32) -> None:
        super().__init__(root)
        self.reader, self.min_size = GOT10k(self.root, "train"), min_size
        names = self.reader.sequence_names()
        if sequence_list is not None:
            wanted = Path(sequence_list).read_text().split()
            names = [names[int(s)] for s in wanted] if all(s.isdigit() for s in wanted) else wanted
        if not names:
            raise self.missing(self.root / "train" / "list.txt", "training sequence names")
        self.names = names

    def __len__(self) -> int:
        return len(self.names)

    def video(self, index: int) -> Video:
        return sot_video(self.reader.load(self.names[index]), self.min_size)


class TrackingNetTrain(TrainSet):
    """TrackingNet training chunks (upstream uses TRAIN_0 .. TRAIN_3).

    Args:
        root: the TrackingNet folder (``TRAIN_k/anno/<seq>.txt``, ``TRAIN_k/frames/<seq>/0.jpg``).
        chunks: the chunk folders to use; those absent are ignored (at least one must exist).
        min_size: smallest usable target side in pixels.
    """

    name = "TrackingNet"
    default_root = "datasets/trackingnet"
    layout_hint = "<root>/TRAIN_0/anno/<seq>.txt and <root>/TRAIN_0/frames/<seq>/0.jpg ..."

    def __init__(self, root: str | Path | None = None, chunks: tuple[str, ...] = ("TRAIN_0", "TRAIN_1", "TRAIN_2",
                                                                                   "TRAIN_3"),
                 min_size: float = 32) -> None:
        super().__init__(root)
        self.min_size = min_size
        self.readers = {c: TrackingNet(self.root, c) for c in chunks if (self.root / c / "anno").is_dir()}
        if not self.readers:
            raise self.missing(self.root / chunks[0] / "anno", f"the annotation folder of any of {', '.join(chunks)}")
        self.items = [(c, n) for c, reader in self.readers.items() for n in reader.sequence_names()]

    def __len__(self) -> int:
        return len(self.items)

    def video(self, index: int) -> Video:
        chunk, name = self.items[index]
        return sot_video(self.readers[chunk].load(name), self.min_size)
