"""What every task tracker shares: input checks, letterboxing, the model call, video iteration."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UserError
from ..inputs import check_frame, check_prompt_ids
from ..models.features import FrameFeatures
from ..models.heads.detection import HeadOutput
from ..models.interaction.prior import box_label_map, downsample_label_map
from ..models.unicorn import Unicorn
from ..preprocess import network_input
from ..types import FrameResult


@dataclass
class Frame:
    """One preprocessed frame.

    Attributes:
        image: (1, 3, H, W) network input on the model's device.
        r: letterbox scale (input pixels per original pixel).
        size: (H0, W0) original frame size.
    """

    image: torch.Tensor
    r: float
    size: tuple[int, int]


class BaseTracker:
    """Streaming tracker over one :class:`Unicorn` model.

    Args:
        model: the network (any device; inputs follow it).
        input_size: (H, W) network input; defaults to the model's configured size.
    """

    task = "base"
    # attributes that are not video state: a snapshot shares them instead of copying (networks, settings)
    shared_attributes: tuple[str, ...] = ("model", "config", "detector")

    def __init__(self, model: Unicorn, input_size: tuple[int, int] | None = None) -> None:
        self.model = model.eval()
        cfg = getattr(model, "config", None)
        self.input_size = tuple(input_size or (cfg.input_size if cfg else (800, 1280)))
        if self.input_size[0] % 32 or self.input_size[1] % 32:
            raise UserError(f"input size {self.input_size} must be multiples of 32 (e.g. 320x512)")
        self.frame_index = -1

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def check_frame_size(self, frame: np.ndarray) -> np.ndarray:
        """Check a frame (:func:`check_frame`) and that it has the size of the video's first frame."""
        frame = check_frame(frame)
        size = frame.shape[:2]
        known = getattr(self, "_video_size", None)
        if known is None:
            self._video_size = size
        elif size != known:
            raise UserError(f"frame {self.frame_index + 1} is {size[1]}x{size[0]} but the video started at "
                            f"{known[1]}x{known[0]}; every frame of a video must have one size (call init() "
                            "to start a new video)")
        return frame

    def preprocess(self, frame: np.ndarray) -> Frame:
        """Letterbox a BGR frame (of the video's size) for the network."""
        frame = self.check_frame_size(frame)
        image, r = network_input(frame, self.input_size, self.frame_scale)
        tensor = torch.from_numpy(image)[None].to(self.device).contiguous(memory_format=torch.channels_last)
        return Frame(tensor, r, frame.shape[:2])

    def features(self, frame: Frame) -> FrameFeatures:
        """The network's features of a frame (without interaction tokens)."""
        return self.model.extract_features(frame.image)

    def reference_features(self, frame: Frame) -> FrameFeatures:
        """What later frames read of a prompt frame: C4 (and C3) with its interaction tokens, computed once."""
        return self.model.with_tokens(self.features(frame)).for_reference()

    def box_maps(self, boxes_xyxy: np.ndarray, r: float) -> torch.Tensor:
        """Stride-8 reference maps of (K, 4) original-pixel boxes, as (1, K, H/8, W/8) on the device."""
        h, w = self.input_size
        maps = box_label_map(torch.from_numpy(np.asarray(boxes_xyxy) * r).float(), h, w)
        return downsample_label_map(maps).to(self.device).permute(1, 0, 2, 3)

    def detect_targets(self, ref: FrameFeatures, cur: FrameFeatures, maps: torch.Tensor,
                       upstream_fp16: bool = False) -> tuple[HeadOutput, torch.Tensor, torch.Tensor]:
        """Propagate K reference maps to ``cur`` and run the SOT head once per target.

        Args:
            ref, cur: features of the reference and current frames.
            maps: (1, K, H/8, W/8) reference maps.
            upstream_fp16: upstream's float16 propagation.

        Returns:
            head output (batch = targets), decoded (K, N, 6), anchor locations (N, 2).
        """
        e_ref, e_cur = self.model.interact(ref, cur)
        priors = self.model.propagate(e_ref, e_cur, maps, upstream_fp16=upstream_fp16)
        head_out = self.model.detect_targets(cur, [p.transpose(0, 1) for p in priors])  # (K, 1, h, w) priors
        decoded, locations = self.model.decode(head_out)
        return head_out, decoded, locations

    def reset(self) -> None:
        """Forget the video: the next call must be ``init``."""
        self.frame_index = -1
        self._video_size = None  # (H, W) of the first frame, which every later frame must match
        self.frame_scale = 1.0  # frames fill the input; < 1 shrinks them (SOTConfig.max_target_size)

    def fit_targets(self, boxes_xyxy: np.ndarray, frame_hw: tuple[int, int], max_target_size: float) -> None:
        """Choose the video's frame scale so that the largest prompted target's longer side is at most
        ``max_target_size`` of the input's shorter side (0: off; the scale never exceeds 1)."""
        self.frame_scale = 1.0
        if max_target_size <= 0 or len(boxes_xyxy) == 0:
            return
        h, w = self.input_size
        r = min(h / frame_hw[0], w / frame_hw[1])
        sides = np.maximum(boxes_xyxy[:, 2] - boxes_xyxy[:, 0], boxes_xyxy[:, 3] - boxes_xyxy[:, 1])
        size = float(sides.max()) * r / min(h, w)
        if size > max_target_size:
            self.frame_scale = max(0.25, max_target_size / size)

    def _require_init(self) -> None:
        if self.frame_index < 0:
            raise UserError(f"{self.task} tracker: call init(frame, ...) on the first frame before step()")

    def correction_ids(self, ids: Any, count: int) -> list[int]:
        """The tracked ids that ``count`` corrected boxes or masks are for (``ids`` None: every target, in order).

        Raises:
            UserError: before any frame is tracked, or for an id that is not tracked.
        """
        self._require_init()
        known = list(self.object_ids)
        if ids is None:
            if count != len(known):
                raise UserError(f"{count} corrections for {len(known)} tracked targets {known}; pass ids= to say "
                                "which targets they are for")
            return known
        ids = check_prompt_ids(ids, count)
        unknown = sorted(set(ids) - set(known))
        if unknown:
            raise UserError(f"cannot correct target ids {unknown}: they are not tracked (tracked: {known}); "
                            "use add_objects() for new targets")
        return ids

    def snapshot(self) -> dict[str, Any]:
        """A copy of the video state (everything but :attr:`shared_attributes`: the networks and the settings):
        :meth:`restore` it to track again from the next frame, e.g. with a correction, without tracking the
        earlier frames again."""
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k not in self.shared_attributes}

    def restore(self, state: dict[str, Any]) -> None:
        """Go back to a :meth:`snapshot` (the snapshot stays usable for another restore)."""
        vars(self).update(copy.deepcopy(state))

    def correct(self, frame: np.ndarray, **prompts: Any) -> FrameResult:
        """Call instead of ``step`` on a frame where the user fixed targets (``boxes=`` or ``masks=``, ``ids=``).

        The result holds the given boxes/masks for those ids (state ``tracked``, score 1) and the other
        targets as ``step`` tracks them; the frame becomes an extra reference for the corrected ids.
        """
        raise UserError(f"{self.task.upper()} finds its objects itself and takes no corrections (SOT and VOS do)")

    def init(self, frame: np.ndarray, **prompts: Any) -> FrameResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, frame: np.ndarray) -> FrameResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def track(self, source: str | Path | int | Any, **prompts: Any) -> Iterator[FrameResult]:
        """Track a whole video, yielding one result per frame (the first from ``init``).

        Args:
            source: a video path, folder of frames, webcam index, URL, or any iterable of BGR frames.
            prompts: what ``init`` needs (``boxes=`` for SOT, ``masks=`` for VOS).
        """
        from ..data.video_io import open_video

        frames = source if not isinstance(source, str | Path | int) else open_video(source)
        self.reset()
        try:
            with torch.inference_mode():
                for i, frame in enumerate(frames):
                    yield self.init(frame, **prompts) if i == 0 else self.step(frame)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()
