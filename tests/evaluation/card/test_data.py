"""The card's clips and SOT targets, on the real DAVIS / MOT17-mini files and on hand-made boxes."""

from __future__ import annotations

import numpy as np
import pytest

from unicorn.errors import UserError
from unicorn.evaluation.card.data import (
    clip_xywh,
    davis_sot_sequences,
    load_davis,
    load_mot17,
    mask_box_xywh,
    mot17_sot_sequences,
)


def test_clip_xywh_cuts_boxes_to_the_image():
    boxes = np.array([[-10, 5, 30, 10], [90, 40, 20, 20], [200, 0, 5, 5]], np.float64)
    np.testing.assert_array_equal(clip_xywh(boxes, (50, 100)),
                                  [[0, 5, 20, 10], [90, 40, 10, 10], [100, 0, 0, 5]])


def test_mask_box_is_inclusive_pixels_and_nan_when_empty():
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True
    np.testing.assert_array_equal(mask_box_xywh(mask), [3, 2, 6, 3])
    assert np.isnan(mask_box_xywh(np.zeros((4, 4), bool))).all()


def test_davis_targets_are_the_mask_boxes(shared_data):
    data = shared_data("davis2016_val").parent
    clip = load_davis(data, ("blackswan",), max_frames=5)[0]
    seq = davis_sot_sequences([clip])[0]
    ys, xs = np.nonzero(clip.masks[3])
    np.testing.assert_array_equal(seq.gt[0, 3], [xs.min(), ys.min(), np.ptp(xs) + 1, np.ptp(ys) + 1])
    assert seq.gt.shape == (1, 5, 4) and seq.target_ids == [1] and clip.size == (480, 854)
    np.testing.assert_array_equal(seq.init[0], seq.gt[0, 0])


def test_mot17_targets_follow_the_documented_rule(shared_data):
    folder = shared_data("mot17_mini") / "train" / "MOT17-05-FRCNN"
    clip = load_mot17(folder.parents[2], ("MOT17-05-FRCNN",), max_frames=4)[0]
    rows = np.loadtxt(folder / "gt" / "gt.txt", delimiter=",")
    first = rows[(rows[:, 0] == 1) & (rows[:, 7] == 1) & (rows[:, 6] == 1) & (rows[:, 8] >= 0.5)
                 & (rows[:, 4] * rows[:, 5] >= 32 * 32)]
    seq = mot17_sot_sequences([clip])[0]
    assert seq.target_ids == sorted(first[:, 1].astype(int).tolist()) and len(first) > 0
    assert seq.gt.shape == (len(first), 4, 4)
    k = 0  # the first target on frame 2: its gt row, cut to the 640x480 image
    row = rows[(rows[:, 0] == 2) & (rows[:, 1] == seq.target_ids[k])][0]
    np.testing.assert_allclose(seq.gt[k, 1], clip_xywh(row[2:6], clip.size)[0])


def test_missing_data_and_sequences_are_user_errors(shared_data, tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_davis(tmp_path / "nowhere")
    with pytest.raises(UserError, match="no-such-sequence"):
        load_davis(shared_data("davis2016_val").parent, ("no-such-sequence",))
