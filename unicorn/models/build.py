"""The one place that turns a :class:`ModelConfig` into modules, and the named variants."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from torch import nn

from ..config import ModelConfig
from ..errors import UserError
from .backbones import ConvNeXt, EfficientNetLite, ResNet50
from .backbones.efficientnet_lite import load_imagenet_weights
from .heads.detection import UnicornHead
from .heads.mask import NUM_DYNAMIC_PARAMS, MaskBranch
from .interaction.embedding import UnifiedEmbedding
from .interaction.memory import MemoryEmbedding
from .necks.pafpn import PAFPN
from .unicorn import Unicorn

MOT17_CLASSES = ("pedestrian",)
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)


@dataclass(frozen=True)
class Variant:
    """A named model: its architecture and where its weights come from.

    Attributes:
        name: variant name.
        config: architecture.
        description: one line for listings.
        weights: where released weights live (URL or "bundled"), or "" when none are released.
        upstream_keys: file name in the fixture's ``keys/`` folder with the upstream layout, if known.
        mot_detector: what ``MOTConfig(detector="auto")`` uses for MOT with this variant: ``"model"``
            (the network's own MOT head) or ``"nanodet-g"`` (the bundled NanoDet-g COCO detector).
        sot_defaults: SOT/VOS settings (fields of ``SOTConfig``) that differ from upstream's for this
            variant; an explicit setting or config always wins.
    """

    name: str
    config: ModelConfig
    description: str
    weights: str = ""
    upstream_keys: str = ""
    mot_detector: str = "model"
    sot_defaults: dict = field(default_factory=dict)


_TINY = ModelConfig()
# unicorn-lite's SOT/VOS settings (see SOTConfig): its answer is the target prior itself, labels
# propagated from a memory of the prompt frame and recent frames through its memory embedding (its
# detection head is not trained). The propagation settings are SOTConfig's defaults, chosen on the
# validation clips of unicorn/data/train_sets/real_clips.py (never on evaluation data).
LITE_SOT_DEFAULTS = {"method": "propagation"}
_R50 = replace(_TINY, backbone="resnet50")
_LARGE = replace(_TINY, backbone="convnext_large")
_HF = "https://huggingface.co/NimaBoscarino/{}"


def _box(cfg: ModelConfig) -> ModelConfig:
    return replace(cfg, with_masks=False)


def _det(cfg: ModelConfig, masks: bool = False) -> ModelConfig:
    return replace(cfg, num_classes=80, class_names=COCO_CLASSES, with_embedding=False, with_masks=masks)


def _variants() -> dict[str, Variant]:
    mot_challenge = replace(_LARGE, num_classes=1, class_names=MOT17_CLASSES)
    rt = replace(_TINY, input_size=(640, 1024))
    items = [
        Variant("unicorn_track_tiny_mask", _TINY, "ConvNeXt-T, 4 tasks, BDD100K classes, 800x1280",
                _HF.format("unicorn_track_tiny_mask"), "state_dict_keys_unicorn_track_tiny_mask.txt"),
        Variant("unicorn_track_tiny_rt_mask", rt, "ConvNeXt-T real-time setting, 640x1024",
                _HF.format("unicorn_track_tiny_rt_mask"), "state_dict_keys_unicorn_track_tiny_mask.txt"),
        Variant("unicorn_track_r50_mask", _R50, "ResNet-50, 4 tasks, 800x1280",
                _HF.format("unicorn_track_r50_mask"), "state_dict_keys_unicorn_track_r50_mask.txt"),
        Variant("unicorn_track_large_mask", _LARGE, "ConvNeXt-L, 4 tasks (paper model), 800x1280",
                _HF.format("unicorn_track_large_mask"), "state_dict_keys_unicorn_track_large_mask.txt"),
        Variant("unicorn_track_large_mot_challenge_mask", mot_challenge,
                "ConvNeXt-L, MOT17/MOTS20 pedestrians, 800x1280", "google-drive (see docs/model_zoo.md)",
                "state_dict_keys_unicorn_track_large_mot_challenge_mask.txt"),
        Variant("unicorn_track_tiny", _box(_TINY), "box-only ConvNeXt-T (SOT, MOT)", "",
                "state_dict_keys_unicorn_track_tiny.txt"),
        Variant("unicorn_track_tiny_rt", _box(rt), "box-only ConvNeXt-T, 640x1024"),
        Variant("unicorn_track_r50", _box(_R50), "box-only ResNet-50"),
        Variant("unicorn_track_large", _box(_LARGE), "box-only ConvNeXt-L"),
        Variant("unicorn_track_large_mot_challenge", _box(mot_challenge), "box-only ConvNeXt-L, pedestrians"),
        Variant("unicorn_track_tiny_sot_only", _box(_TINY), "ConvNeXt-T trained on SOT only"),
        Variant("unicorn_track_tiny_mot_only", _box(_TINY), "ConvNeXt-T trained on MOT only"),
        Variant("unicorn_track_tiny_vos_only", _TINY, "ConvNeXt-T trained on SOT then VOS only"),
        Variant("unicorn_track_tiny_mots_only", _TINY, "ConvNeXt-T trained on MOT then MOTS only"),
        Variant("unicorn_det_convnext_tiny_800x1280", _det(_TINY), "COCO detector, ConvNeXt-T (pre-training)",
                "google-drive", "state_dict_keys_unicorn_det_convnext_tiny_800x1280.txt"),
        Variant("unicorn_det_convnext_large_800x1280", _det(_LARGE), "COCO detector, ConvNeXt-L"),
        Variant("unicorn_det_r50_800x1280", _det(_R50), "COCO detector, ResNet-50"),
        Variant("unicorn_inst_convnext_tiny_800x1280", _det(_TINY, masks=True),
                "COCO detector + CondInst masks, ConvNeXt-T"),
        Variant("unicorn-lite", ModelConfig(
            backbone="efficientnet_lite0", neck_depth=0.33, neck_channels=(64, 128, 256), norm="bn",
            num_classes=80, class_names=COCO_CLASSES,
            head_width=96, head_blocks=1, head_convs=2, interaction_dim=128, ffn_dim=512, embed_dim=64,
            mask_branch_channels=64, input_size=(320, 512), pretrained_backbone=True, embedding="memory"),
            "EfficientNet-Lite0, CPU-sized, 320x512 (the offline default)", "bundled",
            mot_detector="nanodet-g", sot_defaults=LITE_SOT_DEFAULTS),
    ]
    return {v.name: v for v in items}


VARIANTS: dict[str, Variant] = _variants()


def get_variant(name: str) -> Variant:
    """Look up a named variant; the error lists the known names."""
    if name not in VARIANTS:
        raise UserError(f"unknown model variant {name!r}; known variants: {', '.join(VARIANTS)}")
    return VARIANTS[name]


def sot_defaults_of(model: Unicorn) -> dict:
    """SOT/VOS settings that ``model``'s variant changes from upstream's (empty without a known variant)."""
    variant = VARIANTS.get(getattr(model, "variant", None) or "")
    return dict(variant.sot_defaults) if variant is not None else {}


def mot_detector_of(model: Unicorn) -> str:
    """The default MOT detector of ``model``'s variant; ``"model"`` for models without a known variant."""
    variant = VARIANTS.get(getattr(model, "variant", None) or "")
    return variant.mot_detector if variant is not None else "model"


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
