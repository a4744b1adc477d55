"""Convert upstream Unicorn checkpoints to this package's module names (strict, shape-checked).

Upstream checkpoints are either a dict with the state dict under ``"model"`` (plus optimizer
state, epoch, ...) or a bare state dict. The mapping is a short list of prefix renames; two
upstream buffers of the mask head are checked and dropped because they hold no learned weights.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from ..errors import UserError

# (upstream prefix, our prefix), first match wins. Longest prefixes first.
PREFIX_RENAMES: tuple[tuple[str, str], ...] = (
    ("backbone.backbone.", "backbone."),
    ("backbone.", "neck."),
    ("bottleneck.", "embedding.bottleneck."),
    ("pos_emb.", "embedding.pos_embed."),
    ("transformer.level_embed", "embedding.level_embed"),
    ("transformer.encoder.layers.0.", "embedding.encoder."),
    ("upsample_layer.", "embedding.upsample."),
    ("head.mask_branch.", "mask_branch."),
    ("head.att_layers.", "head.blocks."),
    ("head.", "head."),
)
# Upstream buffers that carry no learned state: key -> expected value (None = any value).
DROPPED_BUFFERS: dict[str, list[int] | None] = {
    "head.mask_head.sizes_of_interest": [64, 128, 256, 512, 1024],
    "head.mask_head._iter": None,  # BoxInst warm-up counter (unused)
}
_BETA = re.compile(r"^head\.beta_(\d+)$")


def upstream_to_ours(key: str) -> str:
    """Map one upstream state-dict key to ours."""
    m = _BETA.match(key)
    if m:
        return f"head.betas.{m.group(1)}"
    for old, new in PREFIX_RENAMES:
        if key.startswith(old):
            ours = new + key[len(old):]
            break
    else:
        return key
    # YOLOX BaseConv calls its (Group)Norm "bn"; ours is "norm". ResNet's bn1/bn2/... stay.
    if not ours.startswith("backbone."):
        ours = ours.replace(".bn.", ".norm.")
    return ours


def extract_state_dict(checkpoint: Mapping) -> dict[str, torch.Tensor]:
    """The state dict inside an upstream checkpoint (``{"model": ...}`` or bare)."""
    if not isinstance(checkpoint, Mapping):
        raise UserError(f"checkpoint holds a {type(checkpoint).__name__}, not a state dict")
    if "model" in checkpoint and isinstance(checkpoint["model"], Mapping):
        checkpoint = checkpoint["model"]
    state = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise UserError("checkpoint holds no tensors; is it a Unicorn checkpoint?")
    return dict(state)


def convert_state_dict(upstream: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor],
                       allow_missing_masks: bool = False) -> dict[str, torch.Tensor]:
    """Rename an upstream state dict to our keys and check it against ``target``.

    Args:
        upstream: upstream key -> tensor.
        target: our model's ``state_dict()`` (names and shapes to match).
        allow_missing_masks: accept a box-only checkpoint for a mask model (mask parts stay as built).

    Returns:
        our key -> tensor, ready for ``load_state_dict(strict=True)`` (missing mask parts filled from
        ``target`` when allowed).

    Raises:
        UserError: listing every missing, unexpected and mis-shaped key.
    """
    out: dict[str, torch.Tensor] = {}
    unexpected, misshaped, seen = [], [], set()
    for key, value in upstream.items():
        if key in DROPPED_BUFFERS:
            expected = DROPPED_BUFFERS[key]
            if expected is not None and value.tolist() != expected:
                misshaped.append(f"{key}: value {value.tolist()} (expected {expected})")
            continue
        if key.endswith("num_batches_tracked") and upstream_to_ours(key) not in target:
            continue
        ours = upstream_to_ours(key)
        seen.add(ours)
        if ours not in target:
            unexpected.append(key)
        elif tuple(target[ours].shape) != tuple(value.shape):
            misshaped.append(f"{key}: checkpoint {tuple(value.shape)} vs model {tuple(target[ours].shape)}")
        else:
            out[ours] = value.to(target[ours].dtype)
    missing = [k for k in target if k not in seen]
    mask_parts = ("mask_branch.", "head.controllers.")
    if allow_missing_masks:
        for k in [k for k in missing if k.startswith(mask_parts)]:
            out[k] = target[k]
        missing = [k for k in missing if not k.startswith(mask_parts)]
    if missing or unexpected or misshaped:
        lines = []
        if missing:
            lines.append(f"{len(missing)} missing (e.g. {', '.join(missing[:5])})")
        if unexpected:
            lines.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:5])})")
        if misshaped:
            lines.append(f"{len(misshaped)} with other shapes (e.g. {'; '.join(misshaped[:3])})")
        raise UserError("checkpoint does not match this model variant: " + "; ".join(lines)
                        + ". Check that the variant (e.g. --weights NAME) matches the file.")
    return out


def is_upstream_state_dict(state: Mapping[str, torch.Tensor]) -> bool:
    """Heuristic: upstream checkpoints carry ``backbone.backbone.*`` keys and no ``neck.*``."""
    keys = list(state)
    return any(k.startswith("backbone.backbone.") for k in keys) and not any(k.startswith("neck.") for k in keys)
