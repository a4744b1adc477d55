"""A result folder survives what can happen to a run: Ctrl+C, SIGTERM, SIGKILL and a full disk.

Text files keep whole frames; json and video files exist under their final names only when finished;
``summary.json`` says ``complete``, ``interrupted`` or ``failed`` (or still ``running`` after SIGKILL).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from unicorn.cli import main
from unicorn.data.video_io import open_video
from unicorn.evaluation.readers import read_coco_tracks

REPO = Path(__file__).resolve().parents[1]
# the generated frames' objects score below NanoDet-g's 0.45 default first pass: 0.2 gives rows to check
SIZE = ["--size", "192x256", "--formats", "video,mot,json,pytracking", "--set", "track_thresh=0.2"]


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory) -> Path:
    """The bundled sample (48 frames, 320x240, people) played forwards and backwards to 480 frames: long enough
    to stop a run in the middle."""
    from unicorn.data.video_io import open_video

    folder = tmp_path_factory.mktemp("frames")
    with open_video(REPO / "unicorn" / "assets" / "sample.mp4") as video:
        clip = list(video)
    loop = clip + clip[::-1]
    for i in range(480):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), loop[i % len(loop)])
    return folder


def _mot_rows(path: Path) -> list[list[str]]:
    text = path.read_text()
    assert text == "" or text.endswith("\n")  # no half-written last line
    rows = [line.split(",") for line in text.splitlines()]
    assert all(len(r) == 10 for r in rows)
    return rows


def _video_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def _start(frames_dir: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "unicorn.cli", "track", str(frames_dir), "--out", str(out), *SIZE],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_frames(proc: subprocess.Popen, out: Path, count: int = 3, limit: float = 120.0) -> None:
    """Wait until the run has written ``count`` frames (one pytracking line each), or fail after ``limit`` s."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        lines = out / "results_pytracking.txt"
        if lines.exists() and lines.read_text().count("\n") >= count:
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the run wrote no frames in time")


def test_sigkill_leaves_readable_text_and_a_summary_that_says_running(frames_dir, tmp_path):
    out = tmp_path / "killed"
    proc = _start(frames_dir, out)
    _wait_for_frames(proc, out)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    proc.stderr.close()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "running"  # never finished: incomplete
    _mot_rows(out / "results_mot.txt")  # whole lines only
    assert (out / "results_pytracking.txt").read_text().count("\n") >= 3
    assert not (out / "results_coco.json").exists() and not (out / "annotated.mp4").exists()  # unfinished names
    frames = read_coco_tracks(out / "results_coco.partial.json")[1]  # the array is cut after a whole entry
    assert len(frames) >= 2 and [f.frame_index for f in frames] == list(range(len(frames)))
    video = list(open_video(out / "annotated.partial.mp4"))  # one fragment per frame: it opens
    assert len(video) >= 2


def test_sigterm_is_an_interruption_with_finished_files(frames_dir, tmp_path):
    out = tmp_path / "stopped"
    proc = _start(frames_dir, out)
    _wait_for_frames(proc, out)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 130
    assert "interrupted" in proc.stderr.read()
    proc.stderr.close()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["reason"] == "stopped by SIGTERM"
    frames = summary["frames"]
    assert frames >= 3 and (out / "results_pytracking.txt").read_text().count("\n") == frames
    assert {int(r[0]) for r in _mot_rows(out / "results_mot.txt")} <= set(range(1, frames + 1))
    coco = json.loads((out / "results_coco.json").read_text())
    assert coco and max(e["frame_index"] for e in coco) < frames
    assert _video_frames(out / "annotated.mp4") == frames


class _FullDisk:
    """A text file that accepts ``limit`` characters, then fails as a full disk does (part of a write lands)."""

    def __init__(self, fp, limit: int) -> None:
        self._fp, self._left = fp, limit

    def write(self, text: str) -> int:
        if len(text) > self._left:
            self._fp.write(text[:self._left])
            self._left = 0
            raise OSError(errno.ENOSPC, "No space left on device", self._fp.name)
        self._left -= len(text)
        return self._fp.write(text)

    def __getattr__(self, name):
        return getattr(self._fp, name)


def test_full_disk_is_one_line_and_keeps_complete_frames(frames_dir, tmp_path, monkeypatch, capsys):
    import unicorn.evaluation._output as output

    real = output.open_new_text

    def small_disk(path, overwrite):
        fp = real(path, overwrite)
        return _FullDisk(fp, 400) if Path(path).name == "results_mot.txt" else fp  # a few frames' tracks

    monkeypatch.setattr(output, "open_new_text", small_disk)
    out = tmp_path / "full"
    assert main(["track", str(frames_dir), "--out", str(out), "--max-frames", "40", *SIZE]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: the disk is full: stopped after") and "--overwrite" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["reason"].startswith("the disk is full")
    rows = _mot_rows(out / "results_mot.txt")
    assert 0 < sum(len(",".join(r)) + 1 for r in rows) <= 400
    json.loads((out / "results_coco.json").read_text())  # finished, valid
    assert _video_frames(out / "annotated.mp4") >= 1


def test_video_writer_reports_a_full_disk(tmp_path, monkeypatch):
    from collections import namedtuple

    import unicorn.evaluation.video_writer as vw

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(vw.shutil, "disk_usage", lambda p: usage(10**6, 10**6 - 1000, 1000))
    writer = vw.AnnotatedVideoWriter(tmp_path / "a.avi", fourcc="MJPG")  # OpenCV: would drop frames silently
    with pytest.raises(OSError) as err:
        writer.write(np.zeros((64, 64, 3), np.uint8))
    assert err.value.errno == errno.ENOSPC
    writer.close()  # no frame was written: no video, no partial file
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_disk(tmp_path):
    """A 250 KB tmpfs (needs permission to mount: root on Linux; skipped elsewhere)."""
    place = tmp_path / "disk"
    place.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=250k", "tmpfs", str(place)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root on Linux)")
    try:
        yield place
    finally:
        subprocess.run(["umount", str(place)], check=True)


def test_the_mp4_writer_stops_at_a_real_full_disk_with_its_frames_readable(small_disk):
    import unicorn.evaluation.video_writer as vw

    noise = np.random.default_rng(0).integers(0, 256, (10, 240, 320, 3), dtype=np.uint8)  # hard to compress
    writer = vw.AnnotatedVideoWriter(small_disk / "a.mp4")
    with pytest.raises(OSError) as err:
        for i in range(1000):
            writer.write(noise[i % 10])
    assert err.value.errno == errno.ENOSPC and 0 < writer.frames_written < 1000
    try:
        writer.close()
        left = small_disk / "a.mp4"
    except OSError:
        left = small_disk / "a.partial.mp4"
    assert _video_frames(left) == writer.frames_written  # every frame written before the disk filled


def test_a_real_full_disk(frames_dir, small_disk, capsys):
    out = small_disk / "o"
    assert main(["track", str(frames_dir), "--out", str(out), *SIZE, "--set", "detector_size=160"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: the disk is full: stopped after")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["reason"].startswith("the disk is full")
    frames = summary["frames"]
    assert 0 < frames < 480 and f"stopped after {frames} complete frame(s)" in err
    assert (out / "results_pytracking.txt").read_text().count("\n") == frames
    assert {int(r[0]) for r in _mot_rows(out / "results_mot.txt")} <= set(range(1, frames + 1))
    assert max(e["frame_index"] for e in json.loads((out / "results_coco.json").read_text())) < frames
    assert _video_frames(out / "annotated.mp4") == frames


def test_summary_that_cannot_be_finished_says_running(frames_dir, tmp_path, monkeypatch, capsys):
    from unicorn.run_folder import RunSummary

    real = RunSummary.save

    def full_at_the_end(self):
        if self.data["status"] != "running":
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        real(self)

    monkeypatch.setattr(RunSummary, "save", full_at_the_end)
    out = tmp_path / "o"
    assert main(["track", str(frames_dir), "--out", str(out), "--max-frames", "2", *SIZE]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "all 2 frames are in" in err and "the disk is full" in err and "still says running" in err
    assert json.loads((out / "summary.json").read_text())["status"] == "running"
