"""``unicorn train`` / ``tools/train.py`` argument handling (training itself is covered by test_resume)."""

from __future__ import annotations

from unicorn.cli import main

from .conftest import TINY


def test_unknown_key_exits_with_a_message(capsys):
    assert main(["train", str(TINY), "epoch=3", "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown key(s) epoch" in err and "valid keys are" in err


def test_words_after_the_config_must_be_overrides(capsys):
    assert main(["train", str(TINY), "--resume", "stray"]) == 2
    assert "key=value" in capsys.readouterr().err


def test_plot_needs_a_run_folder(tmp_path, capsys):
    assert main(["train", "--plot", str(tmp_path)]) == 2
    assert "no metrics.csv" in capsys.readouterr().err
