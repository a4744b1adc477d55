"""ByteTrack associator: id continuity through gaps, score tiers, classes, per-instance ids."""

import itertools

import numpy as np
import pytest

from unicorn.trackers.association import ByteTrack, ByteTrackConfig, KalmanFilterXYAH
from unicorn.trackers.association.matching import iou_matrix, linear_assignment

EMPTY = (np.zeros((0, 4)), np.zeros(0))


def run(tracker, frames):
    """frames: list of (boxes, scores[, classes]); returns the list of id lists per frame."""
    return [tracker.update(*f).track_ids.tolist() for f in frames]


def static(n, box=(100, 100, 150, 200), score=0.9):
    return [([box], [score])] * n


@pytest.mark.parametrize("gap, same_id", [(5, True), (6, False)])
def test_id_survives_gap_up_to_buffer(gap, same_id):
    # track_buffer 5 at 30 fps -> a lost track is removed when frame - last_seen > 5,
    # so it can be re-found after at most 5 missing frames.
    tracker = ByteTrack(ByteTrackConfig(track_buffer=5))
    ids = run(tracker, static(3) + [EMPTY] * gap + static(2))
    assert ids[:3] == [[1]] * 3
    assert ids[3 : 3 + gap] == [[]] * gap
    if same_id:
        assert ids[-2:] == [[1], [1]]
    else:  # a new track is unconfirmed on its first frame (frame > 1), then confirmed
        assert ids[-2:] == [[], [2]]


def test_buffer_scales_with_frame_rate():
    assert ByteTrackConfig(track_buffer=30, frame_rate=15).max_time_lost == 15
    assert ByteTrackConfig().max_time_lost == 30


def test_kalman_bridges_a_gap_of_a_moving_box():
    # 10 px/frame, 50 px wide: after 5 missing frames the box moved 60 px, so only the Kalman
    # prediction (not the last box) still overlaps it
    tracker = ByteTrack(ByteTrackConfig(track_buffer=10))
    frames = [([[10 * f, 50, 10 * f + 50, 150]], [0.9]) for f in range(25)]
    for f in range(15, 20):
        frames[f] = EMPTY
    ids = run(tracker, frames)
    assert all(i == [1] for k, i in enumerate(ids) if not 15 <= k < 20)
    box = tracker.update([[250, 50, 300, 150]], [0.9]).boxes_xyxy[0]
    np.testing.assert_allclose(box, [250, 50, 300, 150], atol=2.0)


def test_score_tiers():
    tracker = ByteTrack()
    far = [300, 300, 340, 400]
    # frame 1: 0.9 starts a track; 0.65 is a high detection but below 0.7, so no track
    assert run(tracker, [([[0, 0, 40, 100], far], [0.9, 0.65])]) == [[1]]
    # low-score detection (0.1 < 0.3 < 0.6) keeps the track alive in the second pass
    out = tracker.update([[1, 0, 41, 100], far], [0.3, 0.65])
    assert out.track_ids.tolist() == [1] and out.scores[0] == pytest.approx(0.3)
    assert out.detection_indices.tolist() == [0]
    # at or below low_thresh the detection is ignored: the track is lost
    assert tracker.update([[2, 0, 42, 100]], [0.1]).track_ids.tolist() == []


def test_output_filters():
    small = [0, 0, 9, 9]  # area 81 <= 100
    wide = [100, 100, 300, 200]  # w/h = 2
    assert ByteTrack().update([small, wide], [0.9, 0.9]).track_ids.tolist() == [2]
    assert ByteTrack(ByteTrackConfig.mot17()).update([small, wide], [0.9, 0.9]).track_ids.tolist() == []


def test_association_stays_within_a_class():
    box = [[100, 100, 150, 200]]
    tracker = ByteTrack()
    ids = run(tracker, [(box, [0.9], [0]), (box, [0.9], [1]), (box, [0.9], [1])])
    # class 1 cannot continue the class-0 track: a new (unconfirmed, then confirmed) track 2
    assert ids == [[1], [], [2]]
    agnostic = ByteTrack(ByteTrackConfig(per_class=False))
    assert run(agnostic, [(box, [0.9], [0]), (box, [0.9], [1])]) == [[1], [1]]
    # two classes on the same box are tracked side by side
    both = ByteTrack()
    out = [both.update(box * 2, [0.9, 0.8], [0, 1]) for _ in range(3)][-1]
    assert sorted(zip(out.class_ids.tolist(), out.track_ids.tolist(), strict=True)) == [(0, 1), (1, 2)]


def test_instances_do_not_share_ids_and_reset_restarts():
    a, b = ByteTrack(), ByteTrack()
    two = ([[0, 0, 40, 100], [200, 0, 240, 100]], [0.9, 0.9])
    assert a.update(*two).track_ids.tolist() == [1, 2]
    assert b.update(*two).track_ids.tolist() == [1, 2]  # b's counter is its own
    a.reset()
    assert a.frame_id == 0
    assert a.update([[500, 0, 540, 100]], [0.9]).track_ids.tolist() == [1]


def test_iou_plus_one_convention():
    # [0,0,9,9] covers 10x10 pixels in the cython_bbox convention: IoU with [5,0,14,9] = 50/150
    assert iou_matrix([[0, 0, 9, 9]], [[5, 0, 14, 9]], plus_one=True)[0, 0] == pytest.approx(1 / 3)
    assert iou_matrix([[0, 0, 10, 10]], [[5, 0, 15, 10]])[0, 0] == pytest.approx(1 / 3)


def test_linear_assignment_matches_brute_force():
    # rule: minimise matched costs + thresh/2 for every unmatched row and column
    rng = np.random.default_rng(0)
    thresh = 0.6
    for _ in range(20):
        cost = rng.random((3, 4))
        matches, ur, uc = linear_assignment(cost, thresh)
        got = cost[matches[:, 0], matches[:, 1]].sum() + thresh / 2 * (len(ur) + len(uc))
        best = np.inf
        for k in range(4):
            for rows in itertools.combinations(range(3), k):
                for cols in itertools.permutations(range(4), k):
                    total = sum(cost[r, c] for r, c in zip(rows, cols, strict=True))
                    best = min(best, total + thresh / 2 * (7 - 2 * k))
        assert got == pytest.approx(best)
        assert (cost[matches[:, 0], matches[:, 1]] <= thresh).all()


def test_kalman_update_is_the_textbook_correction():
    kf = KalmanFilterXYAH()
    mean, cov = kf.predict(*kf.initiate(np.array([100.0, 100.0, 0.5, 80.0])))
    z = np.array([104.0, 98.0, 0.5, 82.0])
    new_mean, new_cov = kf.update(mean, cov, z)
    h = kf.update_mat
    # measurement noise std: 1/20 of the height for positions, 0.1 for the aspect ratio
    s = h @ cov @ h.T + np.diag(np.square([80 / 20, 80 / 20, 0.1, 80 / 20]))
    gain = cov @ h.T @ np.linalg.inv(s)
    np.testing.assert_allclose(new_mean, mean + gain @ (z - h @ mean))
    np.testing.assert_allclose(new_cov, cov - gain @ s @ gain.T, atol=1e-9)
    # initial std: 2/20 h for positions, 10/160 h for velocities
    _, cov0 = kf.initiate(np.array([0.0, 0.0, 1.0, 160.0]))
    np.testing.assert_allclose(np.sqrt(np.diag(cov0)), [16, 16, 1e-2, 16, 10, 10, 1e-5, 10])


def test_degenerate_boxes_are_ignored():
    out = ByteTrack().update([[10, 10, 10, 50], [0, 0, 40, 100]], [0.9, 0.9])
    assert out.track_ids.tolist() == [1] and out.detection_indices.tolist() == [1]
    assert np.isfinite(out.boxes_xyxy).all()
