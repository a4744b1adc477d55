"""SOT metrics: GOT-10k against the got10k toolkit, pytracking and TrackingNet rules on hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest

from unicorn.evaluation.runners import evaluate_benchmark
from unicorn.evaluation.sot import ope_summary, pytracking_curves, trackingnet_curves, trackingnet_summary

# --- GOT-10k: cross-check with the official toolkit on generated sequences -------------------------

LENGTHS = (25, 30, 18)
RESOLUTION = (640, 480)  # (width, height), as in meta_info.ini


def _make_got10k(tmp_path):
    """A GOT-10k-style val split with perturbed tracker results in the toolkit's layout."""
    rng = np.random.default_rng(7)
    root, results = tmp_path / "got10k", tmp_path / "results" / "GOT-10k" / "perturbed"
    names = [f"GOT-10k_Val_{k:06d}" for k in range(1, len(LENGTHS) + 1)]
    (root / "val").mkdir(parents=True)
    (root / "val" / "list.txt").write_text("\n".join(names) + "\n")
    for name, length in zip(names, LENGTHS):
        seq = root / "val" / name
        seq.mkdir()
        xy = rng.uniform([-30, -30], [600, 440], size=(length, 2))  # some boxes leave the image
        gt = np.concatenate([xy, rng.uniform(20, 120, size=(length, 2))], axis=1)
        cover = rng.integers(0, 9, size=length)
        cover[[3, 7]] = 0  # fully occluded frames are not scored
        np.savetxt(seq / "groundtruth.txt", gt, fmt="%.4f", delimiter=",")
        np.savetxt(seq / "cover.label", cover, fmt="%d")
        np.savetxt(seq / "absence.label", (cover == 0).astype(int), fmt="%d")
        np.savetxt(seq / "cut_by_image.label", np.zeros(length), fmt="%d")
        (seq / "meta_info.ini").write_text(f"[METAINFO]\nobject_class: thing\nresolution: {RESOLUTION}\n")
        for t in range(length):
            (seq / f"{t + 1:08d}.jpg").write_bytes(b"")
        (results / name).mkdir(parents=True)
        np.savetxt(results / name / f"{name}_time.txt", np.full(length, 0.01), fmt="%.3f")  # the toolkit needs it
        for rep in range(1, 4 if name == names[0] else 2):  # three repetitions for the first sequence
            pred = gt.copy()
            pred[:, :2] += rng.normal(0, 8, size=(length, 2))
            pred[:, 2:] *= np.exp(rng.normal(0, 0.2, size=(length, 2)))
            lost = rng.random(length) < 0.15
            pred[lost, :2] += 200  # tracking failures
            np.savetxt(results / name / f"{name}_{rep:03d}.txt", pred, fmt="%.4f", delimiter=",")
    return root, results


def test_got10k_ao_sr_equal_the_got10k_toolkit(tmp_path, monkeypatch):
    got10k = pytest.importorskip("got10k.experiments")
    from got10k.utils.metrics import rect_iou

    root, results = _make_got10k(tmp_path)
    monkeypatch.setattr(got10k.ExperimentGOT10k, "plot_curves", lambda *args, **kwargs: None)
    experiment = got10k.ExperimentGOT10k(str(root), subset="val", result_dir=str(tmp_path / "results"),
                                         report_dir=str(tmp_path / "reports"))
    official = experiment.report(["perturbed"])["perturbed"]

    ours = evaluate_benchmark("got10k", results, root)
    assert ours.complete and len(ours.evaluated) == 3
    assert ours.summary["AO"] == pytest.approx(official["overall"]["ao"], abs=1e-12)
    assert ours.summary["SR50"] == pytest.approx(official["overall"]["sr"], abs=1e-12)
    assert ours.details["success_curve"] == pytest.approx(official["overall"]["succ_curve"], abs=1e-12)
    for name, seq in official["seq_wise"].items():
        assert ours.per_sequence[name]["AO"] == pytest.approx(seq["ao"], abs=1e-12)
        assert ours.per_sequence[name]["SR50"] == pytest.approx(seq["sr"], abs=1e-12)
    # The toolkit has no SR0.75 field: compute it from its own rect_iou on the same frames.
    ious = []
    for name in official["seq_wise"]:
        gt = np.loadtxt(root / "val" / name / "groundtruth.txt", delimiter=",")
        cover = np.loadtxt(root / "val" / name / "cover.label")
        for f in sorted((results / name).glob(f"{name}_0*.txt")):
            ious.append(rect_iou(np.loadtxt(f, delimiter=",")[1:], gt[1:], bound=RESOLUTION)[cover[1:] > 0])
    assert ours.summary["SR75"] == pytest.approx(np.mean(np.concatenate(ious) > 0.75), abs=1e-12)
    assert 0.2 < ours.summary["AO"] < 0.9  # the perturbation is neither trivial nor hopeless


# --- pytracking (LaSOT convention) on a hand-worked case with an absent frame ------------------------

GT = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0], [10, 10, 10, 10], [0, 0, 10, 10]], float)
PRED = np.array([[50, 50, 5, 5], [0, 0, 10, 10], [5, 5, 10, 10], [15, 10, 10, 10], [0, 0, 0, 0]], float)
VISIBLE = np.array([True, True, False, True, True])
# Frame 0 is forced to the gt (IoU 1). Frame 1 matches (IoU 1, error 0). Frame 2 is absent: a failure.
# Frame 3 overlaps 5x10 px: IoU 50 / (100 + 100 - 50) = 1/3, centre error 5 px, normalised 5/10 = 0.5.
# Frame 4 predicts a 0x0 box, replaced by frame 3's [15, 10, 10, 10]: IoU 0, error sqrt(15^2 + 10^2) = 18.0,
# normalised sqrt(1.5^2 + 1^2) = 1.80.
# Success (IoU > thr, divided by all 5 frames): thr 0..0.30 (7 thresholds): 3/5; 0.35..0.95 (13): 2/5; 1.0: 0.
AUC = (7 * 3 / 5 + 13 * 2 / 5) / 21 * 100  # 44.76
PRECISION = 4 / 5 * 100  # errors 0, 0, inf, 5, 18.0 are <= 20 px, except the absent frame
NORM_PRECISION = 2 / 5 * 100  # normalised errors 0, 0, inf, 0.5, 1.80: two are <= 0.20


def test_pytracking_lasot_convention_hand_case():
    summary = ope_summary(*(c[None] for c in pytracking_curves(PRED, GT, VISIBLE)))
    assert summary["AUC"] == pytest.approx(AUC)
    assert summary["OP50"] == pytest.approx(40.0)  # IoU > 0.5 in frames 0 and 1
    assert summary["OP75"] == pytest.approx(40.0)
    assert summary["Precision"] == pytest.approx(PRECISION)
    assert summary["NormPrecision"] == pytest.approx(NORM_PRECISION)


def test_pytracking_without_absence_labels_and_excluding_invalid_frames():
    # Without visibility labels (OTB-style) the zero-size gt is invalid: IoU and pixel error still fail,
    # but pytracking's generic branch gives it normalised error -1, a hit at every threshold: 3/5.
    generic = ope_summary(*(c[None] for c in pytracking_curves(PRED, GT, None)))
    assert generic["AUC"] == pytest.approx(AUC)
    assert generic["NormPrecision"] == pytest.approx(3 / 5 * 100)
    # exclude_invalid_frames divides by the 4 valid frames instead of 5.
    excluded = ope_summary(*(c[None] for c in pytracking_curves(PRED, GT, VISIBLE, exclude_invalid_frames=True)))
    assert excluded["AUC"] == pytest.approx((7 * 3 / 4 + 13 * 2 / 4) / 21 * 100)
    assert excluded["Precision"] == pytest.approx(100.0)


def test_pytracking_rejects_invalid_predictions():
    bad = PRED.copy()
    bad[2, 2] = -1
    with pytest.raises(ValueError, match="negative"):
        pytracking_curves(bad, GT, VISIBLE)


def test_trackingnet_devkit_convention_hand_case():
    gt = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    pred = np.array([[3, 3, 3, 3], [5, 0, 10, 10]], float)
    # Frame 0 = gt. Frame 1: x2 = x + w - 1, intersection round(9 - 5 + 1) x 10 = 50, IoU 50/150 = 1/3;
    # centres x + (w + 1) / 2 are 5.5 and 10.5: distance 5, normalised 0.5.
    success, precision, norm = trackingnet_curves(pred, gt)
    assert success.tolist() == [1.0] * 7 + [0.5] * 14  # IoU >= thr: 1/3 passes thresholds 0 .. 0.30
    assert precision.tolist() == [0.5, 0.5] + [1.0] * 19  # thresholds 0, 2.5, 5, ... px
    assert norm.tolist() == [0.5] * 20 + [1.0]  # thresholds 0 .. 0.5; 0.5 <= 0.5
    summary = trackingnet_summary(success[None], precision[None], norm[None])
    # Trapezoids with dx = 0.05 on x in [0, 1]: success 6 + 0.75 + 13 * 0.5 = 13.25 intervals-worth
    assert summary["Success"] == pytest.approx(13.25 * 0.05 * 100)
    assert summary["Precision"] == pytest.approx((0.5 + 0.75 + 18) * 0.05 * 100)
    assert summary["NormPrecision"] == pytest.approx((19 * 0.5 + 0.75) * 0.05 * 100)
