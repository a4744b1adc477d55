"""tools/model_card.py in --quick mode on real DAVIS / MOT17 frames with the default unicorn-lite.

The model's own numbers are not checked (its weights change); the baselines' are, against values
computed here from the ground truth with the project's metric functions or worked out by hand.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from unicorn.errors import UserError
from unicorn.evaluation import sot

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNICORN_TEST_DATA") or REPO.parent / "shared" / "data")
BLACKSWAN = DATA / "davis2016_val" / "Annotations" / "480p" / "blackswan"
MOT17_05 = DATA / "mot17_mini" / "train" / "MOT17-05-FRCNN"


def load_script():
    spec = importlib.util.spec_from_file_location("model_card_script", REPO / "tools" / "model_card.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def mc():
    return load_script()


@pytest.fixture(scope="module")
def card(mc, tmp_path_factory):
    if not (BLACKSWAN.is_dir() and (MOT17_05 / "img1").is_dir()):
        pytest.skip(f"real test data not found under {DATA} (set UNICORN_TEST_DATA)")
    out = tmp_path_factory.mktemp("model_card")
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    try:
        results = mc.run_card("unicorn-lite", DATA, out, threads=1, skip_speed=True, quick=True)
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)
    return results, out


def gt_masks(n: int) -> list[np.ndarray]:
    return [np.array(Image.open(p)) > 0 for p in sorted(BLACKSWAN.glob("*.png"))[:n]]


def test_held_box_auc_equals_the_hand_computed_value(card, mc):
    results, _ = card
    boxes = []
    for m in gt_masks(mc.QUICK_FRAMES):
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
    gt = np.asarray(boxes, np.float64)
    overlap, _, _, _ = sot.pytracking_errors(np.repeat(gt[:1], len(gt), 0), gt)
    auc = 100 * np.mean([(overlap > t).mean() for t in sot.THRESHOLDS_OVERLAP])
    held = results["sot_davis"]["methods"]["first-frame box held"]
    assert held["AUC"] == pytest.approx(auc, abs=1e-9)
    assert held["per_sequence"]["blackswan"]["AUC"] == pytest.approx(auc, abs=1e-9)
    assert 0 < auc < 100


def test_held_box_scoring_on_a_hand_worked_case(mc):
    # gt moves right by 5 px on the last frame: IoU 1, 1, 50/150 (pytracking's +1 pixel convention)
    gt = np.array([[[0, 0, 10, 10], [0, 0, 10, 10], [5, 0, 10, 10]]], np.float64)
    seq = mc.SotSequence("toy", [Path("a"), Path("b"), Path("c")], gt[:, 0].copy(), gt, [1])
    scores = mc.score_sot(mc.sot_held([seq]), [seq])
    # 7 thresholds (0 .. 0.30) see 3/3 frames, 13 (0.35 .. 0.95) see 2/3, threshold 1.0 sees none
    assert scores["AUC"] == pytest.approx(100 * (7 + 13 * 2 / 3) / 21)
    assert scores["targets"] == 1


def test_held_mask_j_on_frame_1_is_the_direct_iou(card):
    results, _ = card
    m0, m1 = gt_masks(2)
    iou = np.count_nonzero(m0 & m1) / np.count_nonzero(m0 | m1)
    held = results["vos_davis"]["methods"]["first-frame mask held"]["per_sequence"]["blackswan"]
    assert held["J_frames"][0] == pytest.approx(100 * iou, abs=1e-9)
    assert len(held["J_frames"]) == 2  # 4 frames, first and last not scored


def test_mot17_sot_targets_follow_the_documented_rule(card):
    results, _ = card
    rows = np.loadtxt(MOT17_05 / "gt" / "gt.txt", delimiter=",")
    first = rows[(rows[:, 0] == 1) & (rows[:, 7] == 1) & (rows[:, 6] == 1) & (rows[:, 8] >= 0.5)
                 & (rows[:, 4] * rows[:, 5] >= 32 * 32)]
    section = results["sot_mot17"]
    assert section["targets"] == len(first) > 0
    assert "visibility >= 0.5" in section["protocol"]
    for method in section["methods"].values():
        assert method["targets"] == len(first)
        assert 0 <= method["AUC"] <= 100


def test_mot_section_and_the_model_rows(card):
    results, _ = card
    mot = results["mot17"]
    assert mot["class_names"] == ["person"] and mot["detector"]
    scores = mot["methods"]["unicorn-lite"]
    assert scores["sequences"] == 1 and scores["frames"] == 4
    assert {"HOTA", "DetA", "AssA", "MOTA", "IDF1"} <= set(scores)
    assert results["setup"]["input_size"] == [320, 512] and results["setup"]["quick"]


def test_botsort_peer_row_or_its_note(card, mc):
    results, out = card
    text = (out / "results.md").read_text()
    version = mc.botsort_version()
    if version is None:
        assert "BoT-SORT baseline not run" in text
        return
    name = mc.botsort_label(version)
    mot = results["mot17"]
    scores, info = mot["methods"][name], mot["botsort"]
    assert scores["frames"] == 4 and {"HOTA", "IDF1", "MOTA", "IDSW", "FP", "FN"} <= set(scores)
    assert info["score_floor"] == pytest.approx(0.1) and info["detections"] > 0 and info["tracker_fps"] > 0
    assert info["settings"]["track_activation_threshold"] == 0.7  # the library's defaults, untouched
    assert f"| {name} |" in text and "score floor > 0.10" in text
    tuned = info["tuned"]  # a second row with ByteTrackConfig.nanodet()'s thresholds: 0.45 and 0.45 + 0.1
    assert tuned["settings"] == {"high_conf_det_threshold": 0.45, "track_activation_threshold": 0.55}
    assert tuned["label"] in mot["methods"] and f"| {tuned['label']} |" in text


def test_botsort_on_perfect_detections(mc):
    """Ground-truth pedestrian boxes as detections: every box comes back, except the first frame of each
    track that starts after frame 1 (BoT-SORT confirms it on its second matched frame)."""
    if not (MOT17_05 / "img1").is_dir():
        pytest.skip(f"real test data not found under {DATA}")
    if mc.botsort_version() is None:
        pytest.skip("roboflow trackers (BoT-SORT) is not installed")
    clip = mc.load_mot17(DATA, ("MOT17-05-FRCNN",), max_frames=3)[0]
    g = clip.gt
    ped = (g.classes == 1) & (g.flags == 1)
    dets = []
    for t in (1, 2, 3):
        b = g.boxes_xywh[ped & (g.frames == t)].astype(np.float32)
        dets.append((np.c_[b[:, :2], b[:, :2] + b[:, 2:]], np.full(len(b), 0.9, np.float32), np.zeros(len(b), int)))
    tracks, info = mc.mot_botsort([clip], {clip.name: dets})
    pred = tracks[clip.name]
    assert info["frames_timed"] == 3 and set(pred.frames.tolist()) <= {1, 2, 3} and pred.ids.min() >= 1
    late = sum(g.frames[ped & (g.ids == i)].min() > 1 for i in np.unique(g.ids[ped]))
    scores = mc.score_mot(tracks, [clip])
    assert (scores["FP"], scores["IDSW"], scores["FN"]) == (0, 0, late)
    assert scores["MOTA"] == pytest.approx(100 * (1 - late / ped.sum()))
    gt_boxes = {(int(f), tuple(b)) for f, b in zip(g.frames[ped], g.boxes_xywh[ped].astype(np.float32).tolist())}
    assert all((int(f), tuple(b)) in gt_boxes for f, b in zip(pred.frames, pred.boxes.astype(np.float32).tolist()))


def test_botsort_row_is_skipped_with_a_note_without_trackers(mc, monkeypatch):
    monkeypatch.setitem(sys.modules, "trackers", None)  # import fails as if not installed
    assert mc.botsort_version() is None
    results = {"notes": {}, "mot17": {"methods": {}}}
    mc.mot_peer_baseline(results, [], mc.RecordedDetections())
    assert "pip install trackers==2.6.1" in results["notes"]["botsort"] and not results["mot17"]["methods"]


def test_output_files_and_table_list_every_method(card):
    results, out = card
    for name in ("results.json", "results.md", "sot_davis_success.png", "sot_mot17_success.png", "vos_davis_jf.png"):
        assert (out / name).is_file(), name
    assert json.loads((out / "results.json").read_text())["setup"]["model"] == "unicorn-lite"
    text = (out / "results.md").read_text()
    methods = ["unicorn-lite", "first-frame box held", "first-frame mask held", "optical flow (Farneback)"]
    for method in methods:
        assert f"| {method} |" in text
    if results["setup"].get("opencv_contrib"):
        assert "| OpenCV CSRT |" in text and "| OpenCV KCF |" in text
    else:
        assert "OpenCV CSRT/KCF not run" in text and "opencv-contrib-python-headless" in text
    for heading in ("SOT on DAVIS-2016", "SOT on MOT17-mini", "VOS on DAVIS-2016", "MOT on MOT17-mini"):
        assert heading in text


def test_speed_child_reports_time_and_peak_memory(mc):
    if not (BLACKSWAN.is_dir() and (MOT17_05 / "img1").is_dir()):
        pytest.skip(f"real test data not found under {DATA}")
    job = mc.speed_jobs("unicorn-lite", "cpu", 1, DATA, quick=True, classes=[0])["sot"]
    res = mc.measure_speed(job)
    assert res["steps"] == mc.QUICK_SPEED_STEPS and res["threads"] == 1 and res["input_size"] == [320, 512]
    assert res["fps"] > 0 and res["peak_mb"] >= res["after_load_mb"] > 0


def test_missing_data_is_a_user_error(mc, tmp_path):
    with pytest.raises(UserError, match="not found"):
        mc.run_card("unicorn-lite", tmp_path / "nowhere", tmp_path / "out", skip_speed=True)
    if BLACKSWAN.is_dir():
        with pytest.raises(UserError, match="no-such-sequence"):
            mc.load_davis(DATA, ("no-such-sequence",))
