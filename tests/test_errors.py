"""Every error a user can cause gives one clear line (UserError, CLI exit code 2) and loses no data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import unicorn
from unicorn.cli import main
from unicorn.errors import UserError
from unicorn.models.build import build_model

SIZE = (64, 96)


@pytest.fixture(scope="module")
def model():
    return build_model("unicorn-lite").eval()


def frame(h: int = 120, w: int = 160) -> np.ndarray:
    return np.full((h, w, 3), 128, np.uint8)


def test_box_outside_frame_or_zero_size(model):
    tracker = unicorn.Tracker(model, "sot", input_size=SIZE)
    with pytest.raises(UserError, match="outside the 160x120 frame"):
        tracker.init(frame(), boxes=(500, 10, 20, 20))
    with pytest.raises(UserError, match="zero or negative size"):
        tracker.init(frame(), boxes=(10, 10, 0, 20))


def test_empty_or_wrong_size_mask(model):
    tracker = unicorn.Tracker(model, "vos", input_size=SIZE)
    with pytest.raises(UserError, match="empty"):
        tracker.init(frame(), masks=np.zeros((1, 120, 160), bool))
    with pytest.raises(UserError, match="first frame's size"):
        tracker.init(frame(), masks=np.ones((60, 80), np.uint8))


def test_unknown_task_and_setting(model):
    with pytest.raises(UserError, match="unknown task 'pose'"):
        unicorn.Tracker(model, "pose")
    with pytest.raises(UserError, match="unknown sot setting"):
        unicorn.Tracker(model, "sot", track_thresh=0.5)


def test_checkpoint_of_the_wrong_kind(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, path)
    with pytest.raises(UserError, match="does not look like an upstream Unicorn checkpoint"):
        unicorn.load(str(path), device="cpu")
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(UserError, match="not a PyTorch checkpoint"):
        unicorn.load(str(text), device="cpu")


def test_cli_user_errors_exit_2_and_keep_existing_results(tmp_path, capsys):
    assert main(["track", str(tmp_path / "missing.mp4"), "--task", "mot", "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    fake = tmp_path / "video.mp4"
    fake.write_text("this is not a video")
    assert main(["track", str(fake), "--task", "mot", "--out", str(tmp_path / "o")]) == 2
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert main(["track", str(empty), "--task", "mot", "--out", str(tmp_path / "o")]) == 2
    out = tmp_path / "kept"
    out.mkdir()
    (out / "results_mot.txt").write_text("precious\n")
    assert main(["track", str(fake), "--task", "mot", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "results_mot.txt").read_text() == "precious\n"
    assert main(["track", str(fake), "--task", "sot", "--out", str(tmp_path / "p")]) == 2
    assert "--box" in capsys.readouterr().err
