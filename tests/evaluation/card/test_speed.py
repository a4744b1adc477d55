"""The speed child: a fresh process times tracker steps and reports its peak memory."""

from __future__ import annotations

import pytest

from unicorn.evaluation.card.speed import QUICK_SPEED_STEPS, measure_speed, model_label, speed_jobs


def test_speed_child_reports_time_and_peak_memory(shared_data):
    data = shared_data("davis2016_val").parent
    shared_data("mot17_mini")
    jobs = speed_jobs("unicorn-lite", "cpu", 1, data, quick=True, classes=[0])
    assert set(jobs) == {"sot", "vos", "mot"} and jobs["mot"]["source"].startswith("MOT17-04-FRCNN")
    res = measure_speed(jobs["sot"])
    assert res["steps"] == QUICK_SPEED_STEPS and res["threads"] == 1 and res["input_size"] == [320, 512]
    assert res["fps"] > 0 and res["ms_per_frame"] == pytest.approx(1000 / res["fps"])
    assert res["peak_mb"] >= res["after_load_mb"] > 0


def test_model_label():
    assert model_label("unicorn-lite") == "unicorn-lite"
    assert model_label("runs/lite/weights.safetensors") == "weights"
