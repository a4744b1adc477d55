"""The BoT-SORT peer: perfect detections come back, and a missing package leaves a note."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from unicorn.evaluation.card.data import load_mot17
from unicorn.evaluation.card.detections import RecordedDetections
from unicorn.evaluation.card.peers import botsort_tuned, botsort_version, mot_botsort, mot_peer_section
from unicorn.evaluation.card.scores import score_mot


def test_botsort_on_perfect_detections(shared_data):
    """Ground-truth pedestrian boxes as detections: every box comes back, except the first frame of each
    track that starts after frame 1 (BoT-SORT confirms it on its second matched frame)."""
    data = shared_data("mot17_mini/train/MOT17-05-FRCNN/img1").parents[3]
    if botsort_version() is None:
        pytest.skip("roboflow trackers (BoT-SORT) is not installed")
    clip = load_mot17(data, ("MOT17-05-FRCNN",), max_frames=3)[0]
    g = clip.gt
    ped = (g.classes == 1) & (g.flags == 1)
    dets = []
    for t in (1, 2, 3):
        b = g.boxes_xywh[ped & (g.frames == t)].astype(np.float32)
        dets.append((np.c_[b[:, :2], b[:, :2] + b[:, 2:]], np.full(len(b), 0.9, np.float32), np.zeros(len(b), int)))
    tracks, info = mot_botsort([clip], {clip.name: dets})
    pred = tracks[clip.name]
    assert info["frames_timed"] == 3 and set(pred.frames.tolist()) <= {1, 2, 3} and pred.ids.min() >= 1
    assert info["settings"]["track_activation_threshold"] == 0.7  # the library's defaults, untouched
    late = sum(g.frames[ped & (g.ids == i)].min() > 1 for i in np.unique(g.ids[ped]))
    scores = score_mot(tracks, [clip])
    assert (scores["FP"], scores["IDSW"], scores["FN"]) == (0, 0, late)
    assert scores["MOTA"] == pytest.approx(100 * (1 - late / ped.sum()))
    gt_boxes = {(int(f), tuple(b)) for f, b in zip(g.frames[ped], g.boxes_xywh[ped].astype(np.float32).tolist())}
    assert all((int(f), tuple(b)) in gt_boxes for f, b in zip(pred.frames, pred.boxes.astype(np.float32).tolist()))


def test_tuned_thresholds_are_bytetracks_for_nanodet():
    assert botsort_tuned() == {"high_conf_det_threshold": 0.45, "track_activation_threshold": 0.55}


def test_botsort_rows_are_skipped_with_a_note_without_trackers(monkeypatch):
    monkeypatch.setitem(sys.modules, "trackers", None)  # import fails as if not installed
    assert botsort_version() is None
    results = {"notes": {}, "mot17": {"methods": {}}}
    mot_peer_section(results, [], RecordedDetections())
    assert "pip install trackers==2.6.1" in results["notes"]["botsort"] and not results["mot17"]["methods"]
