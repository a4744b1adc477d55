"""Every setting is checked for type and range when it is set: one line naming setting, value and range."""

from __future__ import annotations

import math

import pytest

from unicorn.checks import Setting, check_ids, check_value, unit
from unicorn.config import ModelConfig
from unicorn.engine.config import DatasetConfig, TrainConfig
from unicorn.errors import UserError
from unicorn.trackers.association.bytetrack import ByteTrackConfig
from unicorn.trackers.association.embedding import EmbeddingMatcherConfig
from unicorn.trackers.configs import MOTConfig, SOTConfig


@pytest.mark.parametrize("cls, key, value, words", [
    (MOTConfig, "conf_thresh", "abc", "conf_thresh='abc' is not allowed: it must be a number in [0, 1]"),
    (MOTConfig, "conf_thresh", 5, "conf_thresh=5.0 is not allowed: it must be a number in [0, 1]"),
    (MOTConfig, "nms_thresh", math.nan, "nms_thresh=nan is not allowed"),
    (MOTConfig, "classes", ("person",), "every id must be a whole number >= 0"),
    (MOTConfig, "detector_size", 0, "detector_size=0 is not allowed: it must be a whole number > 0"),
    (ByteTrackConfig, "track_thresh", -1, "track_thresh=-1.0 is not allowed: it must be a number in [0, 1]"),
    (ByteTrackConfig, "track_buffer", -5, "track_buffer=-5 is not allowed: it must be a whole number >= 0"),
    (ByteTrackConfig, "track_buffer", "lots", "track_buffer='lots' is not allowed"),
    (ByteTrackConfig, "track_buffer", 2.5, "track_buffer=2.5 is not allowed: it must be a whole number"),
    (ByteTrackConfig, "fuse_score", "yes", "fuse_score='yes' is not allowed: it must be true or false"),
    (ByteTrackConfig, "frame_rate", 0, "frame_rate=0.0 is not allowed: it must be a number > 0"),
    (EmbeddingMatcherConfig, "memo_momentum", 1.5, "memo_momentum=1.5 is not allowed"),
    (EmbeddingMatcherConfig, "match_metric", "l2", "match_metric='l2' is not allowed: it must be one of"),
    (SOTConfig, "conf_thresh", "abc", "conf_thresh='abc' is not allowed"),
    (SOTConfig, "min_score", math.inf, "min_score=inf is not allowed"),
    (SOTConfig, "upstream_fp16", 1, "upstream_fp16=1 is not allowed: it must be true or false"),
    (ModelConfig, "head_width", -8, "head_width=-8 is not allowed"),
    (ModelConfig, "norm", "ln", "norm='ln' is not allowed"),
    (TrainConfig, "batch_size", 0, "batch_size=0 is not allowed: it must be a whole number > 0"),
    (TrainConfig, "lr_per_64", "fast", "lr_per_64='fast' is not allowed"),
    (TrainConfig, "ema_decay", 2.0, "ema_decay=2.0 is not allowed"),
])
def test_bad_setting_is_one_line_with_name_value_and_range(cls, key, value, words):
    with pytest.raises(UserError) as err:
        cls(**{key: value})
    text = str(err.value)
    assert words in text and "\n" not in text


def test_good_settings_are_kept_and_ints_become_floats():
    cfg = ByteTrackConfig(track_thresh=1, track_buffer=0, max_aspect_ratio=None)
    assert cfg.track_thresh == 1.0 and isinstance(cfg.track_thresh, float) and cfg.track_buffer == 0
    assert MOTConfig(classes=[0, 2]).classes == (0, 2)
    assert SOTConfig(conf_thresh=0, nms_thresh=1).nms_thresh == 1.0


def test_low_thresh_above_track_thresh_is_refused():
    with pytest.raises(UserError, match="low_thresh=0.7 is above track_thresh=0.5"):
        ByteTrackConfig(track_thresh=0.5, low_thresh=0.7)


def test_check_value_and_ids_edge_cases():
    assert check_value("x", 0, unit()) == 0.0
    with pytest.raises(UserError, match="x=True is not allowed"):
        check_value("x", True, unit())  # a bool is never a number
    assert check_value("n", None, Setting(int, optional=True)) is None
    assert check_ids("classes", [0, 79], 80) == (0, 79)
    with pytest.raises(UserError, match=r"< 80 \(999 is not\)"):
        check_ids("classes", [999], 80)


def test_schedule_shorter_than_warm_up_is_refused_when_configured():
    with pytest.raises(UserError, match=r"warmup_epochs \(3\) \+ no_aug_epochs \(1\) must be less than epochs \(2\)"):
        TrainConfig(epochs=2, warmup_epochs=3, no_aug_epochs=1)


def test_unknown_training_set_is_refused_when_configured():
    with pytest.raises(UserError, match="unknown training set 'lasott'"):
        DatasetConfig(name="lasott", task="sot")
    assert DatasetConfig(name="synthetic", task="sot", weight=2).weight == 2.0
