"""Stage-2 freezing, frozen normalisation statistics, and initialisation from a detector."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from unicorn.engine.config import TrainConfig, resolve_train_config
from unicorn.engine.freeze import apply_freeze, set_norm_modes
from unicorn.engine.init_weights import load_initial_weights
from unicorn.errors import UserError
from unicorn.hub import save_safetensors
from unicorn.models.build import build_model
from unicorn.variants import VARIANTS

LITE = replace(VARIANTS["unicorn-lite"].config, pretrained_backbone=False)


@pytest.fixture(scope="module")
def lite() -> nn.Module:
    torch.manual_seed(0)
    return build_model(LITE)


def test_mask_stage_trains_only_controllers_and_mask_branch(lite):
    cfg = resolve_train_config(TrainConfig(stage="mask", datasets=()), cuda=False)
    trainable = apply_freeze(lite, cfg.freeze, cfg.train_only)
    expected = [n for n, _ in lite.named_parameters() if n.startswith(("head.controllers.", "mask_branch."))]
    assert trainable == expected and len(expected) > 6
    frozen = [n for n, p in lite.named_parameters() if not p.requires_grad]
    assert len(frozen) + len(trainable) == len(list(lite.parameters()))
    assert any(n.startswith("backbone.") for n in frozen) and any(n.startswith("head.cls_preds") for n in frozen)
    lite.train()
    n_eval = set_norm_modes(lite)
    assert n_eval > 0
    assert all(not m.training for m in lite.backbone.modules() if isinstance(m, nn.BatchNorm2d))
    mask_norms = [m for m in lite.mask_branch.modules() if isinstance(m, nn.BatchNorm2d)]
    assert mask_norms and all(m.training for m in mask_norms)  # still trained: statistics keep updating
    apply_freeze(lite)  # unfreeze for the other tests
    assert all(p.requires_grad for p in lite.parameters())


def test_freeze_patterns_are_checked(lite):
    with pytest.raises(UserError, match="matches no parameter"):
        apply_freeze(lite, ("backbon.*",))
    apply_freeze(lite, ("backbone.*",))
    assert not any(p.requires_grad for p in lite.backbone.parameters())
    assert all(p.requires_grad for p in lite.head.parameters())
    apply_freeze(lite)


def test_init_from_detector_copies_sot_predictors_and_remaps_classes(tmp_path, lite):
    det_cfg = replace(LITE, with_embedding=False, with_masks=False)
    torch.manual_seed(1)
    detector = build_model(det_cfg)
    path = save_safetensors(detector, tmp_path / "det.safetensors")
    track = build_model(replace(LITE, num_classes=2, class_names=("person", "car")))
    with pytest.raises(UserError, match="init_class_map"):
        load_initial_weights(track, path)
    report = load_initial_weights(track, path, class_map=(0, 2))
    src, dst = detector.state_dict(), track.state_dict()
    assert torch.equal(dst["head.cls_preds.0.weight"], src["head.cls_preds.0.weight"][[0, 2]])
    assert torch.equal(dst["head.obj_preds_sot.1.weight"], src["head.obj_preds.1.weight"])
    assert torch.equal(dst["head.reg_preds_sot.2.bias"], src["head.reg_preds.2.bias"])
    assert torch.equal(dst["neck.C3_p3.conv1.conv.weight"], src["neck.C3_p3.conv1.conv.weight"])
    assert any(k.startswith("embedding.") for k in report["fresh"])
    assert any(k.startswith("head.cls_preds_sot.") for k in report["fresh"])  # upstream: random SOT classifier
    assert len(report["remapped"]) == 6 and len(report["copied_to_sot"]) == 12
