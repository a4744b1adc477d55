"""CondInst mask head: a shared mask branch, per-instance dynamic 1x1 convs, convex upsampling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import aligned_bilinear, make_norm

# Dynamic mask head: 3 layers, 8 channels, input = 8 mask features + 2 relative coordinates.
MASK_CHANNELS = 8
WEIGHT_NUMS = (80, 64, 8)
BIAS_NUMS = (8, 8, 1)
NUM_DYNAMIC_PARAMS = sum(WEIGHT_NUMS) + sum(BIAS_NUMS)  # 169
SIZES_OF_INTEREST = (64, 128, 256, 512, 1024)


def _conv_norm_relu(c_in: int, c_out: int, norm: str) -> nn.Sequential:
    conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    nn.init.kaiming_uniform_(conv.weight, a=1)
    return nn.Sequential(conv, make_norm(norm, c_out), nn.ReLU(inplace=True))


class MaskBranch(nn.Module):
    """Merges P3..P5 into 8-channel mask features at stride 8, plus convex-upsampling weights.

    Args:
        in_channels: channels of P3, P4, P5.
        channels: branch width (128).
        num_convs: tower depth (4).
        up_rate: convex upsampling factor (4: stride 8 -> stride 2).
        norm: ``"gn"`` as upstream, or ``"bn"``.
    """

    def __init__(self, in_channels: tuple[int, ...], channels: int = 128, num_convs: int = 4,
                 up_rate: int = 4, norm: str = "gn") -> None:
        super().__init__()
        self.refine = nn.ModuleList([_conv_norm_relu(c, channels, norm) for c in in_channels])
        tower = [_conv_norm_relu(channels, channels, norm) for _ in range(num_convs)]
        tower.append(nn.Conv2d(channels, MASK_CHANNELS, 1))
        self.tower = nn.Sequential(*tower)
        self.up_mask_layer = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, up_rate * up_rate * 9, 1),
        )
        self.up_rate = up_rate

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: feats: [P3, P4, P5].

        Returns:
            mask_feats: (B, 8, h, w) at stride 8; up_weights: (B, 9 * up_rate^2, h, w).
        """
        x = self.refine[0](feats[0])
        for i in range(1, len(feats)):
            y = self.refine[i](feats[i])
            x = x + aligned_bilinear(y, x.shape[-2] // y.shape[-2])
        return self.tower(x), self.up_mask_layer(x)


def mask_locations(h: int, w: int, stride: int, device: torch.device) -> torch.Tensor:
    """Pixel centres of a stride-``stride`` grid. Returns (h*w, 2) as (x, y) = stride*index + stride//2."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32) * stride,
                            torch.arange(w, device=device, dtype=torch.float32) * stride, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], 1) + stride // 2


def dynamic_mask_logits(mask_feats: torch.Tensor, params: torch.Tensor, instance_locations: torch.Tensor,
                        fpn_levels: torch.Tensor, stride: int = 8) -> torch.Tensor:
    """Apply each instance's dynamic 1x1 conv stack to the shared mask features.

    Args:
        mask_feats: (1, 8, h, w) mask features of one image.
        params: (M, 169) dynamic parameters.
        instance_locations: (M, 2) anchor centres (x, y) in input pixels.
        fpn_levels: (M,) level index (0, 1, 2) of each instance's anchor.
        stride: stride of ``mask_feats``.

    Returns:
        (M, 1, h, w) mask logits at the mask-feature stride.
    """
    m = params.shape[0]
    _, c, h, w = mask_feats.shape
    locs = mask_locations(h, w, stride, mask_feats.device)
    rel = (instance_locations.reshape(-1, 1, 2) - locs.reshape(1, -1, 2)).permute(0, 2, 1).float()
    soi = torch.tensor(SIZES_OF_INTEREST, dtype=torch.float32, device=params.device)[fpn_levels.long()]
    rel = (rel / soi.reshape(-1, 1, 1)).to(mask_feats.dtype)
    x = torch.cat([rel, mask_feats.reshape(1, c, h * w).expand(m, -1, -1)], 1).reshape(1, -1, h, w)
    splits = torch.split_with_sizes(params, list(WEIGHT_NUMS) + list(BIAS_NUMS), dim=1)
    weights, biases = splits[:3], splits[3:]
    for i in range(3):
        out_ch = MASK_CHANNELS if i < 2 else 1
        x = F.conv2d(x, weights[i].reshape(m * out_ch, -1, 1, 1), biases[i].reshape(m * out_ch), groups=m)
        if i < 2:
            x = F.relu(x)
    return x.reshape(m, 1, h, w)


def convex_upsample(logits: torch.Tensor, up_weights: torch.Tensor, rate: int) -> torch.Tensor:
    """RAFT-style learned convex upsampling: each output pixel mixes its 3x3 coarse neighbours.

    Args:
        logits: (M, 1, h, w).
        up_weights: (1, 9 * rate^2, h, w) mixing logits (softmax over the 9 neighbours).
        rate: integer factor.

    Returns:
        (M, 1, rate*h, rate*w).
    """
    m, _, h, w = logits.shape
    weights = torch.softmax(up_weights.view(1, 1, 9, rate, rate, h, w), dim=2)
    neigh = F.unfold(logits, [3, 3], padding=1).view(m, 1, 9, 1, 1, h, w)
    up = (weights * neigh).sum(2).permute(0, 1, 4, 2, 5, 3)
    return up.reshape(m, 1, rate * h, rate * w)
