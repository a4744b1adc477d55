"""``unicorn track --backend``: the ONNX Runtime backend from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unicorn.cli import main

SAMPLE = str(Path(__file__).resolve().parents[2] / "unicorn" / "assets" / "sample.mp4")


def test_backend_is_a_choice_on_the_command_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["track", SAMPLE, "--task", "sot", "--box", "42,86,36,68", "--backend", "tensorrt"])
    assert stop.value.code == 2 and "invalid choice: 'tensorrt'" in capsys.readouterr().err


def test_the_lite_trackers_give_the_same_boxes_on_every_backend(tmp_path):
    """unicorn-lite's SOT (label propagation in a search region + the detector snap) from the command line
    with --backend torch, auto (the memory network on ONNX Runtime) and onnxruntime (every graph exported):
    the sample clip's boxes agree within 0.5 px."""
    pytest.importorskip("onnxruntime")
    boxes = {}
    for backend in ("torch", "auto", "onnxruntime"):
        out = tmp_path / backend
        code = main(["track", SAMPLE, "--task", "sot", "--box", "42,86,36,68", "--backend", backend,
                     "--max-frames", "24", "--formats", "pytracking", "--out", str(out), "--threads", "2"])
        assert code == 0
        boxes[backend] = np.loadtxt(out / "results_pytracking.txt", ndmin=2)
    assert boxes["torch"].shape == (24, 4)
    for backend in ("auto", "onnxruntime"):
        assert np.abs(boxes[backend] - boxes["torch"]).max() <= 0.5, backend
