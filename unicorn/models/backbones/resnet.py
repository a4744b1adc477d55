"""ResNet-50 (torchvision v1.5 layout) returning C3..C5; keeps BatchNorm as upstream does."""

from __future__ import annotations

import torch
from torch import nn


class ResNet50(nn.Module):
    """torchvision ResNet-50 without the classifier; BatchNorm eps 1e-3 as upstream sets it.

    The ImageNet weights are not downloaded here; load them from a checkpoint.
    """

    strides = (8, 16, 32)
    out_channels = (512, 1024, 2048)

    def __init__(self, bn_eps: float = 1e-3) -> None:
        from torchvision.models.resnet import Bottleneck, ResNet  # here: torchvision is slow to import

        super().__init__()
        net = ResNet(Bottleneck, [3, 4, 6, 3])
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps = bn_eps
        self.conv1, self.bn1, self.relu, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Args: x: (B, 3, H, W). Returns: [C3 (B, 512, H/8), C4 (1024, H/16), C5 (2048, H/32)]."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c3, c4, c5]
