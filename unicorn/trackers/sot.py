"""Single-object tracking: the first frame is the only reference; its box map is propagated."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models.interaction.prior import box_label_map, downsample_label_map
from ..models.postprocess import box_to_frame, postprocess
from ..models.unicorn import FrameFeatures, Unicorn
from ..types import FrameResult
from .base import BaseTracker, check_boxes_xywh


@dataclass(frozen=True)
class SOTConfig:
    """Upstream SOT thresholds.

    Attributes:
        conf_thresh: minimum obj * cls score kept before NMS (0.001: high recall).
        nms_thresh: NMS IoU (0.65).
        upstream_fp16: propagate the prior with upstream's float16 rounding instead of float32.
    """

    conf_thresh: float = 0.001
    nms_thresh: float = 0.65
    upstream_fp16: bool = False


class SOTTracker(BaseTracker):
    """Tracks one or several boxes; all targets share one backbone pass per frame.

    Args:
        model: the network.
        config: thresholds.
        input_size: network input (H, W).
    """

    task = "sot"

    def __init__(self, model: Unicorn, config: SOTConfig | None = None,
                 input_size: tuple[int, int] | None = None) -> None:
        super().__init__(model, input_size)
        self.config = config or SOTConfig()
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._ref: FrameFeatures | None = None
        self._maps: torch.Tensor | None = None  # (1, K, h, w) reference box maps at stride 8
        self._ids = np.zeros((0,), np.int64)
        self._boxes = np.zeros((0, 4), np.float64)  # last xyxy per target, original pixels
        self._scores = np.zeros((0,), np.float32)

    def init(self, frame: np.ndarray, boxes, ids=None) -> FrameResult:
        """Start a video.

        Args:
            frame: (H, W, 3) uint8 BGR first frame.
            boxes: (x, y, w, h) or (K, 4) of them, in pixels.
            ids: optional track ids (default 1..K).
        """
        self.reset()
        f = self.preprocess(frame)
        xywh = check_boxes_xywh(boxes, f.size)
        xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)
        self._ids = np.arange(1, len(xyxy) + 1, dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
        h, w = self.input_size
        maps = box_label_map(torch.from_numpy(xyxy * f.r).float(), h, w)
        self._maps = downsample_label_map(maps).to(self.device).permute(1, 0, 2, 3)  # (1, K, h/8, w/8)
        with torch.inference_mode():
            self._ref = self.features(f)
            self.model.tokens(self._ref)
        self._boxes = xyxy
        self._scores = np.ones(len(xyxy), np.float32)
        self.frame_index = 0
        return self._result(f.size)

    def step(self, frame: np.ndarray) -> FrameResult:
        """Track the targets into the next frame."""
        self._require_init()
        f = self.preprocess(frame)
        cfg = self.config
        with torch.inference_mode():
            cur = self.features(f)
            e_ref, e_cur = self.model.interact(self._ref, cur)
            priors = self.model.propagate(e_ref, e_cur, self._maps, upstream_fp16=cfg.upstream_fp16)
            priors = [p.transpose(0, 1) for p in priors]  # one batch entry per target: (K, 1, h, w)
            decoded, _ = self.model.decode(self.model.detect(cur, priors, "sot"))
            for k in range(len(self._ids)):
                dets, _ = postprocess(decoded[k], 1, cfg.conf_thresh, cfg.nms_thresh)
                if len(dets):  # top-1; otherwise keep the previous box
                    self._boxes[k] = box_to_frame(dets[0, :4], f.r, self.input_size)
                    self._scores[k] = float(dets[0, 4] * dets[0, 5])
        self.frame_index += 1
        return self._result(f.size)

    def _result(self, size: tuple[int, int]) -> FrameResult:
        return FrameResult(self.frame_index, size, self._ids.copy(), self._boxes.astype(np.float32),
                           self._scores.copy(), np.zeros(len(self._ids), np.int64))
