"""``unicorn eval``: tables, JSON, plots, partial evaluations and errors that name the file and line."""

from __future__ import annotations

import argparse
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from unicorn.errors import UserError
from unicorn.evaluation.cli import add_eval_parser, run_eval
from unicorn.evaluation.plots import bar_figure, precision_figure, success_figure

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _args(**kw) -> argparse.Namespace:
    base = dict(data=None, out=None, split=None, name=None, allow_partial=False, no_plots=False)
    return argparse.Namespace(**{**base, **kw})


@pytest.fixture()
def tud_results(shared_data, tmp_path):
    src = shared_data("motmetrics_tud")
    results = tmp_path / "results"
    results.mkdir()
    for seq in ("TUD-Campus", "TUD-Stadtmitte"):
        shutil.copy(src / seq / "test.txt", results / f"{seq}.txt")
    return src, results


def test_mot_eval_writes_table_json_and_plots(tud_results, tmp_path, capsys):
    data, results = tud_results
    out = tmp_path / "out"
    assert run_eval(_args(benchmark="mot15", results=results, data=data, out=out)) == 0
    report = json.loads((out / "eval_mot15.json").read_text())
    assert report["complete"] is True and report["missing"] == []
    assert report["summary"]["HOTA"] == pytest.approx(0.399957, abs=1e-6)
    assert report["summary"]["MOTA"] == pytest.approx(0.555116, abs=1e-6)
    assert report["per_sequence"]["TUD-Campus"]["IDSW"] == 7
    text = capsys.readouterr().out
    assert "COMBINED" in text and "0.5551" in text and "PARTIAL" not in text
    png = (out / "per_sequence_HOTA.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 2000


def test_missing_results_fail_unless_partial_is_allowed(tud_results, tmp_path, capsys):
    data, results = tud_results
    (results / "TUD-Campus.txt").unlink()
    with pytest.raises(UserError, match=r"missing for 1 of 2 .*TUD-Campus.*--allow-partial"):
        run_eval(_args(benchmark="mot15", results=results, data=data, out=tmp_path / "o1"))
    assert not (tmp_path / "o1" / "eval_mot15.json").exists()
    run_eval(_args(benchmark="mot15", results=results, data=data, out=tmp_path / "o2", allow_partial=True))
    report = json.loads((tmp_path / "o2" / "eval_mot15.json").read_text())
    assert report["complete"] is False and report["missing"] == ["TUD-Campus"]
    assert report["evaluated"] == ["TUD-Stadtmitte"]
    assert report["summary"]["MOTA"] == pytest.approx(0.564014, abs=1e-6)  # TUD-Stadtmitte alone
    assert "PARTIAL" in capsys.readouterr().out


def test_malformed_mot_result_names_file_and_line(tud_results, tmp_path):
    data, results = tud_results
    path = results / "TUD-Campus.txt"
    lines = path.read_text().splitlines()
    lines[2] = "1,7,abc,1,2,3,-1,-1,-1,-1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=rf"{path}:3: expected numbers"):
        run_eval(_args(benchmark="mot15", results=results, data=data, out=tmp_path / "o"))


def _otb(tmp_path, n=6):
    root = tmp_path / "otb"
    gt = np.array([[10 + 2 * t, 20, 30, 40] for t in range(n)], float)
    for seq in ("Alpha", "Beta"):
        (root / seq / "img").mkdir(parents=True)
        np.savetxt(root / seq / "groundtruth_rect.txt", gt, fmt="%d", delimiter=",")
    results = tmp_path / "sot_results"
    results.mkdir()
    np.savetxt(results / "Alpha.txt", gt + 1, fmt="%d", delimiter="\t")
    np.savetxt(results / "Beta.txt", gt + [5, 0, 0, 0], fmt="%d", delimiter="\t")
    return root, results


def test_sot_eval_plots_curves(tmp_path):
    root, results = _otb(tmp_path)
    assert run_eval(_args(benchmark="otb", results=results, data=root, out=tmp_path / "o")) == 0
    report = json.loads((tmp_path / "o" / "eval_otb.json").read_text())
    assert report["summary"]["Precision"] == pytest.approx(100.0)  # centre errors of 1.4 and 5 px
    assert 0 < report["summary"]["AUC"] < 100
    for name in ("success_plot.png", "precision_plot.png", "norm_precision_plot.png", "per_sequence_AUC.png"):
        assert (tmp_path / "o" / name).read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("content, pattern", [
    ("1,2,3,4\n1,2,3,4\nnan,2,3,4\n", r"Alpha\.txt:3: invalid box"),
    ("1,2,3,4\n1,2,x,4\n", r"Alpha\.txt:2: expected numbers"),
    ("1,2,3,4\n1,2,-3,4\n", r"Alpha\.txt:2: invalid box"),
    ("1,2,3,4\n1,2,3\n", r"Alpha\.txt:2: a box row .* needs at least 4 values"),
    ("1,2,3,4\n1,2,3,4\n", r"Alpha\.txt: has 2 boxes but the sequence has 6 frames"),
])
def test_malformed_sot_result_names_file_and_line(tmp_path, content, pattern):
    root, results = _otb(tmp_path)
    (results / "Alpha.txt").write_text(content)
    with pytest.raises(UserError, match=pattern):
        run_eval(_args(benchmark="otb", results=results, data=root, out=tmp_path / "o"))


def test_missing_vos_frame_is_named(tmp_path):
    ann = tmp_path / "davis" / "Annotations" / "480p" / "seq"
    ann.mkdir(parents=True)
    mask = np.zeros((20, 30), np.uint8)
    mask[5:15, 5:15] = 1
    for t in range(4):
        Image.fromarray(mask, mode="L").save(ann / f"{t:05d}.png")
    results = tmp_path / "vos" / "seq"
    results.mkdir(parents=True)
    for t in (0, 1, 3):  # frame 2 is scored but missing
        Image.fromarray(mask, mode="L").save(results / f"{t:05d}.png")
    with pytest.raises(UserError, match=r"vos/seq/00002\.png: file not found"):
        run_eval(_args(benchmark="davis2017", results=results.parent, data=tmp_path / "davis", out=tmp_path / "o"))
    Image.fromarray(mask * 2, mode="L").save(results / "00002.png")
    with pytest.raises(UserError, match=r"vos/seq/00002\.png: object id 2 is not in the first-frame annotation"):
        run_eval(_args(benchmark="davis2017", results=results.parent, data=tmp_path / "davis", out=tmp_path / "o"))
    Image.fromarray(mask, mode="L").save(results / "00002.png")
    run_eval(_args(benchmark="davis2017", results=results.parent, data=tmp_path / "davis", out=tmp_path / "o"))
    report = json.loads((tmp_path / "o" / "eval_davis2017.json").read_text())
    assert report["summary"]["J&F_mean"] == pytest.approx(1.0)


def test_malformed_scalabel_json_names_file_and_line(tmp_path):
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps([{"videoName": "v", "frameIndex": 0, "labels": []}]))
    bad = tmp_path / "pred.json"
    bad.write_text('[\n {"videoName": "v",\n  "frameIndex": 0\n  "labels": []}\n]\n')
    with pytest.raises(UserError, match=r"pred\.json:4: not valid json"):
        run_eval(_args(benchmark="bdd100k-box", results=bad, data=gt, out=tmp_path / "o"))


def test_figures_have_titles_and_labelled_axes():
    figures = [success_figure(np.linspace(1, 0, 21), 55.0, "t", "lasot"),
               precision_figure(np.linspace(0, 1, 51), 70.0, "t", "lasot"),
               precision_figure(np.linspace(0, 1, 51), 70.0, "t", "lasot", normalized=True),
               bar_figure({"a": 0.5, "b": 0.7}, "HOTA", "HOTA per sequence")]
    for fig in figures:
        ax = fig.axes[0]
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert figures[0].axes[0].get_legend().get_texts()[0].get_text() == "t [AUC 55.0]"
    assert figures[1].axes[0].get_xlabel() == "Location error threshold (pixels)"


def test_add_eval_parser_registers_the_command():
    parser = argparse.ArgumentParser(prog="unicorn")
    add_eval_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "--benchmark", "MOT17", "--results", "runs/x", "--allow-partial"])
    assert args.func is run_eval and args.benchmark == "mot17" and args.allow_partial
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "--benchmark", "nope", "--results", "x"])


def test_sot_convention_can_be_selected(tmp_path):
    from unicorn.evaluation.sot import trackingnet_curves, trackingnet_summary

    root, results = _otb(tmp_path)
    run_eval(_args(benchmark="otb", results=results, data=root, out=tmp_path / "o", sot_convention="trackingnet"))
    summary = json.loads((tmp_path / "o" / "eval_otb.json").read_text())["summary"]
    gt = np.loadtxt(root / "Alpha" / "groundtruth_rect.txt", delimiter=",")
    curves = [trackingnet_curves(np.loadtxt(results / f"{s}.txt"), gt) for s in ("Alpha", "Beta")]
    expected = trackingnet_summary(*(np.stack([c[i] for c in curves]) for i in range(3)))
    assert summary == pytest.approx(expected)
    assert set(summary) == {"Success", "Precision", "NormPrecision"}


@pytest.mark.parametrize("row, words", [
    ("1,1.5,10,10,20,20,0.9,-1,-1,-1", "track ids are whole numbers, got 1.5"),
    ("1,1,10,10,20,20,nan,-1,-1,-1", "the score (column 7) is not a number: nan"),
    ("1,1,10,10,-20,20,0.9,-1,-1,-1", "width and height must be >= 0, got -20"),
])
def test_malformed_tracker_rows_name_the_file_and_line(tud_results, tmp_path, row, words):
    data, results = tud_results
    path = results / "TUD-Campus.txt"
    path.write_text(row + "\n")
    with pytest.raises(UserError) as err:
        run_eval(_args(benchmark="mot15", results=results, data=data, out=tmp_path / "o"))
    assert f"TUD-Campus.txt:1: {words}" in str(err.value)


def test_results_of_unknown_sequences_are_reported(tud_results, tmp_path, capsys):
    data, results = tud_results
    shutil.copy(results / "TUD-Campus.txt", results / "TUD-Campus-copy.txt")
    assert run_eval(_args(benchmark="mot15", results=results, data=data, out=tmp_path / "o", no_plots=True)) == 0
    err = capsys.readouterr().err
    assert "1 result(s)" in err and "TUD-Campus-copy" in err and "were not scored" in err
