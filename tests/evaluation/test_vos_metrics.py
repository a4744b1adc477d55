"""DAVIS J and F against davis2017-evaluation's numbers on real masks, and hand cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unicorn.data.datasets import open_benchmark
from unicorn.data.datasets.davis import read_label_png
from unicorn.evaluation.vos import (
    boundary_f_measure,
    davis2016_merged_sequence,
    davis_sequence,
    disk,
    region_similarity,
    statistics,
)

KEYS = ("J_mean", "J_recall", "J_decay", "F_mean", "F_recall", "F_decay")


def test_osvos_against_davis2016_gt_per_sequence(shared_data):
    reference = json.loads((shared_data("davis2017_osvos_results") / "osvos_vs_davis2016gt_computed.json").read_text())
    results = shared_data("davis2017_osvos_results") / "results" / "semi-supervised" / "osvos"
    reader = open_benchmark("davis2016", shared_data("davis2016_val"))
    j_means, f_means = [], []
    for name, ref in reference["per_sequence"].items():
        seq = reader.load(name)
        gt = [(read_label_png(p) == 255).astype(np.uint8) for p in seq.mask_paths]  # 255 -> object 1
        pred = [read_label_png(results / name / p.name) for p in seq.mask_paths]
        scores = davis_sequence(gt, pred, [1])[1]
        assert len(scores["J"]) == ref["n_frames_scored"]
        for key in KEYS:
            assert scores[key] == pytest.approx(ref[key], abs=1e-4), (name, key)
        j_means.append(scores["J_mean"])
        f_means.append(scores["F_mean"])
        if name in ("blackswan", "libby"):  # one object: the merged DAVIS-2016 protocol gives the same numbers
            merged = davis2016_merged_sequence(gt, pred)
            assert [merged[k] for k in KEYS] == pytest.approx([scores[k] for k in KEYS], abs=1e-12)
    assert np.mean(j_means) == pytest.approx(reference["mean_13"]["J_mean"], abs=1e-4)
    assert (np.mean(j_means) + np.mean(f_means)) / 2 == pytest.approx(reference["mean_13"]["J&F_mean"], abs=1e-4)


def test_disk_matches_the_skimage_definition():
    assert disk(1).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert disk(8).shape == (17, 17) and disk(8).sum() == 197  # lattice points with x^2 + y^2 <= 64


def test_boundary_tolerance_is_8_pixels_at_480p():
    gt = np.zeros((480, 854), bool)
    gt[100:300, 200:400] = True
    for shift, expect_perfect in ((8, True), (9, False)):
        pred = np.roll(gt, shift, axis=1)
        f = boundary_f_measure(pred, gt)
        assert (f == 1.0) == expect_perfect, (shift, f)


def test_degenerate_cases():
    empty, full = np.zeros((20, 30), bool), np.zeros((20, 30), bool)
    full[5:15, 5:15] = True
    assert region_similarity(empty, empty) == 1.0
    assert boundary_f_measure(empty, empty) == 1.0
    assert boundary_f_measure(empty, full) == 0.0  # nothing predicted
    assert boundary_f_measure(full, empty) == 0.0  # object absent
    assert region_similarity(full, full) == 1.0
    half = full.copy()
    half[:, 10:] = False
    assert region_similarity(half, full) == pytest.approx(0.5)


def test_statistics_mean_recall_decay():
    # bins of 10 values: ids = round(linspace(1, 10, 5)) - 1 = [0, 2, 5, 7, 9] -> v[0:3], ..., v[7:10]
    values = np.arange(10) / 10
    mean, recall, decay = statistics(values)
    assert mean == pytest.approx(0.45)
    assert recall == pytest.approx(0.4)  # 0.6, 0.7, 0.8, 0.9
    assert decay == pytest.approx(0.1 - 0.8)
