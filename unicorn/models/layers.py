"""Small building blocks shared by the backbone, neck and heads.

Naming follows the paper's YOLOX/ConvNeXt parts. Every normalisation that upstream converts
from BatchNorm to GroupNorm is built by :func:`make_norm`, so the choice lives in one place.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Upstream sets BatchNorm eps to 1e-3 (YOLOX init) before turning every BN into GroupNorm(16).
YOLOX_NORM_EPS = 1e-3
YOLOX_GN_GROUPS = 16


def make_norm(kind: str, channels: int, eps: float = YOLOX_NORM_EPS) -> nn.Module:
    """Build the normalisation layer used in necks and heads.

    Args:
        kind: ``"gn"`` (upstream: GroupNorm with 16 groups) or ``"bn"`` (BatchNorm2d).
        channels: number of channels.
        eps: numerical epsilon (upstream uses 1e-3 for both).
    """
    if kind == "gn":
        return nn.GroupNorm(YOLOX_GN_GROUPS, channels, eps=eps)
    if kind == "bn":
        return nn.BatchNorm2d(channels, eps=eps, momentum=0.03)
    raise ValueError(f"unknown norm {kind!r}; use 'gn' or 'bn'")


def make_act(kind: str) -> nn.Module:
    """Activation by name: ``silu``, ``relu``, ``relu6`` or ``identity``."""
    table = {"silu": nn.SiLU, "relu": nn.ReLU, "relu6": nn.ReLU6, "identity": nn.Identity}
    if kind not in table:
        raise ValueError(f"unknown activation {kind!r}; choose one of {sorted(table)}")
    return table[kind]()


class ConvNormAct(nn.Module):
    """Conv (no bias) -> norm -> activation, the YOLOX ``BaseConv``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, norm: str = "gn",
                 act: str = "silu") -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, padding=(kernel - 1) // 2, bias=False)
        self.norm = make_norm(norm, c_out)
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class Bottleneck(nn.Module):
    """1x1 then 3x3 ConvNormAct, with an optional residual (off inside the PAFPN)."""

    def __init__(self, c_in: int, c_out: int, shortcut: bool, norm: str = "gn", act: str = "silu") -> None:
        super().__init__()
        self.conv1 = ConvNormAct(c_in, c_out, 1, norm=norm, act=act)
        self.conv2 = ConvNormAct(c_out, c_out, 3, norm=norm, act=act)
        self.use_add = shortcut and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(self.conv1(x))
        return y + x if self.use_add else y


class CSPLayer(nn.Module):
    """YOLOX cross-stage-partial block: two 1x1 branches, ``n`` bottlenecks on one, concat, 1x1."""

    def __init__(self, c_in: int, c_out: int, n: int, shortcut: bool = False, norm: str = "gn",
                 act: str = "silu") -> None:
        super().__init__()
        hidden = int(c_out * 0.5)
        self.conv1 = ConvNormAct(c_in, hidden, 1, norm=norm, act=act)
        self.conv2 = ConvNormAct(c_in, hidden, 1, norm=norm, act=act)
        self.conv3 = ConvNormAct(2 * hidden, c_out, 1, norm=norm, act=act)
        self.m = nn.Sequential(*[Bottleneck(hidden, hidden, shortcut, norm, act) for _ in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(torch.cat([self.m(self.conv1(x)), self.conv2(x)], dim=1))


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of a (B, C, H, W) tensor (ConvNeXt "channels_first")."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Same maths as upstream's manual version; F.layer_norm on a permuted view is faster on CPU.
        x = F.layer_norm(x.permute(0, 2, 3, 1), (x.shape[1],), self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class DropPath(nn.Module):
    """Stochastic depth per sample (identity at inference or when ``p == 0``)."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block: 7x7 depthwise conv, LayerNorm, MLP x4 with GELU, layer scale, residual.

    Args:
        dim: channels.
        drop_path: stochastic-depth rate.
        layer_scale_init: initial layer scale (upstream Unicorn: 1.0).
        pointwise_as_conv: run the two Linear layers as 1x1 convolutions on a channels-last view
            (same maths, ~1.7x faster on CPU, different rounding). ConvNeXt uses it in its first
            three stages and keeps Linear in the last one (see ``EXACT_LINEAR_STAGE``): with every
            stage converted the decoded boxes move beyond the golden fixture's 5e-3 px tolerance.
    """

    def __init__(self, dim: int, drop_path: float = 0.0, layer_scale_init: float = 1.0,
                 pointwise_as_conv: bool = False) -> None:
        super().__init__()
        self.pointwise_as_conv = pointwise_as_conv
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale_init * torch.ones(dim))
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))  # (B, H, W, C)
        if self.pointwise_as_conv:  # parameters keep their Linear shapes either way
            y = y.permute(0, 3, 1, 2)  # (B, C, H, W), channels-last in memory
            y = F.conv2d(y, self.pwconv1.weight[:, :, None, None], self.pwconv1.bias)
            y = F.conv2d(self.act(y), self.pwconv2.weight[:, :, None, None], self.pwconv2.bias)
            return x + self.drop_path(y * self.gamma[:, None, None])
        y = self.gamma * self.pwconv2(self.act(self.pwconv1(y)))
        return x + self.drop_path(y.permute(0, 3, 1, 2))


def aligned_bilinear(x: torch.Tensor, factor: int) -> torch.Tensor:
    """CondInst's corner-aligned bilinear upsampling by an integer ``factor``.

    Args:
        x: (N, C, h, w) tensor.
        factor: integer scale >= 1.

    Returns:
        (N, C, factor*h, factor*w) tensor.
    """
    if factor == 1:
        return x
    h, w = x.shape[-2:]
    x = F.pad(x, (0, 1, 0, 1), mode="replicate")
    x = F.interpolate(x, size=(factor * h + 1, factor * w + 1), mode="bilinear", align_corners=True)
    x = F.pad(x, (factor // 2, 0, factor // 2, 0), mode="replicate")
    return x[:, :, : factor * h, : factor * w]
