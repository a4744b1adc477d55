"""``unicorn track`` and ``unicorn train`` refuse bad input with one line and exit code 2 before any work:
no model is loaded, no folder is created, nothing the user had on disk changes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import unicorn
from unicorn.cli import main

from .engine.conftest import SMALL, TINY

SAMPLE = str(unicorn.__path__[0]) + "/assets/sample.mp4"  # 320x240, 48 frames


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if a model is loaded: these errors must come before."""
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the input was checked")
    monkeypatch.setattr(unicorn, "load", refuse)


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("words, expected", [
    (["--task", "mot", "--set", "conf_thresh=abc"], "conf_thresh='abc' is not allowed: it must be a number in [0, 1]"),
    (["--task", "mot", "--set", "track_thresh=-1"], "track_thresh=-1.0 is not allowed"),
    (["--task", "mot", "--set", "conf_thresh=5"], "conf_thresh=5.0 is not allowed"),
    (["--task", "mot", "--set", "track_buffer=-5"], "track_buffer=-5 is not allowed"),
    (["--task", "mot", "--set", "track_buffer=lots"], "track_buffer='lots' is not allowed"),
    (["--task", "mot", "--set", "nms_thresh=.nan"], "nms_thresh=nan is not allowed"),  # YAML's NaN
    (["--task", "mot", "--set", "nms_thresh=nan"], "nms_thresh='nan' is not allowed"),
    (["--task", "sot", "--box", "10,10,20,20", "--set", "conf_thresh=abc"], "conf_thresh='abc' is not allowed"),
    (["--task", "sot", "--box", "-50,-50,20,20"], "lies outside the 320x240 frame"),
    (["--task", "sot", "--box", "300,10,20,20", "--box", "900,900,5,5"], "lies outside the 320x240 frame"),
    (["--weights", "nowhere.safetensors"], "weights file nowhere.safetensors does not exist"),
    (["--detections", "nowhere.txt"], "detections file nowhere.txt does not exist"),
])
def test_bad_settings_and_prompts_refused_before_the_model_and_the_folder(tmp_path, capsys, no_model, words,
                                                                          expected):
    out = tmp_path / "out"
    assert main(["track", SAMPLE, "--out", str(out), *words]) == 2
    assert expected in _one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("words, expected", [
    (["--size", "0x0"], "positive multiples of 32"),
    (["--size", "-32x64"], "positive multiples of 32"),
    (["--max-frames", "0"], "expected a whole number >= 1"),
    (["--task", "sot", "--box", "1,2,3"], "a box is x,y,w,h"),
    (["--task", "sot", "--box", "1,2,nan,4"], "finite numbers"),
])
def test_argument_errors_exit_2(tmp_path, capsys, words, expected):
    with pytest.raises(SystemExit) as stop:
        main(["track", SAMPLE, "--out", str(tmp_path / "out"), *words])
    assert stop.value.code == 2 and expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_out_is_a_file_or_cannot_be_created(tmp_path, capsys, no_model):
    precious = tmp_path / "notes.txt"
    precious.write_text("precious\n")
    assert main(["track", SAMPLE, "--out", str(precious)]) == 2
    assert "is a file, not a folder" in _one_line_error(capsys)
    assert main(["track", SAMPLE, "--out", str(precious / "sub")]) == 2
    assert "notes.txt is a file" in _one_line_error(capsys)
    assert precious.read_text() == "precious\n"


def test_mask_with_more_ids_than_davis_holds(tmp_path, capsys, no_model):
    ids = np.zeros((240, 320), np.uint16)
    for k in range(300):  # 300 objects, one small square each
        y, x = divmod(k, 20)
        ids[y * 12:y * 12 + 6, x * 16:x * 16 + 6] = k + 1
    Image.fromarray(ids).save(tmp_path / "mask.png")
    out = tmp_path / "out"
    assert main(["track", SAMPLE, "--task", "vos", "--mask", str(tmp_path / "mask.png"), "--out", str(out)]) == 2
    assert "object ids up to 300, but DAVIS PNGs hold ids 1..255" in _one_line_error(capsys)
    assert not out.exists()


def test_class_id_out_of_range_refused_before_the_folder(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["track", SAMPLE, "--classes", "999", "--size", "128x160", "--out", str(out)]) == 2
    assert "class id 999 does not exist: this detector has 80 classes" in _one_line_error(capsys)
    assert not out.exists()


def test_training_refuses_unknown_dataset_and_short_schedule_before_its_folder(tmp_path, capsys):
    run = tmp_path / "runs"
    base = [f"output_dir={run}", "name=x", *SMALL[:2]]
    assert main(["train", str(TINY), *base, "datasets=[{name: lasott, task: sot}]"]) == 2
    assert "unknown training set 'lasott'" in _one_line_error(capsys)
    assert main(["train", str(TINY), *base, *SMALL[2:], "epochs=2", "warmup_epochs=3", "no_aug_epochs=1"]) == 2
    assert "must be less than epochs (2)" in _one_line_error(capsys)
    assert not run.exists()


def test_training_with_a_missing_dataset_folder_leaves_no_run_folder(tmp_path, capsys):
    run = tmp_path / "runs"
    words = [f"output_dir={run}", "name=x", *SMALL[:3], f"datasets=[{{name: got10k, task: sot, root: {tmp_path}/no"
                                                          "}]", "device=cpu"]
    assert main(["train", str(TINY), *words]) == 2
    _one_line_error(capsys)
    assert not run.exists()


def test_convert_checkpoint_refuses_an_unwritable_output_before_reading(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["convert-checkpoint", str(tmp_path / "missing.pth"), str(tmp_path / "file" / "o.safetensors")]) == 2
    assert "is not a folder this user can write to" in _one_line_error(capsys)
    assert main(["convert-checkpoint", str(tmp_path / "missing.pth"), str(tmp_path / "o.safetensors")]) == 2
    assert "does not exist" in _one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("words, expected", [
    (["--correct", "48:40,80,36,68"], "correction at frame 48, but the run has frames 0 to 47"),
    (["--correct", "10:2:40,80,36,68"], "target ids [2], which are not tracked"),
    (["--correct", "10:400,80,36,68"], "lies outside the 320x240 frame"),
    (["--correct", "10:40,80,36,68", "--correct", "10:2:40,80,36,68"], "mixes boxes with and without target ids"),
])
def test_bad_corrections_refused_before_the_model_and_the_folder(tmp_path, capsys, no_model, words, expected):
    out = tmp_path / "out"
    assert main(["track", SAMPLE, "--task", "sot", "--box", "42,86,36,68", "--out", str(out), *words]) == 2
    assert expected in _one_line_error(capsys)
    assert not out.exists()


def test_corrections_of_a_mot_run_refused_before_the_model_and_the_folder(tmp_path, capsys, no_model):
    out = tmp_path / "out"
    assert main(["track", SAMPLE, "--task", "mot", "--out", str(out), "--correct", "10:40,80,36,68"]) == 2
    assert "corrections are for SOT and VOS" in _one_line_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("word", ["0:40,80,36,68", "10:40,80,36", "x:40,80,36,68", "10:0:40,80,36,68"])
def test_correction_syntax_errors_exit_2(tmp_path, capsys, word):
    with pytest.raises(SystemExit) as stop:
        main(["track", SAMPLE, "--task", "sot", "--box", "42,86,36,68", "--out", str(tmp_path / "out"),
              "--correct", word])
    assert stop.value.code == 2 and "correct" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_correct_on_the_sample_clip(tmp_path, capsys):
    out = tmp_path / "out"
    words = ["track", SAMPLE, "--task", "sot", "--box", "42,86,36,68", "--max-frames", "16", "--formats",
             "pytracking", "--threads", "1", "--device", "cpu"]
    assert main([*words, "--out", str(tmp_path / "plain")]) == 0
    assert main([*words, "--out", str(out), "--correct", "12:1:60,90,36,68"]) == 0
    fixed = (out / "results_pytracking.txt").read_text().splitlines()
    plain = (tmp_path / "plain" / "results_pytracking.txt").read_text().splitlines()
    assert len(fixed) == len(plain) == 16 and fixed[:12] == plain[:12]
    assert fixed[12].split("\t") == ["60", "90", "36", "68"] and plain[12] != fixed[12]
    import json
    assert json.loads((out / "summary.json").read_text())["corrections"] == {
        "12": {"1": {"box_xywh": [60.0, 90.0, 36.0, 68.0]}}}
