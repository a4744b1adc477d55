"""Every YAML under configs/ builds (config + model), unknown keys fail, the saved config reloads."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from unicorn.config import from_dict, load_yaml
from unicorn.data.train_sets import TRAIN_SETS
from unicorn.engine.config import TrainConfig, load_train_config, resolve_train_config, save_train_config
from unicorn.errors import UserError
from unicorn.models.build import build_model

from .conftest import CONFIGS, TINY

ALL_YAML = sorted(CONFIGS.rglob("*.yaml"))


def test_configs_exist():
    names = {p.relative_to(CONFIGS).as_posix() for p in ALL_YAML}
    for required in ("det/coco_tiny.yaml", "track/bdd_tiny_stage1.yaml", "track/bdd_tiny_stage2.yaml",
                     "track/mot_challenge_large_stage1.yaml", "track/mot_challenge_large_stage2.yaml",
                     "track/tiny_sot_only.yaml", "track/tiny_mot_only.yaml", "track/tiny_vos_only.yaml",
                     "track/tiny_mots_only.yaml", "tests/tiny.yaml", "tests/learns.yaml"):
        assert required in names


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_every_yaml_builds(path):
    cfg = resolve_train_config(load_train_config(path), cuda=False)
    assert cfg.datasets, "a training config without data"
    for d in cfg.datasets:
        assert d.name == "synthetic" or d.name in TRAIN_SETS, f"{path.name}: no training-set reader {d.name!r}"
    model_cfg = replace(cfg.model_config(), pretrained_backbone=False)
    with torch.device("meta"):  # architecture only: no memory, no init cost for ConvNeXt-L
        model = build_model(model_cfg)
    assert model.config.num_classes == model_cfg.num_classes
    assert cfg.steps_per_epoch(8) >= 1
    if cfg.stage in ("box", "mask"):
        assert model.embedding is not None, f"{path.name}: tracking stages need a model with the unified embedding"
    if cfg.stage == "mask":
        assert model.mask_branch is not None and not cfg.ema
        assert cfg.train_only == ("head.controllers.*", "mask_branch.*")


def test_unknown_key_is_an_error():
    with pytest.raises(UserError, match="unknown key.*lr_per64.*valid keys"):
        load_train_config(TINY, ["lr_per64=1e-3"])
    with pytest.raises(UserError, match="model_overrides.*unknown key.*num_class"):
        load_train_config(TINY, ["model_overrides.num_class=3"])
    with pytest.raises(UserError, match="unknown key.*wieght"):
        from_dict(TrainConfig, {"datasets": [{"name": "synthetic", "task": "sot", "wieght": 2}]})


def test_bad_values_are_errors():
    with pytest.raises(UserError, match="multiples of 32"):
        load_train_config(TINY, ["input_size=[100,192]"])
    with pytest.raises(UserError, match="stage 'box' trains on sot/mot"):
        load_train_config(TINY, ["datasets=[{name: synthetic, task: vos}]"])
    with pytest.raises(UserError, match="key=value"):
        load_train_config(TINY, ["epochs"])


def test_overrides_and_saved_config_round_trip(tmp_path):
    cfg = load_train_config(TINY, ["epochs=5", "mhs=false", "model_overrides.num_classes=1",
                                   "model_overrides.class_names=[thing]"])
    assert cfg.epochs == 5 and cfg.mhs is False and cfg.model_config().num_classes == 1
    resolved = resolve_train_config(cfg, cuda=False)
    assert (resolved.amp, resolved.device, resolved.ema) == ("off", "cpu", True)
    path = save_train_config(resolved, tmp_path / "config.yaml")
    assert from_dict(TrainConfig, load_yaml(path)) == resolved


def test_linear_lr_scaling_and_epoch_length():
    cfg = TrainConfig(batch_size=2, samples_per_epoch=200_000, grad_accum=2)
    assert cfg.world_lr(16) == pytest.approx(5e-4 / 64 * 32)  # upstream: global batch 32 -> 2.5e-4
    assert cfg.steps_per_epoch(16) == 200_000 // 64
