"""What one frame's pass through the backbone and neck leaves for the later steps, and the stride-8
grid the embeddings live on (shared by the model, its losses and the exported graphs)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .interaction.embedding import FrameTokens

EMBED_STRIDE = 8


@dataclass
class FrameFeatures:
    """Everything computed from one frame alone (cacheable for a reference frame).

    Attributes:
        fpn: [P3, P4, P5] neck outputs (empty for features kept only as a reference, see :meth:`for_reference`).
        c4: (B, C4, H/16, W/16) raw backbone stride-16 feature.
        tokens: interaction tokens of ``c4``, or None while not computed (see ``Unicorn.with_tokens``).
        c3: (B, C3, H/8, W/8) raw backbone stride-8 feature (kept for a memory embedding).
    """

    fpn: list[torch.Tensor]
    c4: torch.Tensor
    tokens: FrameTokens | None = None
    c3: torch.Tensor | None = None

    def for_reference(self) -> FrameFeatures:
        """The part a later frame reads when this one is its reference: C4, C3 and the tokens, no FPN levels."""
        return FrameFeatures([], self.c4, self.tokens, self.c3)


def id_feature_grid(centers_xy: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
    """Normalised grid of box centres on the stride-8 map. Returns (N, 2) (x, y) in [-1, 1]."""
    h, w = hw
    c = centers_xy / EMBED_STRIDE - 0.5
    x = c[:, 0].clamp(0, w - 1) / (w - 1)
    y = c[:, 1].clamp(0, h - 1) / (h - 1)
    return (torch.stack([x, y], 1) - 0.5) * 2
