"""BDD100K box / mask tracking metrics against scalabel's asserted values and TrackEval references."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unicorn.data.datasets.bdd100k import PolygonRasterizer, load_scalabel_json, read_scalabel
from unicorn.evaluation.bdd import scalabel_metrics, trackeval_metrics

COUNTS = {"FP": "FP", "FN": "FN", "IDSW": "IDSw", "MT": "MT", "PT": "PT", "ML": "ML", "Frag": "FM"}
SEG_REF = {"HOTA": "HOTA", "DetA": "DetA", "AssA": "AssA", "MOTA": "MOTSA(=MOTA on masks)",
           "sMOTA": "sMOTSA(=sMOTA on masks)", "MOTP": "MOTSP(=MOTP on masks)", "IDF1": "IDF1",
           "TP": "TP", "FN": "FN", "FP": "FP", "IDSW": "IDSW"}


@pytest.fixture(scope="module")
def bdd(shared_data):
    return shared_data("scalabel_bdd100k")


@pytest.fixture(scope="module")
def boxes(bdd):
    return (read_scalabel(bdd / "box_track" / "track_sample_anns.json", "box"),
            read_scalabel(bdd / "box_track" / "track_predictions.json", "box"))


@pytest.fixture(scope="module")
def masks(bdd):
    return (read_scalabel(bdd / "seg_track" / "seg_track_sample.json", "mask"),
            read_scalabel(bdd / "seg_track" / "seg_track_preds.json", "mask"))


def test_box_track_scalabel_convention(bdd, boxes):
    result = scalabel_metrics(*boxes, kind="box")
    assert result["MOTA"] == pytest.approx(64.2007, abs=1e-3)
    assert result["mMOTA"] == pytest.approx(24.3242, abs=1e-3)
    assert result["mIDF1"] == pytest.approx(32.2478, abs=1e-3)
    assert result["mMOTP"] == pytest.approx(50.0129, abs=1e-3)
    assert result["IDF1"] == pytest.approx(71.0107, abs=1e-3)
    assert result["MOTP"] == pytest.approx(87.1614, abs=1e-3)
    table = json.loads((bdd / "expected.json").read_text())["computed_here"]["box_track"]["per_class_table"]
    for cls, ref in table.items():
        ours = result["per_class"][cls]
        for key in ("MOTA", "MOTP", "IDF1"):
            if ref[key] is None:
                assert np.isnan(ours[key]), (cls, key)
            else:
                assert ours[key] == pytest.approx(ref[key], abs=1e-6), (cls, key)
        assert {k: ours[k] for k in COUNTS} == {k: ref[v] for k, v in COUNTS.items()}, cls


def test_box_track_trackeval_mhota(bdd, boxes):
    result = trackeval_metrics(*boxes, kind="box")
    assert result["mHOTA"] == pytest.approx(0.2595, abs=1e-4)
    ref = json.loads((bdd / "trackeval_box_track_computed.json").read_text())
    for key, ours in (("cls_comb_cls_av", "cls_comb_cls_av"), ("cls_comb_det_av", "cls_comb_det_av"),
                      ("car", "car"), ("pedestrian", "pedestrian"), ("HUMAN", "human"), ("BIKE", "bike"),
                      ("train", "train")):
        for metric in ("HOTA", "MOTA", "IDF1", "MOTP"):
            assert result["per_class"][ours][metric] == pytest.approx(ref[key][metric], abs=1e-9), (key, metric)


def test_seg_track_scalabel_convention(masks):
    result = scalabel_metrics(*masks, kind="mask")
    assert result["MOTA"] == pytest.approx(64.3061, abs=1e-3)
    assert result["mMOTA"] == pytest.approx(-36.8683, abs=1e-3)
    assert result["mIDF1"] == pytest.approx(26.4585, abs=1e-3)
    assert result["mMOTP"] == pytest.approx(45.7919, abs=1e-3)
    overall = result["per_class"]["OVERALL"]
    assert (overall["FP"], overall["FN"], overall["IDSW"], overall["MT"], overall["Frag"]) == (201, 399, 25, 56, 42)


def test_seg_track_trackeval_per_class_hota_and_smotsa(bdd, masks):
    # The reference drops crowd labels without applying ignore regions.
    result = trackeval_metrics(*masks, kind="mask", use_ignore_regions=False)
    ref = json.loads((bdd / "trackeval_seg_track_computed.json").read_text())
    for cls in ("car", "pedestrian", "rider", "truck", "motorcycle"):
        for ours, theirs in SEG_REF.items():
            assert result["per_class"][cls][ours] == pytest.approx(ref[cls][theirs], abs=1e-9), (cls, ours)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' decode on numpy 2
def test_polygon_rasterizer_reproduces_scalabel_masks(bdd):
    from pycocotools import mask as mask_utils

    frame = load_scalabel_json(bdd / "seg_track" / "seg_track_sample.json")[0]
    raster = PolygonRasterizer(720, 1280)
    drawn = np.stack([raster.to_mask(label["poly2d"]) > 0 for label in frame["labels"]])
    stored = np.stack([mask_utils.decode(label["rle"]) > 0 for label in frame["labels"]])
    # The stored RLEs are the same polygons with overlaps removed: each is inside its polygon,
    # and together they cover exactly the union of the polygons.
    assert not (stored & ~drawn).any()
    np.testing.assert_array_equal(stored.any(0), drawn.any(0))
    assert (drawn.sum((1, 2)) > stored.sum((1, 2))).any()
