"""Named model variants: each one's architecture, where its weights live, and its tracker defaults.

The one home of per-variant tracker settings. A tracker's settings follow one rule for every task
(:func:`unicorn.trackers.settings.tracker_config`): the defaults (the config dataclasses', and upstream's
per-task choices) < the variant's ``tracker_defaults`` for that task < the video (its frame rate) < what
the user set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from . import TASKS
from .config import ModelConfig
from .errors import UserError

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



def _frozen(defaults: Mapping[str, Mapping[str, Any]]) -> Mapping[str, Mapping[str, Any]]:
    unknown = set(defaults) - set(TASKS)
    if unknown:
        raise ValueError(f"tracker defaults for unknown task(s) {sorted(unknown)}")
    return MappingProxyType({task: MappingProxyType(dict(values)) for task, values in defaults.items()})


@dataclass(frozen=True)
class Variant:
    """A named model: its architecture, where its weights come from, its tracker defaults.

    Attributes:
        name: variant name.
        config: architecture.
        description: one line for listings.
        weights: where released weights live (URL or "bundled"), or "" when none are released.
        upstream_keys: file name in the fixture's ``keys/`` folder with the upstream layout, if known.
        tracker_defaults: per task (``"sot"``, ``"vos"``, ``"mot"``, ``"mots"``), the tracker settings that
            differ from the config dataclasses' defaults for this variant, as flat setting names (fields of
            ``SOTConfig``, ``VOSConfig``, ``MOTConfig``, ``ByteTrackConfig``, ``EmbeddingMatcherConfig``).
            What the user sets always wins.
    """

    name: str
    config: ModelConfig
    description: str
    weights: str = ""
    upstream_keys: str = ""
    tracker_defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tracker_defaults", _frozen(self.tracker_defaults))

    def defaults_for(self, task: str) -> dict[str, Any]:
        """This variant's tracker settings for ``task`` (a new dict; empty when it keeps every default)."""
        return dict(self.tracker_defaults.get(task, {}))


_TINY = ModelConfig()
_R50 = replace(_TINY, backbone="resnet50")
_LARGE = replace(_TINY, backbone="convnext_large")
_HF = "https://huggingface.co/NimaBoscarino/{}"
# unicorn-lite: SOT/VOS answer with the target prior itself, labels propagated from a memory of the prompt
# frame and recent frames through its memory embedding (its detection head is not trained; the propagation
# settings are SOTConfig's defaults, chosen on the validation clips of unicorn/data/train_sets/real_clips.py,
# never on evaluation data). A SOT target of a COCO class takes the box of its NanoDet-g detection (snap,
# chosen on the same clips). MOT and MOTS detect with the bundled NanoDet-g and associate with ByteTrack
# (MOTS masks come from the memory embedding inside each box).
LITE_DEFAULTS = {"sot": {"method": "propagation", "snap": "nanodet-g"}, "vos": {"method": "propagation"},
                 "mot": {"detector": "nanodet-g"}, "mots": {"detector": "nanodet-g", "association": "bytetrack"}}


def _box(cfg: ModelConfig) -> ModelConfig:
    return replace(cfg, with_masks=False)


def _det(cfg: ModelConfig, masks: bool = False) -> ModelConfig:
    return replace(cfg, num_classes=80, class_names=COCO_CLASSES, with_embedding=False, with_masks=masks)


def _variants() -> dict[str, Variant]:
    mot_challenge = replace(_LARGE, num_classes=1, class_names=MOT17_CLASSES)
    rt = replace(_TINY, input_size=(640, 1024))
    keys = "state_dict_keys_{}.txt".format
    items = [
        Variant("unicorn_track_tiny_mask", _TINY, "ConvNeXt-T, 4 tasks, BDD100K classes, 800x1280",
                _HF.format("unicorn_track_tiny_mask"), keys("unicorn_track_tiny_mask")),
        Variant("unicorn_track_tiny_rt_mask", rt, "ConvNeXt-T real-time setting, 640x1024",
                _HF.format("unicorn_track_tiny_rt_mask"), keys("unicorn_track_tiny_mask")),
        Variant("unicorn_track_r50_mask", _R50, "ResNet-50, 4 tasks, 800x1280",
                _HF.format("unicorn_track_r50_mask"), keys("unicorn_track_r50_mask")),
        Variant("unicorn_track_large_mask", _LARGE, "ConvNeXt-L, 4 tasks (paper model), 800x1280",
                _HF.format("unicorn_track_large_mask"), keys("unicorn_track_large_mask")),
        Variant("unicorn_track_large_mot_challenge_mask", mot_challenge,
                "ConvNeXt-L, MOT17/MOTS20 pedestrians, 800x1280", "google-drive (see docs/model_zoo.md)",
                keys("unicorn_track_large_mot_challenge_mask")),
        Variant("unicorn_track_tiny", _box(_TINY), "box-only ConvNeXt-T (SOT, MOT)", "",
                keys("unicorn_track_tiny")),
        Variant("unicorn_track_tiny_rt", _box(rt), "box-only ConvNeXt-T, 640x1024"),
        Variant("unicorn_track_r50", _box(_R50), "box-only ResNet-50"),
        Variant("unicorn_track_large", _box(_LARGE), "box-only ConvNeXt-L"),
        Variant("unicorn_track_large_mot_challenge", _box(mot_challenge), "box-only ConvNeXt-L, pedestrians"),
        Variant("unicorn_track_tiny_sot_only", _box(_TINY), "ConvNeXt-T trained on SOT only"),
        Variant("unicorn_track_tiny_mot_only", _box(_TINY), "ConvNeXt-T trained on MOT only"),
        Variant("unicorn_track_tiny_vos_only", _TINY, "ConvNeXt-T trained on SOT then VOS only"),
        Variant("unicorn_track_tiny_mots_only", _TINY, "ConvNeXt-T trained on MOT then MOTS only"),
        Variant("unicorn_det_convnext_tiny_800x1280", _det(_TINY), "COCO detector, ConvNeXt-T (pre-training)",
                "google-drive", keys("unicorn_det_convnext_tiny_800x1280")),
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
            tracker_defaults=LITE_DEFAULTS),
    ]
    return {v.name: v for v in items}


VARIANTS: dict[str, Variant] = _variants()


def get_variant(name: str) -> Variant:
    """Look up a named variant; the error lists the known names."""
    if name not in VARIANTS:
        raise UserError(f"unknown model variant {name!r}; known variants: {', '.join(VARIANTS)}")
    return VARIANTS[name]


def variant_of(model: Any) -> Variant | None:
    """The variant a model was built or loaded as (its ``variant`` attribute), or None (e.g. a model from a file
    whose architecture matches no variant)."""
    return VARIANTS.get(getattr(model, "variant", None) or "")
