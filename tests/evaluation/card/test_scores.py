"""The card's scores on hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unicorn.evaluation.card.data import DavisClip, SotSequence
from unicorn.evaluation.card.runs import sot_held, vos_held
from unicorn.evaluation.card.scores import score_sot, score_vos


def test_held_box_scoring_on_a_hand_worked_case():
    # gt moves right by 5 px on the last frame: IoU 1, 1, 50/150 (pytracking's +1 pixel convention)
    gt = np.array([[[0, 0, 10, 10], [0, 0, 10, 10], [5, 0, 10, 10]]], np.float64)
    seq = SotSequence("toy", [Path("a"), Path("b"), Path("c")], gt[:, 0].copy(), gt, [1])
    scores = score_sot(sot_held([seq]), [seq])
    # 7 thresholds (0 .. 0.30) see 3/3 frames, 13 (0.35 .. 0.95) see 2/3, threshold 1.0 sees none
    assert scores["AUC"] == pytest.approx(100 * (7 + 13 * 2 / 3) / 21)
    assert scores["per_sequence"]["toy"]["AUC"] == pytest.approx(scores["AUC"])
    assert scores["targets"] == 1 and len(scores["success_curve"]) == 21


def test_held_mask_j_is_the_iou_of_the_middle_frames():
    masks = [np.zeros((20, 20), bool) for _ in range(4)]
    for t, m in enumerate(masks):
        m[5:15, 2 + t:12 + t] = True  # a 10x10 square moving right by 1 px a frame
    clip = DavisClip("toy", [Path(str(t)) for t in range(4)], masks, (20, 20))
    scores = score_vos(vos_held([clip]), [clip])
    per_frame = scores["per_sequence"]["toy"]["J_frames"]  # frames 1 and 2: shifted by 1 and 2 px
    assert per_frame == pytest.approx([100 * 90 / 110, 100 * 80 / 120])
    assert scores["J"] == pytest.approx(np.mean(per_frame))
