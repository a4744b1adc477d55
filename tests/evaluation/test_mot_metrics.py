"""MOT metrics against published / independently computed values (TUD, MOT17-mini) and hand cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unicorn.data.datasets import TrackAnnotations, open_benchmark
from unicorn.data.datasets.mot_challenge import read_mot_txt
from unicorn.errors import UserError
from unicorn.evaluation.mot import evaluate_mot, evaluate_mot_motmetrics

TUD = ("TUD-Campus", "TUD-Stadtmitte")
# py-motmetrics' test columns (expected.json) -> our names
MM_COLUMNS = ["IDF1", "IDP", "IDR", "Recall", "Precision", "GT_IDs", "MT", "PT", "ML", "FP", "FN", "IDSW", "Frag",
              "MOTA", "MOTP"]


@pytest.fixture(scope="module")
def tud(shared_data):
    root = shared_data("motmetrics_tud")
    seqs = {}
    for name in TUD:
        gt = read_mot_txt(root / name / "gt.txt", is_gt=True)
        tracker = read_mot_txt(root / name / "test.txt", is_gt=False)
        seqs[name] = (gt, tracker, int(max(gt.frames.max(), tracker.frames.max())))
    return seqs, json.loads((root / "expected.json").read_text())


def test_tud_trackeval_path_matches_published_values(tud):
    seqs, expected = tud
    result = evaluate_mot(seqs, "MOT15")
    c = result.combined
    assert c["MOTA"] == pytest.approx(0.555116, abs=1e-6)
    assert c["IDF1"] == pytest.approx(0.624296, abs=1e-6)
    assert c["MOTP"] == pytest.approx(0.669823, abs=1e-6)
    assert c["IDSW"] == 14
    assert c["HOTA"] == pytest.approx(0.399957, abs=1e-6)
    assert c["DetA"] == pytest.approx(0.397683, abs=1e-6)
    assert c["AssA"] == pytest.approx(0.412450, abs=1e-6)
    assert c["LocA"] == pytest.approx(0.732480, abs=1e-6)
    assert (c["TP"], c["FN"], c["FP"], c["MT"], c["PT"], c["ML"], c["Frag"]) == (913, 602, 58, 6, 10, 2, 13)
    assert (c["IDTP"], c["IDFN"], c["IDFP"]) == (776, 739, 195)
    for name in TUD:
        ref = expected["computed_here"][name]
        assert result.per_sequence[name]["HOTA"] == pytest.approx(ref["HOTA(mean over 19 alphas)"], abs=1e-9)
        assert result.per_sequence[name]["sMOTA"] == pytest.approx(ref["sMOTA"], abs=1e-9)


def test_tud_motmetrics_path_matches_motmetrics_test_values(tud):
    seqs, expected = tud
    result = evaluate_mot_motmetrics(seqs, "MOT15")
    c = result.combined
    assert c["MOTA"] == pytest.approx(0.555116, abs=1e-6)
    assert c["IDF1"] == pytest.approx(0.624296, abs=1e-6)
    assert c["MOTP"] == pytest.approx(0.669823, abs=1e-6)
    assert c["IDSW"] == 14
    table = expected["motmetrics_test_asserted_atol_1e-3"]
    for row, scores in (("OVERALL", c), *((n, result.per_sequence[n]) for n in TUD)):
        ours = [scores[k] if k != "MOTP" else 1 - scores[k] for k in MM_COLUMNS]  # the test lists motp = 1 - IoU
        np.testing.assert_allclose(ours, table[row], atol=1e-6)


def test_motmetrics_shim_does_not_leak_into_numpy(tud):
    had_it = "asfarray" in np.__dict__
    evaluate_mot_motmetrics(tud[0], "MOT15")
    assert ("asfarray" in np.__dict__) == had_it


def _mot17_inputs(shared_data, keep_rows):
    reader = open_benchmark("mot17", shared_data("mot17_mini"))
    seqs = {}
    for seq in reader:
        gt = seq.tracks
        keep = keep_rows(gt)
        tracker = TrackAnnotations(gt.frames[keep], gt.ids[keep], gt.boxes[keep])  # class -1, like a tracker file
        seqs[seq.name] = (gt, tracker, seq.num_frames)
    return seqs


def test_mot17_preprocessing_gt_pedestrians_as_tracker_is_perfect(shared_data):
    seqs = _mot17_inputs(shared_data, lambda gt: (gt.classes == 1) & (gt.flags == 1))
    c = evaluate_mot(seqs, "MOT17").combined
    assert (c["HOTA"], c["MOTA"], c["IDF1"]) == (pytest.approx(1.0), pytest.approx(1.0), pytest.approx(1.0))
    assert (c["TP"], c["FP"], c["FN"]) == (814, 0, 0)


def test_mot17_preprocessing_all_gt_rows_as_tracker(shared_data):
    seqs = _mot17_inputs(shared_data, lambda gt: np.ones(len(gt), bool))
    assert sum(len(t) for _, t, _ in seqs.values()) == 1540
    c = evaluate_mot(seqs, "MOT17").combined
    # 726 non-pedestrian rows minus 136 matched to distractors (classes 2, 7, 8, 12) = 590 FP
    assert (c["TP"], c["FP"]) == (814, 590)
    assert c["MOTA"] == pytest.approx(0.2752, abs=1e-4)
    assert c["HOTA"] == pytest.approx(0.7614, abs=1e-4)


def _frame(gt_rows, tr_rows):
    gt = np.asarray(gt_rows, float)
    tr = np.asarray(tr_rows, float)
    gt_ann = TrackAnnotations(gt[:, 0], gt[:, 1], gt[:, 2:6], classes=gt[:, 7], flags=gt[:, 6])
    return {"s": (gt_ann, TrackAnnotations(tr[:, 0], tr[:, 1], tr[:, 2:6]), 1)}


def test_distractor_rules_by_benchmark():
    # One frame: a pedestrian, a static person (7, distractor), a car (3) and a non-motorised vehicle (6);
    # the tracker puts a box exactly on each.
    gt = [[1, 1, 0, 0, 10, 20, 1, 1], [1, 2, 50, 0, 10, 20, 0, 7], [1, 3, 100, 0, 30, 20, 0, 3],
          [1, 4, 200, 0, 10, 10, 0, 6]]
    tracker = [[1, k, *g[2:6]] for k, g in enumerate(gt, start=1)]
    mot17 = evaluate_mot(_frame(gt, tracker), "MOT17").combined
    assert (mot17["TP"], mot17["FP"], mot17["FN"]) == (1, 2, 0)  # static person removed; car and vehicle FP
    assert mot17["MOTA"] == pytest.approx(1 - 2)
    mot20 = evaluate_mot(_frame(gt, tracker), "MOT20").combined
    assert (mot20["TP"], mot20["FP"]) == (1, 1)  # class 6 is a distractor in MOT20 too
    mot15 = evaluate_mot(_frame([[*g[:6], 1, -1] for g in gt], tracker), "MOT15").combined
    assert (mot15["TP"], mot15["FP"]) == (4, 0)  # MOT15: no classes, every flagged row is a target


def test_tracker_with_class_column_above_one_is_an_error(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1,1,0,0,10,10,0.9,1\n1,2,20,0,10,10,0.8,3\n")
    tracker = read_mot_txt(path, is_gt=False)
    gt = TrackAnnotations([1], [1], [[0, 0, 10, 10]], classes=[1], flags=[1])
    with pytest.raises(UserError, match=r"seq\.txt:2: tracker class 3"):
        evaluate_mot({"s": (gt, tracker, 1)}, "MOT17")


def test_invalid_gt_classes_are_reported():
    gt = TrackAnnotations([1], [1], [[0, 0, 10, 10]], classes=[-1], flags=[1])
    tracker = TrackAnnotations([1], [1], [[0, 0, 10, 10]])
    with pytest.raises(UserError, match="mot15"):
        evaluate_mot({"s": (gt, tracker, 1)}, "MOT17")
