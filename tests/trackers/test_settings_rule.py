"""One rule for tracker settings: defaults < the model variant's < the video's frame rate < what the user set."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import unicorn
from unicorn.models.build import build_model
from unicorn.trackers.settings import tracker_config
from unicorn.variants import get_variant

from ..demo.videos import make_video

SIZE = (96, 128)
WIDE_CAR = np.array([[10.0, 40.0, 90.0, 70.0]], np.float32)  # 80 x 30 px: w / h = 2.7 > 1.6


@pytest.fixture(scope="module")
def lite():
    model = build_model(replace(get_variant("unicorn-lite").config, pretrained_backbone=False)).eval()
    model.variant = "unicorn-lite"
    return model


@pytest.fixture(scope="module")
def plain(lite):
    """The same network without a variant (as a model from an unknown file): the dataclass defaults alone."""
    model = build_model(replace(get_variant("unicorn-lite").config, pretrained_backbone=False)).eval()
    model.variant = None
    return model


def test_sot_and_vos_follow_defaults_then_variant_then_user(lite, plain):
    assert tracker_config(plain, "sot").method == "head"  # the dataclass default (upstream's policy)
    assert tracker_config(lite, "sot").method == "propagation"  # unicorn-lite's own
    assert tracker_config(lite, "vos").method == "propagation"
    assert tracker_config(lite, "sot", {"method": "head"}).method == "head"  # the user wins
    assert tracker_config(plain, "sot", {"method": "propagation"}).method == "propagation"
    assert unicorn.Tracker(lite, "sot", topk=7).config.topk == 7


def test_mot_follows_defaults_then_variant_then_user(lite, plain):
    upstream = tracker_config(plain, "mot")
    assert (upstream.detector, upstream.bytetrack.track_thresh, upstream.bytetrack.max_aspect_ratio) == (
        "model", 0.6, 1.6)  # upstream's MOT17 settings with the model's own head
    ours = tracker_config(lite, "mot")
    assert (ours.detector, ours.bytetrack.track_thresh, ours.bytetrack.max_aspect_ratio) == ("nanodet-g", 0.45, None)
    # a user value equal to another preset's default is still the user's (no comparing values with defaults)
    for value in (0.6, 0.55):
        cfg = tracker_config(lite, "mot", {"track_thresh": value})
        assert (cfg.detector, cfg.bytetrack.track_thresh, cfg.bytetrack.max_aspect_ratio) == ("nanodet-g", value, None)
    head = tracker_config(lite, "mot", {"detector": "model"})  # the detector's own thresholds follow the detector
    assert (head.bytetrack.track_thresh, head.bytetrack.max_aspect_ratio) == (0.6, 1.6)
    assert tracker_config(lite, "mot", {"detector": "auto"}).detector == "nanodet-g"  # auto = the variant's choice
    assert tracker_config(plain, "mots").association == "embedding"  # upstream MOTS
    assert tracker_config(lite, "mots").association == "bytetrack"  # unicorn-lite MOTS
    assert tracker_config(lite, "mots", {"association": "embedding"}).association == "embedding"


def test_a_tracker_runs_exactly_its_config(lite):
    tracker = unicorn.Tracker(lite, "mot", track_thresh=0.55, input_size=SIZE)
    assert tracker.config == tracker_config(lite, "mot", {"track_thresh": 0.55})
    assert tracker._assoc.config == tracker.config.bytetrack


def test_lite_with_a_user_threshold_keeps_wide_objects(lite, plain):
    """``track_thresh=0.55`` on unicorn-lite keeps its NanoDet-g thresholds: no pedestrian aspect filter, so a wide
    car-shaped detection is tracked; upstream's MOT17 settings drop it."""
    frames = [np.full((*SIZE, 3), 90, np.uint8)] * 3

    def detect(frame, index):  # what NanoDet-g would return for a car: one wide box, score 0.9, COCO class 2
        return WIDE_CAR, np.array([0.9], np.float32), np.array([2])

    tracker = unicorn.Tracker(lite, "mot", track_thresh=0.55, input_size=SIZE)
    assert tracker.detector_name == "nanodet-g"
    tracker.detector = detect
    results = list(tracker.track(frames))
    assert [r.track_ids.tolist() for r in results[1:]] == [[1], [1]]
    np.testing.assert_allclose(results[-1].boxes_xyxy, WIDE_CAR, atol=1.0)
    mot17 = unicorn.Tracker(plain, "mot", detector=detect, input_size=SIZE)  # your own detections: MOT17 settings
    assert mot17.config.bytetrack.max_aspect_ratio == 1.6
    assert all(len(r.track_ids) == 0 for r in mot17.track(frames))


def test_the_video_frame_rate_scales_the_lost_track_buffer(plain):
    def buffer(**kwargs) -> int:
        return unicorn.Tracker(plain, "mot", input_size=SIZE, **kwargs)._assoc.config.max_time_lost

    assert buffer(fps=30) == 30 and buffer(fps=15) == 15 and buffer() == 30
    assert buffer(fps=15, frame_rate=30) == 30  # the user's setting wins over the video's


def test_track_to_folder_passes_the_video_frame_rate(plain, tmp_path):
    def nothing(frame, index):
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)

    lost = {}
    for fps in (15, 30):
        video = make_video(tmp_path / f"clip{fps}.mp4", 3, SIZE, fps=fps)
        run = unicorn.track_to_folder(video, tmp_path / f"out{fps}", "mot", model=plain, detector=nothing,
                                      formats=("mot",))
        assert run.summary["status"] == "complete" and run.summary["video_fps"] == fps
        lost[fps] = run.config.bytetrack.max_time_lost
    assert lost == {15: 15, 30: 30}
    run = unicorn.track_to_folder(tmp_path / "clip15.mp4", tmp_path / "set", "mot", model=plain, detector=nothing,
                                  formats=("mot",), settings={"frame_rate": 30})
    assert run.config.bytetrack.max_time_lost == 30


def test_isinstance_of_tracker(lite, plain):
    for model, task in ((lite, "sot"), (lite, "vos"), (plain, "sot"), (plain, "vos"), (lite, "mot")):
        tracker = unicorn.Tracker(model, task, input_size=SIZE)
        assert isinstance(tracker, unicorn.Tracker), type(tracker)
    assert not isinstance(object(), unicorn.Tracker)
