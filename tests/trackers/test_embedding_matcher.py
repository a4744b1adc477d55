"""Embedding matcher: the bi-softmax rule on a worked example, duplicates, backdrops, memory."""

import math

import numpy as np
import pytest

from unicorn.errors import UserError
from unicorn.trackers.association import EmbeddingMatcher, EmbeddingMatcherConfig, match_scores

A = [0, 0, 40, 100]
B = [200, 0, 240, 100]
C = [400, 0, 440, 100]

E = math.e
S2 = E**2 / (E**2 + 1)  # softmax([2, 0])[0] = 0.8808
S1 = E / (E + 1)  # softmax([1, 0])[0] = 0.7311


def test_bisoftmax_worked_example():
    # detections d_a = [2, 0], d_b = [0, 1]; memory m_1 = [1, 0], m_2 = [0, 1]
    # dot products:            m_1  m_2
    #                    d_a [  2    0 ]
    #                    d_b [  0    1 ]
    # softmax over memory (rows):      d_a: [e²/(e²+1), 1/(e²+1)] = [0.8808, 0.1192]
    #                                  d_b: [1/(1+e),   e/(1+e)]  = [0.2689, 0.7311]
    # softmax over detections (cols):  m_1: [e²/(e²+1), 1/(e²+1)] = [0.8808, 0.1192]
    #                                  m_2: [1/(1+e),   e/(1+e)]  = [0.2689, 0.7311]
    # mean:  [[0.8808, (0.1192 + 0.2689) / 2], [(0.2689 + 0.1192) / 2, 0.7311]]
    got = match_scores(np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]]))
    off = ((1 - S2) + (1 - S1)) / 2  # 0.19405
    np.testing.assert_allclose(got, [[S2, off], [off, S1]])
    assert got[0, 0] == pytest.approx(0.8808, abs=1e-4) and off == pytest.approx(0.19405, abs=1e-4)


def test_matching_follows_appearance_not_position():
    m = EmbeddingMatcher(EmbeddingMatcherConfig.mot17())
    first = m.update([A, B], [0.9, 0.85], [[1, 0], [0, 1]])
    assert first.track_ids.tolist() == [1, 2]
    # the objects swap places; the example above gives d(=[2,0]) -> 1 (0.88 > 0.5) and
    # d(=[0,1]) -> 2 (0.73 > 0.5); output is in score order
    out = m.update([B, A], [0.9, 0.7], [[2, 0], [0, 1]])
    assert out.track_ids.tolist() == [1, 2]
    np.testing.assert_array_equal(out.boxes_xyxy, [B, A])
    assert out.detection_indices.tolist() == [0, 1]


def test_below_match_threshold_gives_new_id():
    m = EmbeddingMatcher()
    m.update([A, B], [0.9, 0.9], [[1, 0], [0, 1]])
    # d = [0.5, 0.5] against m_1, m_2: equal dots -> softmax over memory [0.5, 0.5];
    # one detection -> softmax over detections [1, 1]; bi-softmax 0.75 > 0.5: matches id 1 (first max)
    assert m.update([C], [0.9], [[0.5, 0.5]]).track_ids.tolist() == [1]
    m2 = EmbeddingMatcher()
    m2.update([A, B], [0.9, 0.9], [[1, 0], [0, 1]])
    # two detections both [0, 0]: every dot is 0 -> all softmaxes 0.5 -> bi-softmax 0.5, not > 0.5
    out = m2.update([A, C], [0.95, 0.9], [[0, 0], [0, 0]])
    assert out.track_ids.tolist() == [3, 4]


def test_matched_column_is_zeroed_for_later_detections():
    m = EmbeddingMatcher()
    m.update([A], [0.9], [[1, 0]])
    # both detections look like track 1; the higher-scoring one takes it, the other becomes new
    out = m.update([A, C], [0.95, 0.9], [[3, 0], [3, 0]])
    assert out.track_ids.tolist() == [1, 2]


def test_duplicate_removal_and_low_score_suppression():
    m = EmbeddingMatcher()
    m.update([A], [0.9], [[1, 0]])
    near_a = [2, 0, 42, 100]  # IoU with A ~0.9 > 0.7: dropped as a duplicate
    out = m.update([A, near_a], [0.9, 0.85], [[1, 0], [0, 1]])
    assert out.track_ids.tolist() == [1] and len(out) == 1
    # a low-score detection (0.4 < obj 0.5) that looks like track 1 (bi-softmax 1.0 > 0.5) is
    # suppressed: not reported and not kept as a backdrop
    m = EmbeddingMatcher()
    m.update([A], [0.9], [[1, 0]])
    assert m.update([C], [0.4], [[1, 0]]).track_ids.tolist() == []
    assert m._backdrops[0].embeds.shape[0] == 0


def test_backdrops_block_matches():
    m = EmbeddingMatcher()
    # frame 1: track 1 = [1, 0]; a 0.6 detection (< init 0.8) with [0, 5] becomes a backdrop
    m.update([A, C], [0.9, 0.6], [[1, 0], [0, 5]])
    assert m._backdrops[0].embeds.tolist() == [[0, 5]]
    # frame 2: a detection [0, 5] matches the backdrop best -> no id, and 0.85 > 0.8 -> new id 2
    out = m.update([A, C], [0.9, 0.85], [[1, 0], [0, 5]])
    assert out.track_ids.tolist() == [1, 2]


def test_with_cats_masks_other_classes():
    m = EmbeddingMatcher(EmbeddingMatcherConfig.bdd100k())
    m.update([A], [0.9], [[1, 0]], class_ids=[3])
    # same appearance, other class: similarity multiplied by 0 -> new track
    assert m.update([A], [0.9], [[1, 0]], class_ids=[4]).track_ids.tolist() == [2]
    assert m.update([B], [0.9], [[1, 0]], class_ids=[3]).track_ids.tolist() == [1]


def test_momentum_update():
    m = EmbeddingMatcher(EmbeddingMatcherConfig.mot17())  # momentum 0.8
    m.update([A], [0.9], [[1, 0]])
    m.update([A], [0.9], [[3, 1]])
    np.testing.assert_allclose(m._tracklets[1].embed, [0.2 * 1 + 0.8 * 3, 0.8 * 1])


@pytest.mark.parametrize("gap, same_id", [(2, True), (3, False)])
def test_tracklets_expire(gap, same_id):
    cfg = EmbeddingMatcherConfig(memo_tracklet_frames=3)
    m = EmbeddingMatcher(cfg)
    m.update([A], [0.9], [[1, 0]])
    for _ in range(gap):
        m.update(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 2)))
    # last seen at frame 1; dropped once frame - 1 >= 3 (after matching in that frame)
    assert m.update([A], [0.9], [[1, 0]]).track_ids.tolist() == ([1] if same_id else [2])


def test_presets():
    bdd = EmbeddingMatcherConfig.bdd100k()
    assert (bdd.init_score_thr, bdd.obj_score_thr, bdd.memo_tracklet_frames, bdd.memo_momentum) == (
        0.4, 0.2, 10, 1.0)
    mots = EmbeddingMatcherConfig.bdd100k_mots()
    assert (mots.init_score_thr, mots.obj_score_thr, mots.match_score_thr) == (0.5, 0.3, 0.5)
    mot = EmbeddingMatcherConfig.mot17()
    assert (mot.init_score_thr, mot.memo_momentum, mot.nms_conf_thr, mot.memo_backdrop_frames) == (
        0.8, 0.8, 0.5, 1)
    with pytest.raises(UserError, match="memo_momentum"):
        EmbeddingMatcherConfig(memo_momentum=1.5)


def test_instances_do_not_share_ids_and_reset_restarts():
    a, b = EmbeddingMatcher(), EmbeddingMatcher()
    assert a.update([A, B], [0.9, 0.9], [[1, 0], [0, 1]]).track_ids.tolist() == [1, 2]
    assert b.update([C], [0.9], [[1, 0]]).track_ids.tolist() == [1]
    a.reset()
    assert a.num_tracklets == 0
    assert a.update([C], [0.9], [[0, 1]]).track_ids.tolist() == [1]


def test_tracks_carry_detection_masks_into_frame_results():
    masks = np.zeros((2, 4, 5), bool)
    masks[0, 0, 0] = masks[1, 3, 4] = True
    out = EmbeddingMatcher().update([A, B], [0.5, 0.9], [[1, 0], [0, 1]])  # only B (0.9) starts a track
    result = out.to_frame_result(0, (4, 5), detection_masks=masks)
    assert result.track_ids.tolist() == [1] and result.masks[0, 3, 4] and result.masks.sum() == 1
