"""Multi-scale deformable attention (Deformable DETR) in plain PyTorch, and its encoder layer.

Unicorn uses one encoder layer whose two "levels" are the two frames, so every query samples
``n_points`` locations in the reference frame and in the current frame, per head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def ms_deform_attn(value: torch.Tensor, shapes: list[tuple[int, int]], locations: torch.Tensor,
                   weights: torch.Tensor) -> torch.Tensor:
    """Bilinear sampling of every level at the given locations, weighted and summed.

    Args:
        value: (B, S, M, D) values of all levels, flattened level by level (S = sum of h*w).
        shapes: [(h, w)] per level.
        locations: (B, Q, M, L, P, 2) sampling points, (x, y) normalised to [0, 1].
        weights: (B, Q, M, L, P) attention weights (softmax over L*P).

    Returns:
        (B, Q, M*D) attended values.
    """
    b, _, m, d = value.shape
    _, q, _, n_levels, n_points, _ = locations.shape
    grids = 2.0 * locations - 1.0
    sampled = []
    start = 0
    for lvl, (h, w) in enumerate(shapes):
        v = value[:, start:start + h * w].permute(0, 2, 3, 1).reshape(b * m, d, h, w)
        g = grids[:, :, :, lvl].transpose(1, 2).reshape(b * m, q, n_points, 2)
        sampled.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))
        start += h * w
    # (B*M, D, Q, L*P) weighted by (B*M, 1, Q, L*P)
    stacked = torch.stack(sampled, dim=-2).flatten(-2)
    attn = weights.transpose(1, 2).reshape(b * m, 1, q, n_levels * n_points)
    out = (stacked * attn).sum(-1).view(b, m * d, q)
    return out.transpose(1, 2).contiguous()


class MSDeformAttn(nn.Module):
    """Deformable attention projections (names and shapes as Deformable DETR).

    Args:
        dim: model width (256).
        n_levels: number of levels (2 = the two frames).
        n_heads: heads (8).
        n_points: sampling points per head and level (4).
    """

    def __init__(self, dim: int = 256, n_levels: int = 2, n_heads: int = 8, n_points: int = 4) -> None:
        super().__init__()
        self.n_levels, self.n_heads, self.n_points = n_levels, n_heads, n_points
        self.sampling_offsets = nn.Linear(dim, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(dim, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(dim, dim)
        self.output_proj = nn.Linear(dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Deformable-DETR initialisation: zero offsets with a per-head direction bias."""
        nn.init.constant_(self.sampling_offsets.weight, 0.0)
        thetas = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        grid = torch.stack([thetas.cos(), thetas.sin()], -1)
        grid = (grid / grid.abs().max(-1, keepdim=True)[0]).view(self.n_heads, 1, 1, 2)
        grid = grid.repeat(1, self.n_levels, self.n_points, 1)
        for i in range(self.n_points):
            grid[:, :, i, :] *= i + 1
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.view(-1))
        nn.init.constant_(self.attention_weights.weight, 0.0)
        nn.init.constant_(self.attention_weights.bias, 0.0)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.constant_(self.value_proj.bias, 0.0)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.constant_(self.output_proj.bias, 0.0)

    def forward(self, query: torch.Tensor, reference_points: torch.Tensor, value_in: torch.Tensor,
                shapes: list[tuple[int, int]]) -> torch.Tensor:
        """Args:
            query: (B, Q, dim) queries (features + position).
            reference_points: (Q, 2) normalised (x, y) of each query, shared by all levels.
            value_in: (B, S, dim) features to attend over (no position).
            shapes: [(h, w)] per level.

        Returns: (B, Q, dim).
        """
        b, q, _ = query.shape
        m, lv, p = self.n_heads, self.n_levels, self.n_points
        value = self.value_proj(value_in).view(b, value_in.shape[1], m, -1)
        offsets = self.sampling_offsets(query).view(b, q, m, lv, p, 2)
        weights = self.attention_weights(query).view(b, q, m, lv * p).softmax(-1).view(b, q, m, lv, p)
        normaliser = torch.tensor([[w, h] for h, w in shapes], dtype=query.dtype, device=query.device)
        locations = reference_points[None, :, None, None, None, :] + offsets / normaliser[None, None, None, :,
                                                                                            None, :]
        return self.output_proj(ms_deform_attn(value, shapes, locations, weights))


class DeformableEncoderLayer(nn.Module):
    """Post-norm Deformable-DETR encoder layer: attention, add & norm, FFN (ReLU), add & norm."""

    def __init__(self, dim: int = 256, ffn_dim: int = 1024, dropout: float = 0.1, n_levels: int = 2,
                 n_heads: int = 8, n_points: int = 4) -> None:
        super().__init__()
        self.self_attn = MSDeformAttn(dim, n_levels, n_heads, n_points)
        self.dropout1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.linear1 = nn.Linear(dim, ffn_dim)
        self.dropout2 = nn.Dropout(dropout)
        self.linear2 = nn.Linear(ffn_dim, dim)
        self.dropout3 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, src: torch.Tensor, pos: torch.Tensor, reference_points: torch.Tensor,
                shapes: list[tuple[int, int]]) -> torch.Tensor:
        """Args: src, pos: (B, S, dim); reference_points: (S, 2). Returns: (B, S, dim)."""
        src = self.norm1(src + self.dropout1(self.self_attn(src + pos, reference_points, src, shapes)))
        ffn = self.linear2(self.dropout2(F.relu(self.linear1(src))))
        return self.norm2(src + self.dropout3(ffn))


def grid_reference_points(shapes: list[tuple[int, int]], device: torch.device) -> torch.Tensor:
    """Pixel-centre reference points of every level, normalised to [0, 1].

    Returns: (S, 2) with (x, y) = ((j + 0.5) / w, (i + 0.5) / h), level by level.
    """
    points = []
    for h, w in shapes:
        ys = torch.linspace(0.5, h - 0.5, h, dtype=torch.float32, device=device) / h
        xs = torch.linspace(0.5, w - 0.5, w, dtype=torch.float32, device=device) / w
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        points.append(torch.stack([xx.reshape(-1), yy.reshape(-1)], -1))
    return torch.cat(points, 0)
