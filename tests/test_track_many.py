"""``unicorn track-many``: two gloo processes write what one writes, a killed run resumes, eval reads it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unicorn.cli import main
from unicorn.evaluation.readers import iter_mot_challenge

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "unicorn" / "assets" / "sample.mp4"
# NanoDet-g + ByteTrack, 5 frames; the sample's generated objects score below the 0.45 default first pass
FAST = ["--task", "mot", "--max-frames", "5", "--formats", "mot,json", "--set", "track_thresh=0.2"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
TIMINGS = ("seconds", "fps")


@pytest.fixture
def clips(tmp_path) -> Path:
    """Three copies of the bundled sample (a.mp4, b.mp4, c.mp4)."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in "abc":
        shutil.copy(SAMPLE, folder / f"{name}.mp4")
    return folder


def _files(root: Path) -> dict[str, object]:
    """Every result file under ``root`` (text as text; timings and the process count left out)."""
    out = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = json.loads(path.read_text()) if path.suffix == ".json" else path.read_text()
        if path.name == "summary.json":
            data = {k: v for k, v in data.items() if k not in TIMINGS}
        if path.name == "index.json":
            data.pop("processes")
        out[str(path.relative_to(root))] = data
    return out


def _whole_json(path: Path) -> bool:
    """A ``summary.json`` that says its run is complete (not cut short, not ``running``)."""
    try:
        summary = json.loads(path.read_text())
    except (ValueError, OSError):  # killed while writing it
        return False
    return summary.get("status", "complete") == "complete"


def test_two_gloo_processes_write_what_one_writes(clips, tmp_path, capsys):
    pattern = str(clips / "*.mp4")
    assert main(["track-many", pattern, *FAST, "--out", str(tmp_path / "one")]) == 0
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "unicorn.cli", "track-many", pattern, *FAST, "--out", str(tmp_path / "two")]
    run = subprocess.run(cmd, cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "rank 0/2: 2 of 3 videos, 0 already done" in run.stderr  # a and c
    assert "rank 1/2: 1 of 3 videos, 0 already done" in run.stderr  # b
    assert run.stdout.count("videos done") == 1  # rank 0 alone writes the index
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert sorted(one) == sorted(two) == [
        "a/results_coco.json", "a/results_mot.txt", "a/summary.json", "b/results_coco.json", "b/results_mot.txt",
        "b/summary.json", "benchmark/a.txt", "benchmark/b.txt", "benchmark/c.txt", "c/results_coco.json",
        "c/results_mot.txt", "c/summary.json", "index.json"]
    assert one == two
    index = json.loads((tmp_path / "two" / "index.json").read_text())
    assert index["processes"] == 2 and (index["done"], index["skipped"], index["failed"]) == (3, 0, 0)
    assert [(v["folder"], v["status"], v["frames"]) for v in index["videos"]] == [
        ("a", "done", 5), ("b", "done", 5), ("c", "done", 5)]
    rows = one["a/results_mot.txt"].splitlines()
    assert rows and {int(r.split(",")[0]) for r in rows} <= {1, 2, 3, 4, 5}
    assert one["benchmark/b.txt"] == one["b/results_mot.txt"]


def test_killed_run_resumes_without_redoing_finished_videos(clips, tmp_path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "unicorn.cli", "track-many", str(clips / "*.mp4"), *FAST, "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not _whole_json(out / "a" / "summary.json") and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    finished = sorted(p.parent.name for p in out.glob("*/summary.json") if _whole_json(p))
    assert finished[:1] == ["a"] and not (out / "index.json").exists()
    before = {p: p.stat().st_mtime_ns for name in finished for p in (out / name).iterdir()}
    assert main(["track-many", str(clips / "*.mp4"), *FAST, "--out", str(out)]) == 0
    assert {p: p.stat().st_mtime_ns for p in before} == before  # finished videos were not rewritten
    index = json.loads((out / "index.json").read_text())
    assert [v["status"] for v in index["videos"]] == ["skipped" if n in finished else "done" for n in "abc"]
    a, c = (out / "a" / "results_mot.txt").read_text(), (out / "c" / "results_mot.txt").read_text()
    assert a == c and a  # the same clip gives the same tracks, whichever run tracked it


def test_list_file_with_per_video_options_and_errors(clips, tmp_path, capsys):
    listing = tmp_path / "videos.txt"
    listing.write_text("# SOT targets per clip\nclips/a.mp4 --box 42,86,36,68\n\n"  # relative to the list
                       f"{clips / 'b.mp4'} --box 40,80,30,60\n")
    out = tmp_path / "sot"
    assert main(["track-many", str(listing), "--task", "sot", "--max-frames", "3", "--formats", "pytracking",
                 "--out", str(out)]) == 0
    first = (out / "a" / "results_pytracking.txt").read_text().splitlines()[0]
    assert [float(v) for v in first.replace(",", " ").split()] == [42, 86, 36, 68]  # frame 0 is the given box
    second = (out / "benchmark" / "b.txt").read_text().splitlines()
    assert len(second) == 3 and [float(v) for v in second[0].replace(",", " ").split()] == [40, 80, 30, 60]
    capsys.readouterr()
    listing.write_text("clips/a.mp4 --box 1,2,3\n")
    assert main(["track-many", str(listing), "--task", "sot", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"error: {listing}:1: argument --box: a box is x,y,w,h in pixels, "
                                       "e.g. 10,20,50,80; got '1,2,3'\n")
    listing.write_text("clips/a.mp4 --box '1,2,3,4\n")
    assert main(["track-many", str(listing), "--task", "sot", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {listing}:1: No closing quotation (quote paths with spaces)\n"
    listing.write_text("clips/a.mp4\nclips/b.mp4 --out elsewhere\n")
    assert main(["track-many", str(listing), "--task", "sot", "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"error: {listing}:2: --out is set for the whole run, not per video\n"
    assert main(["track-many", str(tmp_path / "none*.mp4"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: no videos in '{tmp_path / 'none*.mp4'}'")
    (clips / "sub").mkdir()
    shutil.copy(SAMPLE, clips / "sub" / "a.mp4")
    assert main(["track-many", str(clips / "**" / "a.mp4"), "--out", str(out)]) == 2
    assert "would share the result folder 'a'" in capsys.readouterr().err
    assert main(["track-many", str(clips / "a.mp4"), "--task", "mot", "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"error: {out / 'a'} holds results of {clips / 'a.mp4'} (sot), not of "
                                       f"{clips / 'a.mp4'} (mot); use another --out\n")


def _shared(name: str) -> Path:
    data = Path(os.environ.get("UNICORN_TEST_DATA", REPO.parent / "shared" / "data")) / name
    if not data.is_dir():
        pytest.skip(f"real test data not found at {data} (set UNICORN_TEST_DATA)")
    return data


def test_eval_scores_the_benchmark_folder_unchanged(tmp_path):
    data = _shared("mot17_mini")
    out = tmp_path / "mot17"
    frames = str(data / "train" / "MOT17-0[25]-FRCNN" / "img1")
    assert main(["track-many", frames, "--task", "mot", "--formats", "mot", "--classes", "person",
                 "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "benchmark").iterdir()) == ["MOT17-02-FRCNN.txt", "MOT17-05-FRCNN.txt"]
    assert main(["eval", "--benchmark", "mot17", "--results", str(out / "benchmark"), "--data", str(data),
                 "--allow-partial", "--no-plots"]) == 0
    report = json.loads((out / "benchmark" / "eval_mot17.json").read_text())
    assert report["evaluated"] == ["MOT17-02-FRCNN", "MOT17-05-FRCNN"]
    rows = list(iter_mot_challenge(out / "MOT17-05-FRCNN" / "results_mot.txt", num_frames=6))
    assert len(rows) == 6 and sum(len(r.track_ids) for r in rows) > 0
    assert 0 < report["per_sequence"]["MOT17-05-FRCNN"]["HOTA"] <= 1


def test_a_failing_video_is_recorded_and_the_others_finish(clips, tmp_path, capsys):
    listing = tmp_path / "videos.txt"
    listing.write_text("clips/a.mp4\nclips/missing.mp4\n")
    out = tmp_path / "out"
    assert main(["track-many", str(listing), "--task", "mot", "--max-frames", "2", "--formats", "mot",
                 "--out", str(out)]) == 1
    index = json.loads((out / "index.json").read_text())
    assert [(v["folder"], v["status"]) for v in index["videos"]] == [("a", "done"), ("missing", "failed")]
    assert index["videos"][1]["error"].startswith(f"Video not found: {clips / 'missing.mp4'}.")
    err = capsys.readouterr().err
    assert f"error: 1 of 2 videos failed (first: {clips / 'missing.mp4'}: " in err
    assert sorted(p.name for p in out.iterdir()) == ["a", "benchmark", "index.json"]


def test_vos_with_a_mask_per_video_and_davis_eval(tmp_path):
    data = _shared("davis2016_val")
    listing = tmp_path / "davis.txt"  # car-shadow: 40 frames, the first mask from the annotations
    mask = os.path.relpath(data / "Annotations" / "480p" / "car-shadow" / "00000.png", tmp_path)  # beside the list
    listing.write_text(f"{data}/JPEGImages/480p/car-shadow --mask {mask}\n")
    out = tmp_path / "vos"
    assert main(["track-many", str(listing), "--task", "vos", "--formats", "davis", "--out", str(out)]) == 0
    assert len(list((out / "benchmark" / "car-shadow").glob("*.png"))) == 40
    assert main(["eval", "--benchmark", "davis2016", "--results", str(out / "benchmark"), "--data", str(data),
                 "--allow-partial", "--no-plots"]) == 0
    report = json.loads((out / "benchmark" / "eval_davis2016.json").read_text())
    assert report["evaluated"] == ["car-shadow"]
    assert report["per_sequence"]["car-shadow"]["J_mean"] > 0.3  # the car is followed, not lost
