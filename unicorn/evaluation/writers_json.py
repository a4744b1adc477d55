"""COCO-style (one entry per track per frame) and YouTube-VIS (one entry per track) json writers."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from ..types import FrameResult
from ._output import FrameFile, encode_rle, ensure_new, finish_partial, fmt_number, partial_path


def _category(class_id: int, category_map: Mapping[int, int] | None) -> int:
    if category_map is None:
        return int(class_id) + 1  # COCO category ids start at 1
    if class_id not in category_map:
        raise ValueError(f"class_id {class_id} is not in category_map {dict(category_map)}; add it")
    return int(category_map[class_id])


class _JsonArrayWriter:
    """Writes a JSON array element by element into ``name.partial.json``, which becomes ``name.json`` when
    the array is finished (``close``): a run that is killed never leaves a json file that does not parse."""

    def __init__(self, path: str | Path, overwrite: bool) -> None:
        self.path = ensure_new(Path(path), overwrite)
        self.partial = partial_path(self.path)
        self._fp = FrameFile(self.partial, True)  # a leftover partial file is an unfinished earlier run
        self._fp.write("[")
        self._fp.commit()
        self._count = 0

    def _emit(self, entry: dict) -> None:
        self._fp.write(("\n" if self._count == 0 else ",\n") + json.dumps(entry, separators=(",", ":")))
        self._count += 1

    def close(self) -> None:
        """Finish the array and close the file (idempotent)."""
        if not self._fp.closed:
            self._fp.close("\n]\n")  # after a failed write: the complete frames, then the end of the array
            finish_partial(self.partial, self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class CocoTrackWriter(_JsonArrayWriter):
    """COCO results json with track ids, one entry per track per frame, written as it comes.

    Each entry: ``video_id``, ``image_id``, ``frame_index`` (0-based), ``track_id``,
    ``category_id``, ``bbox`` ``[x, y, w, h]``, ``score`` and, when masks exist,
    ``segmentation`` (compressed RLE: ``{"size": [H, W], "counts": str}``).

    Args:
        path: output ``.json`` file.
        overwrite: replace an existing file.
        category_map: our ``class_ids`` -> category ids; None uses ``class_id + 1``.
    """

    def __init__(self, path: str | Path, *, overwrite: bool = False,
                 category_map: Mapping[int, int] | None = None) -> None:
        super().__init__(path, overwrite)
        self.category_map = category_map

    def write(self, result: FrameResult, *, video_id: int = 1, image_id: int | None = None) -> None:
        """Append one frame's tracks.

        Args:
            result: the frame.
            video_id: id of the video the frame belongs to.
            image_id: dataset image id; defaults to ``result.frame_index``.
        """
        image_id = result.frame_index if image_id is None else image_id
        for i in range(len(result)):
            entry = {
                "video_id": int(video_id),
                "image_id": int(image_id),
                "frame_index": int(result.frame_index),
                "track_id": int(result.track_ids[i]),
                "category_id": _category(int(result.class_ids[i]), self.category_map),
                "bbox": [float(fmt_number(v, 2)) for v in result.boxes_xywh[i]],
                "score": float(fmt_number(result.scores[i], 5)),
            }
            if result.masks is not None:
                entry["segmentation"] = encode_rle(result.masks[i])
            self._emit(entry)
        self._fp.commit()


class YouTubeVISWriter(_JsonArrayWriter):
    """YouTube-VIS results json: per track ``video_id``, ``category_id``, ``score``,
    ``segmentations`` (one RLE or null per frame of the video) and ``track_id``.

    A track's score is the mean of its frame scores and its category the most frequent one.
    The compressed RLE strings of the current video are kept until the video ends (a new
    ``video_id`` starts, or ``close``); then its tracks are written out.

    Args:
        path: output ``.json`` file.
        overwrite: replace an existing file.
        category_map: our ``class_ids`` -> YouTube-VIS category ids; None uses ``class_id + 1``.
    """

    def __init__(self, path: str | Path, *, overwrite: bool = False,
                 category_map: Mapping[int, int] | None = None) -> None:
        super().__init__(path, overwrite)
        self.category_map = category_map
        self._video_id: int | None = None
        self._done: set[int] = set()
        self._reset_video()

    def _reset_video(self) -> None:
        self._tracks: dict[int, dict] = {}
        self._num_frames = 0

    def write(self, result: FrameResult, *, video_id: int = 1) -> None:
        """Add one frame (with masks) of video ``video_id``; write every frame, even empty ones."""
        if video_id != self._video_id:
            if video_id in self._done:
                raise ValueError(f"video {video_id} was already finished; write each video's frames together")
            self.end_video()
            self._video_id = video_id
        if result.masks is None and len(result):
            raise ValueError(f"YouTubeVISWriter needs masks; frame {result.frame_index} has none")
        self._num_frames = max(self._num_frames, result.frame_index + 1)
        for i in range(len(result)):
            track = self._tracks.setdefault(int(result.track_ids[i]),
                                            {"frames": {}, "scores": [], "classes": Counter()})
            track["frames"][result.frame_index] = encode_rle(result.masks[i])
            track["scores"].append(float(result.scores[i]))
            track["classes"][int(result.class_ids[i])] += 1

    def end_video(self, num_frames: int | None = None) -> None:
        """Write out the current video's tracks.

        Args:
            num_frames: length of the video (defaults to the last written frame index + 1).
        """
        if self._video_id is None:
            return
        n = max(self._num_frames, num_frames or 0)
        for tid in sorted(self._tracks):
            track = self._tracks[tid]
            self._emit({
                "video_id": int(self._video_id),
                "track_id": tid,
                "category_id": _category(track["classes"].most_common(1)[0][0], self.category_map),
                "score": float(fmt_number(sum(track["scores"]) / len(track["scores"]), 5)),
                "segmentations": [track["frames"].get(f) for f in range(n)],
            })
        self._fp.commit()
        self._done.add(self._video_id)
        self._video_id = None
        self._reset_video()

    def close(self) -> None:
        """Write out the last video, finish the array and close the file (idempotent). When that fails (a full
        disk), the file still closes as a valid array of the videos written before, and the error is raised."""
        try:
            if not self._fp.closed and not self._fp.failed:
                self.end_video()
        finally:
            super().close()
