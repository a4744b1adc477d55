"""The unified embedding: C4 of two frames -> one deformable encoder layer -> stride-8 embeddings."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .deformable import DeformableEncoderLayer, grid_reference_points
from .position import LearnedPositionEmbedding


@dataclass
class FrameTokens:
    """A frame's stride-16 tokens ready for interaction (cacheable for a reference frame).

    Attributes:
        src: (B, h*w, dim) bottleneck features.
        pos: (1, h*w, dim) position embedding (without the level embedding).
        size: (h, w) of the stride-16 grid.
    """

    src: torch.Tensor
    pos: torch.Tensor
    size: tuple[int, int]


class UnifiedEmbedding(nn.Module):
    """Turns the C4 features of a reference and a current frame into pixel embeddings.

    Args:
        c4_channels: channels of the backbone's stride-16 output.
        dim: interaction width (256).
        embed_dim: embedding channels at stride 8 (128).
        ffn_dim: encoder FFN width (1024).
        dropout: encoder dropout (0.1 in training).
        pos_table: side of the learned position table (40).
    """

    def __init__(self, c4_channels: int, dim: int = 256, embed_dim: int = 128, ffn_dim: int = 1024,
                 dropout: float = 0.1, pos_table: int = 40) -> None:
        super().__init__()
        self.bottleneck = nn.Sequential(nn.Conv2d(c4_channels, dim, 1), nn.GroupNorm(32, dim))
        nn.init.xavier_uniform_(self.bottleneck[0].weight)
        nn.init.zeros_(self.bottleneck[0].bias)
        self.pos_embed = LearnedPositionEmbedding(dim, pos_table)
        self.level_embed = nn.Parameter(torch.empty(2, dim).normal_())
        self.encoder = DeformableEncoderLayer(dim, ffn_dim, dropout, n_levels=2)
        self.upsample = nn.Sequential(
            nn.PixelShuffle(2),
            nn.Conv2d(dim // 4, dim, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(dim, embed_dim, 3, padding=1),
        )
        self.embed_dim = embed_dim

    def tokens(self, c4: torch.Tensor) -> FrameTokens:
        """Args: c4: (B, C4, h, w). Returns: the frame's tokens."""
        h, w = c4.shape[-2:]
        src = self.bottleneck(c4).flatten(2).transpose(1, 2)
        pos = self.pos_embed(h, w).flatten(2).transpose(1, 2)
        return FrameTokens(src, pos, (h, w))

    def interact(self, ref: FrameTokens, cur: FrameTokens) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint deformable attention over both frames.

        Returns: (F_ref, F_cur), each (B, dim, h, w).
        """
        if ref.size != cur.size:
            raise ValueError(f"reference grid {ref.size} and current grid {cur.size} differ; "
                             "both frames must be preprocessed to the same input size")
        h, w = cur.size
        b = max(ref.src.shape[0], cur.src.shape[0])
        src = torch.cat([ref.src.expand(b, -1, -1), cur.src.expand(b, -1, -1)], 1)
        pos = torch.cat([ref.pos + self.level_embed[0], cur.pos + self.level_embed[1]], 1)
        shapes = [(h, w), (h, w)]
        points = grid_reference_points(shapes, src.device).to(src.dtype)
        out = self.encoder(src, pos, points, shapes)
        f_ref, f_cur = out.split(h * w, dim=1)
        return (f_ref.transpose(1, 2).reshape(b, -1, h, w), f_cur.transpose(1, 2).reshape(b, -1, h, w))

    def embed(self, feature: torch.Tensor) -> torch.Tensor:
        """Args: feature: (B, dim, h, w) at stride 16. Returns: (B, embed_dim, 2h, 2w) at stride 8."""
        return self.upsample(feature)
