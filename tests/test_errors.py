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


def test_prompt_boxes_that_are_not_numbers_or_not_finite(model):
    tracker = unicorn.Tracker(model, "sot", input_size=SIZE)
    with pytest.raises(UserError, match=r"boxes must be numbers .*'a,b,c,d'"):
        tracker.init(frame(), boxes=["a,b,c,d"])
    for bad in ((np.nan, 10, 20, 20), (10, 10, np.inf, 20)):
        with pytest.raises(UserError, match="not a finite number"):
            tracker.init(frame(), boxes=bad)
    with pytest.raises(UserError, match="ids must be whole numbers >= 1"):
        tracker.init(frame(), boxes=(10, 10, 20, 20), ids=["x"])
    with pytest.raises(UserError, match="repeat an id"):
        tracker.init(frame(), boxes=[(10, 10, 20, 20), (40, 40, 20, 20)], ids=[3, 3])


def test_prompt_masks_with_fractional_or_negative_ids(model):
    tracker = unicorn.Tracker(model, "vos", input_size=SIZE)
    half = np.full((120, 160), 0.5, np.float32)
    with pytest.raises(UserError, match="holds 0.5; ids are whole numbers >= 0"):
        tracker.init(frame(), masks=half)
    with pytest.raises(UserError, match="holds -1; ids are whole numbers >= 0"):
        tracker.init(frame(), masks=np.full((120, 160), -1, np.int64))
    with pytest.raises(UserError, match="masks hold 0 or 1 per pixel; found 0.5"):
        tracker.init(frame(), masks=half[None])
    ids = np.zeros((120, 160), np.float32)
    ids[10:40, 10:40] = 2.0  # whole-number floats are ids
    assert tracker.init(frame(), masks=ids).track_ids.tolist() == [2]


@pytest.mark.parametrize("task", ["sot", "mot"])
def test_step_with_a_frame_of_another_size_is_refused(model, task):
    tracker = unicorn.Tracker(model, task, input_size=SIZE, **({"detector": "model"} if task == "mot" else {}))
    prompts = {"boxes": (10, 10, 30, 30)} if task == "sot" else {}
    tracker.init(frame(), **prompts)
    with pytest.raises(UserError, match="frame 1 is 200x100 but the video started at 160x120"):
        tracker.step(frame(100, 200))
    assert tracker.step(frame()).frame_index == 1  # the refused frame changed nothing
    tracker.init(frame(100, 200), **prompts)  # a new video may have another size


def test_classes_out_of_range_for_the_detector(model):
    with pytest.raises(UserError, match=r"classes=\(999,\) is not allowed: .* < 80"):
        unicorn.Tracker(model, "mot", input_size=SIZE, detector="model", classes=(999,))
    from unicorn.detectors.nanodet import NanoDetDetector

    with pytest.raises(UserError, match="< 80"):
        NanoDetDetector(classes=(999,))


def test_reasons_are_never_empty_or_a_bare_code():
    from unicorn.errors import reason

    assert reason(OSError(101)) == "Network is unreachable"
    assert reason(KeyboardInterrupt()) == "KeyboardInterrupt"
    assert reason(FileNotFoundError(2, "No such file or directory", "x.txt")) == "No such file or directory: x.txt"
    assert reason(ValueError("first line\nsecond line")) == "first line"


def test_own_detector_with_nan_boxes_and_davis_ids_out_of_range(model, tmp_path):
    def broken(frame, index):
        return np.array([[np.nan, 0, 10, 10]]), np.array([0.9]), np.array([0])

    tracker = unicorn.Tracker(model, "mot", input_size=SIZE, detector=broken)
    with pytest.raises(UserError, match="not a finite number"):
        tracker.init(frame())
    from unicorn.evaluation.writers import DavisPaletteWriter

    with pytest.raises(UserError, match="DAVIS PNGs hold ids 0..255"):
        DavisPaletteWriter(tmp_path / "davis").write_index_mask(0, np.full((4, 4), 300))
