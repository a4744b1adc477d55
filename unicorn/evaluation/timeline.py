"""Each target's score and state over a video: the lost spans for ``summary.json`` and a confidence plot.

SOT and VOS trackers give every target a state per frame (``tracked``, ``uncertain`` or ``lost``, see
:class:`~unicorn.types.FrameResult`); a lost target keeps its last box or mask with score 0. This module
turns those into what a person looks at: the frames where each target was lost, and a plot of its score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..types import FrameResult
from ._output import finish_partial, partial_path

STATE_COLORS = {"tracked": "#2ca02c", "uncertain": "#ff7f0e", "lost": "#d62728"}


@dataclass
class TargetTimeline:
    """Per-target scores and states, frame by frame (a result writer: ``write(result)``, ``close()``).

    Attributes:
        frames: track id -> frame indices where the target was reported.
        scores: track id -> its score in those frames.
        states: track id -> its state in those frames (``tracked`` when the tracker gives none).
        plot_path: where :meth:`close` saves the confidence plot (None: no plot).
    """

    plot_path: Path | None = None
    frames: dict[int, list[int]] = field(default_factory=dict)
    scores: dict[int, list[float]] = field(default_factory=dict)
    states: dict[int, list[str]] = field(default_factory=dict)

    def write(self, result: FrameResult) -> None:
        """Record one frame's targets."""
        states = result.states if result.states is not None else ["tracked"] * len(result)
        for tid, score, state in zip(result.track_ids.tolist(), result.scores.tolist(), states, strict=True):
            self.frames.setdefault(int(tid), []).append(int(result.frame_index))
            self.scores.setdefault(int(tid), []).append(float(score))
            self.states.setdefault(int(tid), []).append(str(state))

    def spans(self, state: str = "lost") -> dict[int, list[tuple[int, int]]]:
        """Track id -> runs of consecutive frames in ``state``, each (first frame, last frame), inclusive."""
        out: dict[int, list[tuple[int, int]]] = {}
        for tid, frames in self.frames.items():
            runs: list[tuple[int, int]] = []
            for frame, s in zip(frames, self.states[tid], strict=True):
                if s != state:
                    continue
                if runs and runs[-1][1] == frame - 1:
                    runs[-1] = (runs[-1][0], frame)
                else:
                    runs.append((frame, frame))
            out[tid] = runs
        return out

    def counts(self) -> dict[int, dict[str, int]]:
        """Track id -> number of frames in each state."""
        return {tid: {s: states.count(s) for s in STATE_COLORS} for tid, states in self.states.items()}

    def close(self) -> None:
        """Save the plot when a path was given and there is something to plot (needs matplotlib)."""
        if self.plot_path is not None and self.frames:
            plot_confidence(self, self.plot_path)


def plot_confidence(timeline: TargetTimeline, path: Path) -> Path | None:
    """Score over frames per target, with uncertain and lost frames marked; returns the file, or None when
    matplotlib is not installed (the ``eval`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    ids = sorted(timeline.frames)
    fig, axes = plt.subplots(len(ids), 1, figsize=(8, 1.6 + 1.4 * len(ids)), sharex=True, squeeze=False)
    for ax, tid in zip(axes[:, 0], ids, strict=True):
        frames, scores = np.asarray(timeline.frames[tid]), np.asarray(timeline.scores[tid])
        ax.plot(frames, scores, color="#444444", linewidth=1.2)
        states = np.asarray(timeline.states[tid])
        for state, color in STATE_COLORS.items():
            hit = states == state
            if hit.any():
                ax.scatter(frames[hit], scores[hit], s=9, color=color, label=state, zorder=3)
        for first, last in timeline.spans("lost").get(tid, []):
            ax.axvspan(first - 0.5, last + 0.5, color=STATE_COLORS["lost"], alpha=0.12, linewidth=0)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel(f"target {tid}\nscore")
        ax.legend(loc="lower left", fontsize=7, ncol=3, frameon=False)
    axes[-1, 0].set_xlabel("frame")
    fig.suptitle("Confidence over time (shaded: lost)", fontsize=10)
    fig.tight_layout()
    path, partial = Path(path), partial_path(Path(path))
    try:
        fig.savefig(partial, dpi=110, format="png")
        finish_partial(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)  # a full disk leaves no cut PNG behind
        raise
    finally:
        plt.close(fig)
    return path
