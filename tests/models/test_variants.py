"""Every named variant builds, and every released upstream layout converts with nothing left over."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from unicorn.errors import UserError
from unicorn.models.build import build_model
from unicorn.models.convert import convert_state_dict
from unicorn.variants import VARIANTS

from .conftest import FIXTURE, fixture_weights_module, require_fixture

KEY_FILES = sorted(p.name for p in (FIXTURE / "keys").glob("*.txt")) if (FIXTURE / "keys").is_dir() else []
LAYOUT_OF = {  # upstream key file -> our variant
    "state_dict_keys_unicorn_track_tiny.txt": "unicorn_track_tiny",
    "state_dict_keys_unicorn_track_tiny_mask.txt": "unicorn_track_tiny_mask",
    "state_dict_keys_unicorn_track_r50_mask.txt": "unicorn_track_r50_mask",
    "state_dict_keys_unicorn_track_large_mask.txt": "unicorn_track_large_mask",
    "state_dict_keys_unicorn_track_large_mot_challenge_mask.txt": "unicorn_track_large_mot_challenge_mask",
    "state_dict_keys_unicorn_det_convnext_tiny_800x1280.txt": "unicorn_det_convnext_tiny_800x1280",
}


def meta_upstream(items) -> dict[str, torch.Tensor]:
    """Upstream keys as meta tensors (shapes only), except the one buffer whose value is checked."""
    out = {key: torch.empty(shape, device="meta") for key, shape in items}
    if "head.mask_head.sizes_of_interest" in out:
        out["head.mask_head.sizes_of_interest"] = torch.tensor([64, 128, 256, 512, 1024])
    return out


def meta_model(name: str) -> torch.nn.Module:
    """Build on the meta device: shapes only, no memory, no weight loading."""
    with torch.device("meta"):
        return build_model(replace(VARIANTS[name].config, pretrained_backbone=False))


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_variant_builds(name):
    model = meta_model(name)
    cfg = VARIANTS[name].config
    assert model.num_classes == cfg.num_classes == len(cfg.class_names)
    assert model.has_masks == cfg.with_masks
    assert (model.embedding is not None) == cfg.with_embedding


@pytest.mark.parametrize("key_file", KEY_FILES)
def test_every_released_layout_converts_exactly(key_file):
    require_fixture()
    mw = fixture_weights_module()
    items = mw.read_key_file(FIXTURE / "keys" / key_file)
    upstream = meta_upstream(items)
    target = meta_model(LAYOUT_OF[key_file]).state_dict()
    converted = convert_state_dict(upstream, target)
    assert set(converted) == set(target)
    assert all(converted[k].shape == target[k].shape for k in target)


def test_conversion_error_lists_what_does_not_match():
    require_fixture()
    mw = fixture_weights_module()
    items = mw.read_key_file(FIXTURE / "keys" / "state_dict_keys_unicorn_track_tiny_mask.txt")
    upstream = meta_upstream(items)
    upstream.pop("head.stems.0.conv.weight")
    upstream["head.extra.weight"] = torch.empty(3, device="meta")
    upstream["head.cls_preds.0.weight"] = torch.empty(80, 256, 1, 1, device="meta")
    with pytest.raises(UserError) as err:
        convert_state_dict(upstream, meta_model("unicorn_track_tiny_mask").state_dict())
    text = str(err.value)
    assert "1 missing" in text and "head.stems.0.conv.weight" in text
    assert "1 unexpected" in text and "head.extra.weight" in text
    assert "other shapes" in text and "(80, 256, 1, 1)" in text
