"""tools/model_card.py in --quick mode on real DAVIS / MOT17 frames with the default unicorn-lite.

The model's own numbers are not checked (its weights change); the baselines' are, against values
computed here from the ground truth with the project's metric functions. The card's parts have their
own tests under tests/evaluation/card.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from unicorn.evaluation import sot
from unicorn.evaluation.baselines import opencv_trackers_missing
from unicorn.evaluation.card.measure import QUICK_FRAMES
from unicorn.evaluation.card.peers import botsort_label, botsort_version

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNICORN_TEST_DATA") or REPO.parent / "shared" / "data")
BLACKSWAN = DATA / "davis2016_val" / "Annotations" / "480p" / "blackswan"
MOT17_05 = DATA / "mot17_mini" / "train" / "MOT17-05-FRCNN"


def load_tool():
    spec = importlib.util.spec_from_file_location("model_card_tool", REPO / "tools" / "model_card.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    if not (BLACKSWAN.is_dir() and (MOT17_05 / "img1").is_dir()):
        pytest.skip(f"real test data not found under {DATA} (set UNICORN_TEST_DATA)")
    out = tmp_path_factory.mktemp("model_card")
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    try:
        code = load_tool().main(["--data", str(DATA), "--out", str(out), "--threads", "1", "--skip-speed",
                                 "--quick"])
    finally:
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)
    assert code == 0
    return json.loads((out / "results.json").read_text()), out


def gt_masks(n: int) -> list[np.ndarray]:
    return [np.array(Image.open(p)) > 0 for p in sorted(BLACKSWAN.glob("*.png"))[:n]]


def test_held_box_auc_equals_the_hand_computed_value(card):
    results, _ = card
    boxes = []
    for m in gt_masks(QUICK_FRAMES):
        ys, xs = np.nonzero(m)
        boxes.append([xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1])
    gt = np.asarray(boxes, np.float64)
    overlap, _, _, _ = sot.pytracking_errors(np.repeat(gt[:1], len(gt), 0), gt)
    auc = 100 * np.mean([(overlap > t).mean() for t in sot.THRESHOLDS_OVERLAP])
    held = results["sot_davis"]["methods"]["first-frame box held"]
    assert held["AUC"] == pytest.approx(auc, abs=1e-9)
    assert held["per_sequence"]["blackswan"]["AUC"] == pytest.approx(auc, abs=1e-9)
    assert 0 < auc < 100


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


def test_botsort_peer_rows_or_their_note(card):
    results, out = card
    text = (out / "results.md").read_text()
    version = botsort_version()
    if version is None:
        assert "BoT-SORT baseline not run" in text
        return
    name = botsort_label(version)
    mot = results["mot17"]
    scores, info = mot["methods"][name], mot["botsort"]
    assert scores["frames"] == 4 and {"HOTA", "IDF1", "MOTA", "IDSW", "FP", "FN"} <= set(scores)
    assert info["score_floor"] == pytest.approx(0.1) and info["detections"] > 0 and info["tracker_fps"] > 0
    assert info["settings"]["track_activation_threshold"] == 0.7  # the library's defaults, untouched
    assert f"| {name} |" in text and "score floor > 0.10" in text
    tuned = info["tuned"]  # a second row with ByteTrackConfig.nanodet()'s thresholds: 0.45 and 0.45 + 0.1
    assert tuned["settings"] == {"high_conf_det_threshold": 0.45, "track_activation_threshold": 0.55}
    assert tuned["label"] in mot["methods"] and f"| {tuned['label']} |" in text


def test_output_files_and_table_list_every_method(card):
    results, out = card
    for name in ("results.json", "results.md", "sot_davis_success.png", "sot_mot17_success.png", "vos_davis_jf.png"):
        assert (out / name).is_file(), name
    assert results["setup"]["model"] == "unicorn-lite"
    text = (out / "results.md").read_text()
    methods = ["unicorn-lite", "first-frame box held", "first-frame mask held", "optical flow (Farneback)"]
    for method in methods:
        assert f"| {method} |" in text
    if opencv_trackers_missing() is None:
        assert results["setup"]["opencv_contrib"] == cv2.__version__
        assert "| OpenCV CSRT |" in text and "| OpenCV KCF |" in text
    else:
        assert "OpenCV CSRT/KCF not run" in text and "opencv-contrib-python-headless" in text
    for heading in ("SOT on DAVIS-2016", "SOT on MOT17-mini", "VOS on DAVIS-2016", "MOT on MOT17-mini"):
        assert heading in text


def test_missing_data_is_a_user_error(tmp_path, capsys):
    assert load_tool().main(["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "data folder" in capsys.readouterr().err and not (tmp_path / "out").exists()
