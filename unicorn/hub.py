"""Where weights come from: bundled files, the local cache, user paths, and explicit downloads."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from .config import ModelConfig, from_dict, to_dict
from .errors import UserError, reason
from .models.build import build_model
from .models.convert import convert_state_dict, extract_state_dict, is_upstream_state_dict
from .models.unicorn import Unicorn
from .variants import VARIANTS, get_variant

ASSETS = Path(__file__).resolve().parent / "assets"
BUNDLED = {"unicorn-lite": ASSETS / "unicorn-lite.safetensors"}


def cache_dir() -> Path:
    """Folder for downloaded weights (``$UNICORN_HOME`` or ``~/.cache/unicorn``)."""
    return Path(os.environ.get("UNICORN_HOME", Path.home() / ".cache" / "unicorn"))


def save_safetensors(model: Unicorn, path: str | Path, variant: str = "", half: bool = False) -> Path:
    """Save weights with the architecture in the file's metadata (loadable by :func:`load`)."""
    from safetensors.torch import save_file

    state = {k: (v.half() if half and v.is_floating_point() else v).contiguous()
             for k, v in model.state_dict().items()}
    meta = {"unicorn_config": json.dumps(to_dict(model.config)), "unicorn_variant": variant}
    path = Path(path)
    save_file(state, str(path), metadata=meta)
    return path


def _config_from_upstream(state: dict[str, torch.Tensor], hint: str | None) -> ModelConfig:
    """Guess the architecture of an upstream checkpoint from its keys and shapes."""
    if hint:
        return get_variant(hint).config
    if "backbone.backbone.layer1.0.conv1.weight" in state:
        base = get_variant("unicorn_track_r50_mask").config
    else:
        stem = state.get("backbone.backbone.downsample_layers.0.0.weight")
        if stem is None:
            raise UserError("cannot tell the backbone of this checkpoint; pass the variant name explicitly")
        size = {96: "tiny", 128: "base", 192: "large"}.get(int(stem.shape[0]))
        if size is None:
            raise UserError(f"unknown ConvNeXt width {stem.shape[0]} in checkpoint")
        base = replace(get_variant("unicorn_track_tiny_mask").config, backbone=f"convnext_{size}")
    if "head.cls_preds.0.weight" not in state:
        raise UserError("this upstream-style checkpoint has no head.cls_preds.0.weight (the class predictor), so its "
                        "number of classes is unknown; it is not a complete Unicorn checkpoint, or pass the variant "
                        "name (--variant) of the model it belongs to")
    num_classes = int(state["head.cls_preds.0.weight"].shape[0])
    names = {8: base.class_names, 1: ("pedestrian",)}.get(num_classes, VARIANTS["unicorn-lite"].config.class_names
                                                          if num_classes == 80 else
                                                          tuple(f"class{i}" for i in range(num_classes)))
    return replace(base, num_classes=num_classes, class_names=names,
                   with_masks="head.controllers.0.weight" in state,
                   with_embedding="transformer.level_embed" in state)


def load_checkpoint_file(path: Path, variant: str | None = None) -> Unicorn:
    """Build and load a model from a file: our safetensors, or an upstream ``.pth`` checkpoint."""
    if not path.is_file():
        raise UserError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors import safe_open
        from safetensors.torch import load_file

        try:
            with safe_open(str(path), "pt") as fh:
                meta = fh.metadata() or {}
            state = load_file(str(path))
        except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
            raise UserError(f"{path} is not a readable safetensors file ({reason(exc)}); download or export it "
                            "again") from None
        if is_upstream_state_dict(state):
            return _from_upstream(state, variant, path)
        if "unicorn_config" not in meta and not variant:
            raise UserError(f"{path} has no architecture metadata; pass the variant name as well")
        cfg = _metadata_config(meta["unicorn_config"], path) if "unicorn_config" in meta \
            else get_variant(variant).config
        model = build_model(replace(cfg, pretrained_backbone=False))
        model.load_state_dict(_matching_state(state, model.state_dict(), path), strict=True)
        named = meta.get("unicorn_variant", "")  # a file keeps its variant's defaults only with its architecture
        same = named in VARIANTS and replace(VARIANTS[named].config, pretrained_backbone=False) == model.config
        model.variant = variant or (named if same else None)
        return model
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are not for our users
            warnings.simplefilter("ignore")
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"{path} is not a PyTorch checkpoint this package can read safely: {_load_reason(exc)}") \
            from None
    state = extract_state_dict(raw)
    if not is_upstream_state_dict(state):
        raise UserError(f"{path} does not look like an upstream Unicorn checkpoint (no backbone.backbone.* keys); "
                        "save our own models as .safetensors")
    return _from_upstream(state, variant, path)


def _metadata_config(text: str, path: Path) -> ModelConfig:
    """The architecture stored in a safetensors file's ``unicorn_config`` metadata."""
    try:
        values = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{path}: its architecture metadata (unicorn_config) is not valid JSON ({exc}); re-export "
                        "the file with unicorn.hub.save_safetensors") from None
    return from_dict(ModelConfig, values, f"{path} metadata unicorn_config")


def _matching_state(state: dict[str, torch.Tensor], target: dict[str, torch.Tensor], path: Path
                    ) -> dict[str, torch.Tensor]:
    """``state`` cast to the model's dtypes, or one line listing what is missing, extra or mis-shaped."""
    missing = [k for k in target if k not in state]
    extra = [k for k in state if k not in target]
    shapes = [f"{k}: file {tuple(v.shape)} vs model {tuple(target[k].shape)}" for k, v in state.items()
              if k in target and tuple(v.shape) != tuple(target[k].shape)]
    if missing or extra or shapes:
        kinds = ((missing, "missing", ", "), (extra, "unexpected", ", "), (shapes, "with other shapes", "; "))
        parts = [f"{len(names)} {what} (e.g. {sep.join(names[:3])})" for names, what, sep in kinds if names]
        raise UserError(f"{path} does not match the architecture in its metadata: {'; '.join(parts)}. The file was "
                        "edited or written for another model; re-export it, or pass the right variant")
    return {k: v.to(target[k].dtype) for k, v in state.items()}


def _load_reason(exc: Exception) -> str:
    """One line on why ``torch.load(weights_only=True)`` refused a file (torch's own text is several lines
    and suggests turning the safety check off)."""
    import pickle

    if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
        return ("it holds Python objects besides tensors, which could run code when loaded, so it is refused. "
                "Convert it where you trust its origin, or ask its author for a .safetensors file")
    if isinstance(exc, EOFError):
        return "the file ends too early (empty or cut short); download or copy it again"
    return f"{reason(exc)}. Check that the file is complete and is a checkpoint"


def _from_upstream(state: dict[str, torch.Tensor], variant: str | None, path: Path) -> Unicorn:
    cfg = _config_from_upstream(state, variant)
    model = build_model(cfg)
    allow = variant is not None and not get_variant(variant).config.with_masks
    model.load_state_dict(convert_state_dict(state, model.state_dict(), allow_missing_masks=allow), strict=True)
    return model


def resolve(name_or_path: str | Path) -> Unicorn:
    """Model for a variant name or a file path (see :func:`unicorn.load`)."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if path.suffix in (".pth", ".pt", ".ckpt", ".tar", ".safetensors") or path.exists():
        return load_checkpoint_file(path)
    model = _resolve_variant(text)
    model.variant = text
    return model


def _resolve_variant(text: str) -> Unicorn:
    variant = get_variant(text)
    if text in BUNDLED:
        if BUNDLED[text].is_file():
            return load_checkpoint_file(BUNDLED[text], text)
        warnings.warn(f"{text}: no trained weights are bundled in this install; the model has ImageNet "
                      "backbone weights and randomly initialised tracking parts, so its output is not "
                      "meaningful", stacklevel=4)
        return build_model(variant.config)
    cached = cache_dir() / f"{text}.pth"
    if cached.is_file():
        return load_checkpoint_file(cached, text)
    raise UserError(f"weights for {text} are not on this machine; run `unicorn weights download {text}` "
                    f"(needs network) or pass the path of a checkpoint")


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file (streamed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(name: str, progress: bool = True) -> Path:
    """Download released upstream weights into the cache (only when a user asks for it).

    The file is streamed to ``$UNICORN_HOME/<name>.pth`` and kept only when its sha256 equals the
    pin in :data:`unicorn.downloads.PINS` (see :func:`unicorn.downloads.fetch`); an interrupted
    download resumes on the next call. A file already in the cache is re-hashed, not downloaded again.
    """
    from .downloads import PINS, fetch, file_url, hub_sha256

    variant = get_variant(name)
    pin = PINS.get(name)
    if name in BUNDLED:
        raise UserError(f"{name} ships inside the package; there is nothing to download")
    if pin is None:
        raise UserError(f"{name} has no automatic download ({variant.weights or 'not released'}); download "
                        "the checkpoint by hand and pass its path")
    url = file_url(pin)
    sha, size = (pin.sha256, pin.size) if pin.sha256 else hub_sha256(url)
    target = cache_dir() / f"{name}.pth"
    if target.is_file():
        if sha256_of(target) == sha:
            return target
        target.unlink()
        print(f"{target} did not match its pinned sha256; deleted it and downloading again", file=sys.stderr)
    fetch(url, target, sha, size, desc=name, progress=progress)
    (cache_dir() / f"{name}.sha256").write_text(sha + "\n")
    return target
