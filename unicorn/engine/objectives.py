"""Training objectives other than the model's own tracking loss (``Unicorn.forward``)."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import UserError
from ..models.features import EMBED_STRIDE
from ..models.losses.detection import detection_loss
from ..models.losses.memory import label_cells, propagation_loss
from ..models.losses.unicorn_loss import matched_objects


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
        head_out = self.model.detect_objects(feats)
        kwargs = {}
        if masks is not None:
            kwargs = {"masks": masks[:, 1], "mask_outputs": self.model.segment(feats)}
        out = detection_loss(self.model, head_out, labels[:, 1, :, :5].float(), (h, w), **kwargs)
        return {"total_loss": out["total_loss"], **{f"{k}_mot": v for k, v in out.items() if k != "total_loss"}}




class MemoryObjective(nn.Module):
    """Loss of the ``memory`` stage: a memory embedding learns to propagate mask labels between frames.

    The backbone runs without gradients (it stays frozen: the embedding keeps what its ImageNet
    features know and learns on top of them); each pair's reference labels (every object found in
    both frames, at stride 8) are propagated to the current frame and compared with its own
    (:func:`~unicorn.models.losses.memory.propagation_loss`).

    Args:
        model: a Unicorn model with a memory embedding.
        topk: neighbours per pixel, as the trackers use (``SOTConfig.topk``).
    """

    def __init__(self, model: nn.Module, topk: int = 10) -> None:
        super().__init__()
        if not getattr(model, "has_memory_embedding", False):
            raise UserError("stage 'memory' trains a memory embedding; use a model with embedding: memory "
                            "(unicorn-lite)")
        self.model = model
        self.topk = topk

    def forward(self, images: torch.Tensor, labels: torch.Tensor, task_ids: torch.Tensor,
                masks: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Args as :class:`DetectionObjective` (masks required). Returns ``total_loss`` and ``corr_loss_sot``."""
        if masks is None:
            raise ValueError("the memory stage needs masks (VOS datasets)")
        b, _, _, h, w = images.shape
        with torch.no_grad():
            c3, c4, _ = self.model.backbone(images.reshape(2 * b, 3, h, w))
            if not bool(self.model.embedding.projection_ready):  # start from the features' principal axes
                self.model.embedding.init_projection(c3, c4)
                if torch.distributed.is_available() and torch.distributed.is_initialized():
                    torch.distributed.broadcast(self.model.embedding.project.weight.data, 0)  # rank 0's axes
        embed = self.model.embedding(c3, c4).view(b, 2, -1, *c3.shape[-2:])
        temperature = self.model.embedding.log_temperature.exp()
        losses = []
        for i in range(b):
            pairs = matched_objects(labels[i])
            if not pairs:
                continue
            ref = label_cells(masks[i, 0, [r for r, _ in pairs]], EMBED_STRIDE // 2)
            cur = label_cells(masks[i, 1, [c for _, c in pairs]], EMBED_STRIDE // 2)
            losses.append(propagation_loss(embed[i, 0], embed[i, 1], ref, cur, self.topk, temperature))
        loss = torch.stack(losses).mean() if losses else embed.sum() * 0.0
        return {"total_loss": loss, "corr_loss_sot": loss.detach()}


__all__ = ["DetectionObjective", "MemoryObjective"]
