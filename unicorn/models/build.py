"""The one place that turns a :class:`ModelConfig` into modules (the named variants: :mod:`unicorn.variants`)."""

from __future__ import annotations

from torch import nn

from ..config import ModelConfig
from ..errors import UserError
from ..variants import get_variant
from .backbones import ConvNeXt, EfficientNetLite, ResNet50
from .backbones.efficientnet_lite import load_imagenet_weights
from .heads.detection import UnicornHead
from .heads.mask import NUM_DYNAMIC_PARAMS, MaskBranch
from .interaction.embedding import UnifiedEmbedding
from .interaction.memory import MemoryEmbedding
from .necks.pafpn import PAFPN
from .unicorn import Unicorn


def build_backbone(cfg: ModelConfig) -> nn.Module:
    """Backbone module for ``cfg.backbone``."""
    name = cfg.backbone
    if name.startswith("convnext_"):
        return ConvNeXt(name.split("_", 1)[1])
    if name == "resnet50":
        return ResNet50()
    if name == "efficientnet_lite0":
        net = EfficientNetLite()
        if cfg.pretrained_backbone:
            load_imagenet_weights(net)
        return net
    raise UserError(f"unknown backbone {name!r}; use convnext_tiny, convnext_base, convnext_large, "
                    "resnet50 or efficientnet_lite0")


def build_model(cfg: ModelConfig | str) -> Unicorn:
    """Build a model from a config or a variant name (random weights except a pretrained backbone)."""
    name = cfg if isinstance(cfg, str) else None
    if name is not None:
        cfg = get_variant(name).config
    backbone = build_backbone(cfg)
    c4_channels = backbone.out_channels[1]
    neck = PAFPN(tuple(backbone.out_channels), depth=cfg.neck_depth, norm=cfg.norm, channels=cfg.neck_channels)
    channels = neck.out_channels
    head = UnicornHead(channels, cfg.num_classes, width=cfg.head_width, n_blocks=cfg.head_blocks,
                       n_convs=cfg.head_convs, with_sot=cfg.with_embedding,
                       num_dynamic_params=NUM_DYNAMIC_PARAMS if cfg.with_masks else 0, norm=cfg.norm)
    embedding = None
    if cfg.with_embedding and cfg.embedding == "memory":
        embedding = MemoryEmbedding(backbone.out_channels[0], c4_channels, dim=cfg.embed_dim)
    elif cfg.with_embedding:
        embedding = UnifiedEmbedding(c4_channels, dim=cfg.interaction_dim, embed_dim=cfg.embed_dim,
                                     ffn_dim=cfg.ffn_dim)
    mask_branch = MaskBranch(channels, cfg.mask_branch_channels, norm=cfg.norm) if cfg.with_masks else None
    model = Unicorn(backbone, neck, head, embedding, mask_branch, config=cfg)
    model.variant = name
    return model
