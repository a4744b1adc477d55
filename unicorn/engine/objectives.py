"""Training objectives other than the model's own tracking loss (``Unicorn.forward``)."""

from __future__ import annotations

import torch
from torch import nn

from ..models.heads.detection import TASK_MOT
from ..models.losses.detection import detection_loss


class DetectionObjective(nn.Module):
    """Detection pre-training loss (upstream ``ExpDet``): the current frame of every pair, zero prior,
    class predictors, SimOTA-assigned YOLOX loss.

    Wrap this module (not the model) in DDP so gradients are synchronised; it holds the model as
    ``self.model``, so checkpoints keep saving the model itself.

    Args:
        model: a Unicorn model (plain detectors included).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, labels: torch.Tensor, task_ids: torch.Tensor,
                masks: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Loss of a batch of pairs (the reference frames are ignored; still images give identical pairs).

        Args:
            images: (B, 2, 3, H, W) BGR 0..255.
            labels: (B, 2, M, 6) ``[cls, cx, cy, w, h, track_id]`` rows, zero rows as padding.
            task_ids: (B,) unused (every sample is a detection sample).
            masks: (B, 2, M, H/2, W/2) instance masks (CondInst pre-training) or None.

        Returns:
            ``total_loss`` and the terms suffixed ``_mot`` (``iou_loss_mot`` ...), as the tracking loss names them.
        """
        b, _, _, h, w = images.shape
        feats = self.model.extract_features(images[:, 1])
        head_out = self.model.detect(feats, None, TASK_MOT)
        kwargs = {}
        if masks is not None:
            kwargs = {"masks": masks[:, 1], "mask_outputs": self.model.segment(feats)}
        out = detection_loss(self.model, head_out, labels[:, 1, :, :5].float(), (h, w), **kwargs)
        return {"total_loss": out["total_loss"], **{f"{k}_mot": v for k, v in out.items() if k != "total_loss"}}


__all__ = ["DetectionObjective"]
