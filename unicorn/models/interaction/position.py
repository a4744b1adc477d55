"""Learned 2-D position embedding (a 40x40 table resized to the feature grid)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LearnedPositionEmbedding(nn.Module):
    """Row and column embeddings concatenated as [column (C/2), row (C/2)] and resized bilinearly.

    Args:
        dim: output channels (upstream 256).
        table_size: side of the learned table (upstream 40).
    """

    def __init__(self, dim: int = 256, table_size: int = 40) -> None:
        super().__init__()
        self.row_embed = nn.Embedding(table_size, dim // 2)
        self.col_embed = nn.Embedding(table_size, dim // 2)
        self.table_size = table_size
        nn.init.uniform_(self.row_embed.weight)
        nn.init.uniform_(self.col_embed.weight)

    def forward(self, height: int, width: int) -> torch.Tensor:
        """Returns: (1, dim, height, width) position embedding."""
        n = self.table_size
        cols = self.col_embed.weight[:, None, :].expand(n, n, -1).transpose(0, 1)  # (y, x, C/2) by x
        rows = self.row_embed.weight[:, None, :].expand(n, n, -1)  # (y, x, C/2) by y
        table = torch.cat([cols, rows], dim=-1).permute(2, 0, 1).unsqueeze(0)  # (1, C, n, n)
        return F.interpolate(table, size=(height, width), mode="bilinear", align_corners=False)
