"""Backbones. Each returns features at strides 8, 16 and 32 and declares ``out_channels``."""

from .convnext import ConvNeXt
from .efficientnet_lite import EfficientNetLite
from .resnet import ResNet50

__all__ = ["ConvNeXt", "EfficientNetLite", "ResNet50"]
