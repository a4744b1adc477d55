"""Configuration: frozen dataclasses hold every default; YAML files hold only overrides.

Unknown keys are errors that list the valid ones, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .checks import FLAG, at_least, check_fields, check_ids, one_of, positive
from .errors import UserError

T = TypeVar("T")


MODEL_SETTINGS = {"neck_depth": positive(), "norm": one_of("gn", "bn"), "num_classes": positive(int),
                  "head_width": positive(int), "head_blocks": at_least(0, int), "head_convs": at_least(0, int),
                  "with_embedding": FLAG, "with_masks": FLAG, "embed_dim": positive(int),
                  "interaction_dim": positive(int), "ffn_dim": positive(int), "mask_branch_channels": positive(int),
                  "pretrained_backbone": FLAG}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one model variant (defaults = upstream ``unicorn_track_tiny_mask``).

    Attributes:
        backbone: ``convnext_tiny`` | ``convnext_base`` | ``convnext_large`` | ``resnet50`` | ``efficientnet_lite0``.
        neck_depth: CSP depth multiplier of the PAFPN (1.0 = 3 bottlenecks).
        neck_channels: the PAFPN's own widths (None = the backbone's C3..C5 channels, as upstream).
        norm: normalisation in neck and heads: ``gn`` (upstream GroupNorm) or ``bn`` (foldable, fast on CPU).
        num_classes: MOT/detection classes (8 = BDD100K, 1 = MOT17, 80 = COCO).
        class_names: names of those classes, in order.
        head_width: channels of the head (256).
        head_blocks: ConvNeXt blocks per head level (3).
        head_convs: conv layers per head branch (4).
        with_embedding: build the unified embedding and SOT predictors (False = plain detector).
        with_masks: build the CondInst mask branch and controllers.
        embed_dim: embedding channels (128).
        interaction_dim: deformable-attention width (256).
        ffn_dim: encoder FFN width (1024).
        mask_branch_channels: mask-branch width (128).
        input_size: default (H, W) network input at test time.
        pretrained_backbone: load the backbone's ImageNet weights at build time when they ship offline.
        embedding: ``deformable`` (upstream: a deformable-attention interaction of the two frames' C4) or
            ``memory`` (each frame's C3 and C4 projected on their own, for label propagation over a memory
            of frames; ``embed_dim`` channels; see :class:`~unicorn.models.interaction.memory.MemoryEmbedding`).
    """

    backbone: str = "convnext_tiny"
    neck_depth: float = 1.0
    neck_channels: tuple[int, int, int] | None = None
    norm: str = "gn"
    num_classes: int = 8
    class_names: tuple[str, ...] = ("pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle",
                                    "bicycle")
    head_width: int = 256
    head_blocks: int = 3
    head_convs: int = 4
    with_embedding: bool = True
    with_masks: bool = True
    embed_dim: int = 128
    interaction_dim: int = 256
    ffn_dim: int = 1024
    mask_branch_channels: int = 128
    input_size: tuple[int, int] = (800, 1280)
    pretrained_backbone: bool = False
    embedding: str = "deformable"

    def __post_init__(self) -> None:
        if isinstance(self.neck_channels, list):  # YAML / JSON lists; the optional annotation is not coerced
            object.__setattr__(self, "neck_channels", tuple(self.neck_channels))
        check_fields(self, MODEL_SETTINGS)
        if self.neck_channels is not None:
            check_ids("neck_channels", self.neck_channels)
        if len(self.class_names) != self.num_classes:
            raise UserError(f"class_names has {len(self.class_names)} names but num_classes is "
                            f"{self.num_classes}; give one name per class")
        h, w = check_ids("input_size", self.input_size) if len(self.input_size) == 2 else (0, 0)
        if h % 32 or w % 32 or h <= 0 or w <= 0:
            raise UserError(f"input_size {self.input_size} must be positive multiples of 32 (e.g. 320x512)")


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Turn YAML values into the annotated type (lists -> tuples, nested dataclasses)."""
    if isinstance(annotation, str):
        annotation = eval(annotation, {**typing.__dict__, **globals()})  # noqa: S307 - our own annotations
    origin = typing.get_origin(annotation)
    if dataclasses.is_dataclass(annotation) and isinstance(value, dict):
        return from_dict(annotation, value, where)
    if origin is tuple and isinstance(value, list | tuple):
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], where) for v in value)
        if len(args) != len(value):
            raise UserError(f"{where}: expected {len(args)} values, got {len(value)}: {value!r}")
        return tuple(_coerce(v, a, where) for v, a in zip(value, args))
    if origin in (typing.Union, types.UnionType):
        return value
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, float, str, bool) and not isinstance(value, annotation):
        raise UserError(f"{where}: expected {annotation.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], values: dict[str, Any], where: str = "config") -> T:
    """Build dataclass ``cls`` from a dict of overrides; unknown keys raise with the valid list."""
    if not isinstance(values, dict):
        raise UserError(f"{where}: expected a mapping of overrides, got {type(values).__name__}")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise UserError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys are: {', '.join(known)}")
    hints = typing.get_type_hints(cls)
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    return cls(**kwargs)


def with_overrides(base: T, values: dict[str, Any], where: str = "config") -> T:
    """Return ``base`` with some fields replaced (same validation as :func:`from_dict`)."""
    merged = {f.name: getattr(base, f.name) for f in fields(base)}
    checked = from_dict(type(base), {**merged, **values}, where)
    return checked


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML overrides file (an empty file is an empty mapping)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"config file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"config file {path} must hold a mapping of overrides")
    return data


def to_dict(cfg: Any) -> dict[str, Any]:
    """Dataclass -> plain dict (tuples become lists) for saving next to a run."""
    def plain(v: Any) -> Any:
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in fields(v)}
        return v
    return plain(cfg)


__all__ = ["ModelConfig", "field", "from_dict", "load_yaml", "to_dict", "with_overrides"]
