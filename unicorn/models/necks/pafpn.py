"""YOLOX path-aggregation FPN (top-down then bottom-up), as used by Unicorn."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import ConvNormAct, CSPLayer


class PAFPN(nn.Module):
    """YOLOX PAFPN. Output channels equal the input channels (C3, C4, C5) unless ``channels`` is given.

    Args:
        in_channels: channels of C3, C4, C5.
        depth: CSP depth multiplier (upstream 1.0 -> 3 bottlenecks per CSP layer).
        norm: ``"gn"`` (upstream) or ``"bn"``.
        act: activation name (upstream ``"silu"``).
        channels: the neck's own widths (adds 1x1 adapters); None = the input channels.
    """

    def __init__(self, in_channels: tuple[int, int, int], depth: float = 1.0, norm: str = "gn",
                 act: str = "silu", channels: tuple[int, int, int] | None = None) -> None:
        super().__init__()
        channels = tuple(channels or in_channels)
        self.adjust = None
        if channels != tuple(in_channels):  # 1x1 adapters to the neck's own widths
            self.adjust = nn.ModuleList([ConvNormAct(a, b, 1, norm=norm, act=act)
                                         for a, b in zip(in_channels, channels)])
        c3, c4, c5 = channels
        n = max(round(3 * depth), 1)
        self.out_channels = channels
        self.lateral_conv0 = ConvNormAct(c5, c4, 1, norm=norm, act=act)
        self.C3_p4 = CSPLayer(2 * c4, c4, n, norm=norm, act=act)
        self.reduce_conv1 = ConvNormAct(c4, c3, 1, norm=norm, act=act)
        self.C3_p3 = CSPLayer(2 * c3, c3, n, norm=norm, act=act)
        self.bu_conv2 = ConvNormAct(c3, c3, 3, 2, norm=norm, act=act)
        self.C3_n3 = CSPLayer(2 * c3, c4, n, norm=norm, act=act)
        self.bu_conv1 = ConvNormAct(c4, c4, 3, 2, norm=norm, act=act)
        self.C3_n4 = CSPLayer(2 * c4, c5, n, norm=norm, act=act)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """Args: feats: [C3, C4, C5]. Returns: [P3, P4, P5] with ``out_channels`` channels."""
        if self.adjust is not None:
            feats = [m(f) for m, f in zip(self.adjust, feats)]
        c3, c4, c5 = feats
        top5 = self.lateral_conv0(c5)
        p4 = self.C3_p4(torch.cat([F.interpolate(top5, scale_factor=2.0, mode="nearest"), c4], 1))
        top4 = self.reduce_conv1(p4)
        out3 = self.C3_p3(torch.cat([F.interpolate(top4, scale_factor=2.0, mode="nearest"), c3], 1))
        out4 = self.C3_n3(torch.cat([self.bu_conv2(out3), top4], 1))
        out5 = self.C3_n4(torch.cat([self.bu_conv1(out4), top5], 1))
        return [out3, out4, out5]
