"""Lost spans and the confidence plot of a run, and how uncertain and lost targets are drawn."""

from __future__ import annotations

import errno

import numpy as np
import pytest

from unicorn.evaluation.timeline import TargetTimeline
from unicorn.evaluation.video_writer import LOST_COLOR, annotate_frame, track_color
from unicorn.types import FrameResult

STATES = ["tracked", "lost", "lost", "tracked", "uncertain", "lost"]


def _result(k: int, state: str, size=(60, 80)) -> FrameResult:
    score = 0.0 if state == "lost" else 0.9 if state == "tracked" else 0.15
    return FrameResult(k, size, np.array([3]), np.array([[10.0, 10.0, 50.0, 40.0]]), np.array([score]),
                       np.array([0]), None, np.array([state], dtype=object))


def test_lost_spans_and_counts_of_a_hand_made_run(tmp_path):
    timeline = TargetTimeline(tmp_path / "confidence.png")
    for k, state in enumerate(STATES):
        timeline.write(_result(k, state))
    assert timeline.spans("lost") == {3: [(1, 2), (5, 5)]}
    assert timeline.spans("uncertain") == {3: [(4, 4)]}
    assert timeline.counts() == {3: {"tracked": 2, "uncertain": 1, "lost": 3}}
    timeline.close()
    assert (tmp_path / "confidence.png").stat().st_size > 1000


def test_a_full_disk_leaves_no_cut_plot(tmp_path, monkeypatch):
    import matplotlib.figure

    def full(fig, fname, **kwargs):
        with open(fname, "wb") as fp:
            fp.write(b"\x89PNG")  # the disk fills after the first bytes
        raise OSError(errno.ENOSPC, "No space left on device", str(fname))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    timeline = TargetTimeline(tmp_path / "confidence.png")
    timeline.write(_result(0, "tracked"))
    with pytest.raises(OSError):
        timeline.close()
    assert list(tmp_path.iterdir()) == []


def test_a_run_without_states_counts_as_tracked():
    timeline = TargetTimeline()
    result = _result(0, "tracked")
    result.states = None
    timeline.write(result)
    assert timeline.spans("lost") == {3: []} and timeline.counts()[3]["tracked"] == 1


def test_lost_targets_are_drawn_dashed_in_grey_and_tracked_ones_solid():
    frame = np.zeros((60, 80, 3), np.uint8)
    solid = annotate_frame(frame, _result(0, "tracked"), show_scores=False)
    lost = annotate_frame(frame, _result(0, "lost"), show_scores=False)
    edge = slice(12, 38)  # the left edge x = 10, below the label
    assert _near(solid[edge, 10], track_color(3)).all()  # unbroken, in the track's colour
    painted = _near(lost[edge, 10], LOST_COLOR)
    assert 0.3 < painted.mean() < 0.8  # dashes: part of the edge only, in grey
    assert not _near(lost[edge, 10], track_color(3)).any()


def _near(pixels: np.ndarray, color: tuple[int, int, int], tol: int = 40) -> np.ndarray:
    """Pixels within ``tol`` of ``color`` in every channel (lines are anti-aliased)."""
    return (np.abs(pixels.astype(int) - np.asarray(color)) <= tol).all(axis=-1)
