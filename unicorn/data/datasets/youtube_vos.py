"""YouTube-VOS reader (2018 / 2019; the valid split is scored by the CodaLab server)."""

from __future__ import annotations

import json

from unicorn.data.datasets.base import Benchmark, Sequence, sorted_images


class YouTubeVOS(Benchmark):
    """YouTube-VOS: ``<root>/<split>/{JPEGImages,Annotations}/<seq>/`` and ``<root>/<split>/meta.json``.

    ``mask_paths`` has one entry per JPEG frame, None where the frame has no annotation PNG (in
    "valid" only the frame where each object first appears is annotated). ``extra`` holds, per
    object id, the frame names listed in ``meta.json`` (``"object_frames"``).

    Args:
        root: dataset folder.
        split: "valid" (default), "train" or "test".
    """

    name = "YouTube-VOS"
    task = "vos"
    default_root = "datasets/ytbvos"
    layout_hint = "<root>/valid/{JPEGImages,Annotations}/<seq>/ and <root>/valid/meta.json"

    def __init__(self, root=None, split: str = "valid") -> None:
        super().__init__(root)
        self.split = split
        self._meta: dict | None = None

    def _videos(self) -> dict:
        if self._meta is None:
            meta = self.root / self.split / "meta.json"
            self._meta = json.loads(meta.read_text())["videos"] if meta.is_file() else {}
        return self._meta

    def sequence_names(self) -> list[str]:
        if self._videos():
            return sorted(self._videos())
        folder = self.root / self.split / "JPEGImages"
        if not folder.is_dir():
            raise self.missing(folder, f"the {self.split} frames")
        return sorted(p.name for p in folder.iterdir() if p.is_dir())

    def load(self, name: str) -> Sequence:
        frames = sorted_images(self.root / self.split / "JPEGImages" / name, (".jpg",))
        ann = self.root / self.split / "Annotations" / name
        mask_paths = [(ann / f"{f.stem}.png") if (ann / f"{f.stem}.png").is_file() else None for f in frames]
        objects = self._videos().get(name, {}).get("objects", {})
        return Sequence(name=name, frame_paths=frames, num_frames=len(frames), mask_paths=mask_paths,
                        object_ids=sorted(int(k) for k in objects),
                        extra={"object_frames": {int(k): v.get("frames", []) for k, v in objects.items()}})
