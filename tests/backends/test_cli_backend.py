"""``unicorn track --backend``: the ONNX Runtime backend from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from unicorn.cli import main

SAMPLE = str(Path(__file__).resolve().parents[2] / "unicorn" / "assets" / "sample.mp4")


def test_backend_is_a_choice_on_the_command_line(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["track", SAMPLE, "--task", "sot", "--box", "42,86,36,68", "--backend", "tensorrt"])
    assert stop.value.code == 2 and "invalid choice: 'tensorrt'" in capsys.readouterr().err


def test_label_propagation_on_onnxruntime_is_one_line_saying_what_to_use(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    out = tmp_path / "out"
    code = main(["track", SAMPLE, "--task", "sot", "--box", "42,86,36,68", "--backend", "onnxruntime",
                 "--max-frames", "2", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and err.startswith("error: the onnxruntime backend runs the detection head only")
    assert "backend 'torch'" in err and not out.exists()  # refused before the result folder was made
