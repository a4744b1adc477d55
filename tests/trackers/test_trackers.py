"""Task trackers on hand-made inputs: the policies around the model, not the model's accuracy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import unicorn
from unicorn.models.build import build_model
from unicorn.trackers import remove_overlaps, soft_aggregate
from unicorn.trackers.association.base import Tracks
from unicorn.trackers.mots import drop_empty

SIZE = (64, 96)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("unicorn-lite").eval()


def frames(n: int = 4, h: int = 120, w: int = 160) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (h, w + 4 * n, 3), dtype=np.uint8)
    return [np.ascontiguousarray(base[:, 4 * i:4 * i + w]) for i in range(n)]


def test_soft_aggregation_hand_made():
    # pixel 0: p = (0.6, 0.3): bg = 0.4 * 0.7 = 0.28 -> object 1 (0.6)
    # pixel 1: p = (0.2, 0.1): bg = 0.8 * 0.9 = 0.72 -> background
    # pixel 2: p = (0.5, 0.7): bg = 0.5 * 0.3 = 0.15 -> object 2 (0.7)
    probs = np.array([[[0.6, 0.2, 0.5]], [[0.3, 0.1, 0.7]]])
    np.testing.assert_array_equal(soft_aggregate(probs), [[1, 0, 2]])


def test_mots_overlap_removal_lower_id_wins():
    masks = np.zeros((3, 1, 4), bool)
    masks[0, 0, :3] = True  # track 5
    masks[1, 0, 1:] = True  # track 2
    masks[2, 0, 3] = True   # track 9
    out = remove_overlaps(masks, np.array([5, 2, 9]))
    np.testing.assert_array_equal(out[1, 0], [False, True, True, True])   # id 2 keeps everything
    np.testing.assert_array_equal(out[0, 0], [True, False, False, False])  # id 5 loses pixels 1-2
    np.testing.assert_array_equal(out[2, 0], [False, False, False, False])  # id 9 loses pixel 3


def test_mots_tracks_without_a_pixel_are_dropped_and_no_track_is_no_error():
    tracks = Tracks.build([3, 4], [np.zeros(4), np.ones(4)], [0.9, 0.8], [0, 1], [0, 1])
    masks = np.zeros((2, 4, 4), bool)
    masks[1, 2, 2] = True  # track 3 lost every pixel to an overlap
    kept, kept_masks = drop_empty(tracks, masks)
    assert kept.track_ids.tolist() == [4] and kept.class_ids.tolist() == [1] and kept_masks.shape == (1, 4, 4)
    none, none_masks = drop_empty(kept.subset(np.zeros(1, bool)), np.zeros((0, 4, 4), bool))
    assert len(none) == 0 and none_masks.shape == (0, 4, 4)


def test_sot_keeps_previous_box_when_nothing_passes(model):
    # the detection head's policy (method="head"): no score reaches 1, so the last box is held, marked lost
    tracker = unicorn.Tracker(model, "sot", input_size=SIZE, conf_thresh=1.0, method="head")
    results = list(tracker.track(frames(), boxes=[(10, 20, 30, 40), (50, 30, 20, 20)]))
    assert [r.frame_index for r in results] == [0, 1, 2, 3]
    for r in results:
        np.testing.assert_allclose(r.boxes_xyxy, [[10, 20, 40, 60], [50, 30, 70, 50]])
        np.testing.assert_array_equal(r.track_ids, [1, 2])
        assert r.states.tolist() == (["tracked"] * 2 if r.frame_index == 0 else ["lost"] * 2)


def test_two_mot_trackers_never_share_ids_and_reset_restarts(model):
    def ids_of(tracker, fs):
        out = []
        for r in tracker.track(fs):
            out += r.track_ids.tolist()
        return out

    # Feed our own detections so that tracks exist regardless of the (untrained) weights.
    def detector(frame, i):
        return np.array([[10 + 2 * i, 10, 50 + 2 * i, 90]], np.float32), np.array([0.95], np.float32), np.array([0])

    a = unicorn.Tracker(model, "mot", input_size=SIZE, detector=detector)
    b = unicorn.Tracker(model, "mot", input_size=SIZE, detector=detector)
    fs = frames(5)
    ids_a = ids_of(a, fs)
    ids_b = ids_of(b, fs)
    assert ids_a and set(ids_a) == {1} and set(ids_b) == {1}  # each instance counts from 1 by itself
    a.reset()
    assert set(ids_of(a, fs)) == {1}


def test_vos_add_and_remove_objects(model):
    fs = frames(4)
    mask = np.zeros(fs[0].shape[:2], np.uint8)
    mask[20:60, 30:70] = 1
    vos = unicorn.Tracker(model, "vos", input_size=SIZE)
    first = vos.init(fs[0], masks=mask)
    assert first.track_ids.tolist() == [1] and first.masks[0].sum() == 40 * 40
    later = np.zeros_like(mask)
    later[70:100, 100:140] = 1
    added = vos.add_objects(fs[1], masks=later, ids=[7])
    assert added.track_ids.tolist() == [1, 7]
    assert added.masks[1].sum() == 30 * 40  # a new object is output as given on its first frame
    vos.remove_objects([1])
    assert vos.step(fs[2]).track_ids.tolist() == [7]


def test_sot_add_and_remove_targets(model):
    fs = frames(4)
    sot = unicorn.Tracker(model, "sot", input_size=SIZE, conf_thresh=1.0)  # boxes stay where they were put
    sot.init(fs[0], boxes=(10, 20, 30, 40))
    added = sot.add_objects(fs[1], boxes=[(60, 30, 20, 20)], ids=[5])
    assert added.track_ids.tolist() == [1, 5]
    np.testing.assert_allclose(added.boxes_xyxy[1], [60, 30, 80, 50])
    with pytest.raises(unicorn.UserError, match="already tracked"):
        sot.add_objects(fs[2], boxes=(0, 0, 5, 5), ids=[5])
    assert sot.frame_index == 1  # the refused prompt did not consume the frame
    sot.remove_objects([1])
    assert sot.step(fs[3]).track_ids.tolist() == [5]


def test_vos_box_initialisation(model):
    fs = frames(3)
    vos = unicorn.Tracker(model, "vos", input_size=SIZE, conf_thresh=1.0, method="head")  # no detection: filled boxes
    first = vos.init(fs[0], boxes=[(10, 20, 30, 40), (90, 60, 20, 10)])
    assert first.track_ids.tolist() == [1, 2]
    assert first.masks[0].sum() == 30 * 40 and first.masks[1].sum() == 20 * 10
    with pytest.raises(unicorn.UserError, match="either masks= or boxes="):
        vos.init(fs[0])


def test_choose_candidate_motion_prior_hand_worked():
    from unicorn.trackers.configs import SOTConfig
    from unicorn.trackers.sot import choose_candidate

    prev = np.array([0, 0, 10, 10], float)  # size sqrt(10 * 10) = 10
    far = [100, 0, 110, 10]  # d = 100 / 10 = 10 -> exp(-50): gone
    near = [2, 0, 12, 10]  # d = 0.2 -> 0.3 * exp(-0.02) = 0.2941
    big = [0, 0, 20, 20]  # d = 0.7071 -> exp(-0.25) = 0.7788; size x2 -> change 2
    boxes, scores = np.array([far, near, big], float), np.array([0.9, 0.3, 0.5])
    assert choose_candidate(boxes, scores, prev, SOTConfig()) == 0  # upstream: top score
    # scale_penalty 0: big = 0.5 * 0.7788 = 0.389 > near 0.294
    assert choose_candidate(boxes, scores, prev, SOTConfig(motion_sigma=1.0)) == 2
    # scale_penalty 0.5: big = 0.389 * exp(-0.5) = 0.236 < near 0.294
    assert choose_candidate(boxes, scores, prev, SOTConfig(motion_sigma=1.0, scale_penalty=0.5)) == 1
    assert choose_candidate(boxes, scores, prev, SOTConfig(motion_sigma=1.0, scale_penalty=0.5, min_score=0.3)) is None
    assert choose_candidate(boxes[:0], scores[:0], prev, SOTConfig()) is None


def test_max_target_size_shrinks_the_video_hand_worked():
    from unicorn.models.build import build_model
    from unicorn.trackers.configs import SOTConfig
    from unicorn.trackers.sot import SOTTracker

    model = build_model("unicorn-lite").eval()
    tracker = SOTTracker(model, SOTConfig(max_target_size=0.5), input_size=(320, 512))
    frame = np.zeros((480, 854, 3), np.uint8)
    tracker.init(frame, boxes=[(100, 50, 400, 300)])
    # r = min(320 / 480, 512 / 854) = 0.59953; longer side 400 -> 239.8 px = 0.7494 of 320 -> scale 0.5 / 0.7494
    assert tracker.frame_scale == pytest.approx(0.5 / (400 * 512 / 854 / 320), rel=1e-6)
    f = tracker.preprocess(frame)
    assert f.r == pytest.approx(512 / 854 * tracker.frame_scale, rel=1e-6)
    assert (f.image[0, :, int(480 * f.r) + 1:, :] == 114).all()  # the shrunk frame leaves padding below
    tracker.init(frame, boxes=[(100, 50, 100, 80)])  # small target: frames fill the input again
    assert tracker.frame_scale == 1.0
