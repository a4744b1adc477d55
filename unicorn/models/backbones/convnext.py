"""ConvNeXt backbone in the variant upstream Unicorn uses (layer scale 1.0, a LayerNorm per output)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..layers import ConvNeXtBlock, LayerNorm2d

CONVNEXT_SIZES: dict[str, tuple[tuple[int, ...], tuple[int, ...], float]] = {
    # name: (depths, dims, drop_path_rate used in training)
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768), 0.4),
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024), 0.5),
    "large": ((3, 3, 27, 3), (192, 384, 768, 1536), 0.7),
}


# Stages before this one run their MLPs as 1x1 convolutions (oneDNN, ~1.7x faster on CPU); the last
# stage keeps Linear (MKL) by default: its rounding differences reach the decoded boxes most directly.
# With stages 1-3 as convolutions the golden fixture's MOT boxes stay within 3.9e-3 px of upstream
# (tolerance 5e-3); with all four they move 5.8e-3 px (``set_fast_pointwise(True)``, unicorn.load(fast=True)).
EXACT_LINEAR_STAGE = 3


class ConvNeXt(nn.Module):
    """ConvNeXt returning stages 2-4 (strides 8, 16, 32), each through its own LayerNorm.

    Args:
        size: ``"tiny"``, ``"base"`` or ``"large"``.
        drop_path_rate: stochastic depth at the last block (linearly increasing); None = upstream's.
        use_checkpoint: trade compute for memory in training (activation checkpointing per block).
    """

    strides = (8, 16, 32)

    def __init__(self, size: str = "tiny", drop_path_rate: float | None = None,
                 use_checkpoint: bool = False) -> None:
        super().__init__()
        if size not in CONVNEXT_SIZES:
            raise ValueError(f"unknown ConvNeXt size {size!r}; choose one of {sorted(CONVNEXT_SIZES)}")
        depths, dims, default_dpr = CONVNEXT_SIZES[size]
        dpr_max = default_dpr if drop_path_rate is None else drop_path_rate
        self.out_channels = tuple(dims[1:])
        self.use_checkpoint = use_checkpoint
        self.downsample_layers = nn.ModuleList(
            [nn.Sequential(nn.Conv2d(3, dims[0], 4, stride=4), LayerNorm2d(dims[0]))]
            + [nn.Sequential(LayerNorm2d(dims[i]), nn.Conv2d(dims[i], dims[i + 1], 2, stride=2))
               for i in range(3)]
        )
        n = sum(depths)
        rates = [dpr_max * i / (n - 1) for i in range(n)]  # linear stochastic-depth schedule
        self.stages = nn.ModuleList()
        start = 0
        for i, depth in enumerate(depths):
            self.stages.append(nn.Sequential(*[ConvNeXtBlock(dims[i], rates[start + j], 1.0,
                                                             pointwise_as_conv=i < EXACT_LINEAR_STAGE)
                                               for j in range(depth)]))
            start += depth
        self.norm1 = LayerNorm2d(dims[1])
        self.norm2 = LayerNorm2d(dims[2])
        self.norm3 = LayerNorm2d(dims[3])

    def set_fast_pointwise(self, enabled: bool) -> None:
        """Also run the last stage's MLPs as 1x1 convolutions (True) or keep them Linear (False, default)."""
        for i, stage in enumerate(self.stages):
            for block in stage:
                block.pointwise_as_conv = enabled or i < EXACT_LINEAR_STAGE

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Args: x: (B, 3, H, W). Returns: [C3 (B, d1, H/8, W/8), C4 (H/16), C5 (H/32)]."""
        outs = []
        norms = (None, self.norm1, self.norm2, self.norm3)
        for i in range(4):
            x = self.downsample_layers[i](x)
            for block in self.stages[i]:
                if self.use_checkpoint and self.training and x.requires_grad:
                    x = checkpoint(block, x, use_reentrant=False)
                else:
                    x = block(x)
            if i > 0:
                outs.append(norms[i](x))
        return outs
