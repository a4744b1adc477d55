"""MOTS metrics on hand-made masks: the class-10 ignore rule, sMOTSA and the overlap check."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from unicorn.data.datasets.mots import read_mots_txt
from unicorn.errors import UserError
from unicorn.evaluation.mots import evaluate_mots

H, W = 40, 60


def _rle(y0, y1, x0, x1):
    mask = np.zeros((H, W), np.uint8)
    mask[y0:y1, x0:x1] = 1
    rle = mask_utils.encode(np.asfortranarray(mask))
    return rle["counts"].decode()


def _write(path, rows):
    path.write_text("".join(f"{f} {i} {c} {H} {W} {r}\n" for f, i, c, r in rows))
    return read_mots_txt(path)


def test_ignore_region_removes_only_unmatched_masks_inside_it(tmp_path):
    gt = _write(tmp_path / "gt.txt", [
        (1, 2001, 2, _rle(0, 10, 0, 10)),       # pedestrian, 100 px
        (1, 10000, 10, _rle(20, 40, 40, 60)),   # ignore region
    ])
    tracker = _write(tmp_path / "tr.txt", [
        (1, 2001, 2, _rle(0, 10, 0, 8)),        # IoU 80/100 = 0.8 with the pedestrian
        (1, 2002, 2, _rle(25, 35, 45, 55)),     # unmatched, fully inside the ignore region: removed
        (1, 2003, 2, _rle(20, 30, 10, 20)),     # unmatched, outside: a false positive
    ])
    res = evaluate_mots({"s": (gt, tracker, 1)}).combined["pedestrian"]
    # MOTSA = (TP - FP - IDSW) / GT = (1 - 1 - 0) / 1; sMOTSA = (0.8 - 1 - 0) / 1; MOTSP = 0.8
    assert (res["TP"], res["FP"], res["FN"]) == (1, 1, 0)
    assert res["MOTSA"] == pytest.approx(0.0)
    assert res["sMOTSA"] == pytest.approx(-0.2)
    assert res["MOTSP"] == pytest.approx(0.8)
    # IDF1 = 2 IDTP / (2 IDTP + IDFP + IDFN) = 2 / (2 + 1 + 0)
    assert res["IDF1"] == pytest.approx(2 / 3)
    no_rule = evaluate_mots({"s": (gt, tracker, 1)}, use_ignore_regions=False).combined["pedestrian"]
    assert (no_rule["FP"], no_rule["sMOTSA"]) == (2, pytest.approx(0.8 - 2))


def test_kitti_classes_are_scored_separately(tmp_path):
    gt = _write(tmp_path / "gt.txt", [(1, 1001, 1, _rle(0, 10, 0, 10)), (1, 2001, 2, _rle(20, 30, 0, 10))])
    tracker = _write(tmp_path / "tr.txt", [(1, 1005, 1, _rle(0, 10, 0, 10)), (1, 1006, 1, _rle(20, 30, 0, 10))])
    res = evaluate_mots({"s": (gt, tracker, 1)}, {"car": 1, "pedestrian": 2}).combined
    assert (res["car"]["TP"], res["car"]["FP"]) == (1, 1)  # the "car" on the pedestrian is a car false positive
    assert (res["pedestrian"]["TP"], res["pedestrian"]["FN"]) == (0, 1)


def test_overlapping_tracker_masks_are_an_error(tmp_path):
    gt = _write(tmp_path / "gt.txt", [(1, 2001, 2, _rle(0, 10, 0, 10))])
    tracker = _write(tmp_path / "tr.txt", [(1, 2001, 2, _rle(0, 10, 0, 10)), (1, 2002, 2, _rle(5, 15, 5, 15))])
    with pytest.raises(UserError, match=r"tr\.txt:2: mask of id 2002 overlaps"):
        evaluate_mots({"s": (gt, tracker, 1)})
