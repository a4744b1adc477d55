"""PNG plots of evaluation results: SOT success / precision curves and per-sequence bar charts.

Figures are built with ``matplotlib.figure.Figure`` on the Agg canvas, so nothing here touches
pyplot's global state or needs a display.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from unicorn.evaluation.report import Report
from unicorn.evaluation.sot import THRESHOLDS_CENTER, THRESHOLDS_CENTER_NORM


def _figure(width: float = 6.4, height: float = 4.8):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def curve_figure(x: np.ndarray, curves: Mapping[str, np.ndarray], title: str, xlabel: str, ylabel: str):
    """A line plot of one or more curves (e.g. trackers) with a legend; returns the Figure.

    Args:
        x: (N,) thresholds.
        curves: ``{legend label: (N,) values}``.
        title: axes title.
        xlabel: x-axis label.
        ylabel: y-axis label.
    """
    fig, ax = _figure()
    for label, y in curves.items():
        ax.plot(x, np.asarray(y), linewidth=2, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(float(np.min(x)), float(np.max(x)))
    ax.set_ylim(0, 100 if max((np.max(y) for y in curves.values()), default=1) > 1.0 else 1.0)
    ax.grid(True, alpha=0.3)
    if curves:
        ax.legend(loc="best")
    fig.tight_layout()
    return fig


def success_figure(success: np.ndarray, auc: float, name: str = "tracker", benchmark: str = ""):
    """pytracking-style success plot: success rate (%) over IoU thresholds 0..1, AUC in the legend."""
    return curve_figure(np.linspace(0, 1, len(success)), {f"{name} [AUC {auc:.1f}]": np.asarray(success) * 100},
                        f"Success plot {benchmark}".strip(), "Overlap threshold (IoU)", "Success rate (%)")


def precision_figure(precision: np.ndarray, score: float, name: str = "tracker", benchmark: str = "",
                     normalized: bool = False):
    """Precision plot (%) over centre-error thresholds (0..50 px, or 0..0.5 normalised)."""
    x = THRESHOLDS_CENTER_NORM if normalized else THRESHOLDS_CENTER
    kind = "Normalized precision" if normalized else "Precision"
    xlabel = "Normalized location error threshold" if normalized else "Location error threshold (pixels)"
    return curve_figure(x, {f"{name} [{score:.1f}]": np.asarray(precision) * 100},
                        f"{kind} plot {benchmark}".strip(), xlabel, f"{kind} (%)")


def bar_figure(values: Mapping[str, float], metric: str, title: str, ylabel: str = "sequence"):
    """Horizontal bar chart of one metric per sequence (or class); returns the Figure."""
    names = list(values)
    data = np.nan_to_num(np.array([values[n] if values[n] is not None else np.nan for n in names], dtype=float))
    fig, ax = _figure(7.0, max(2.5, 0.28 * len(names) + 1.2))
    ax.barh(np.arange(len(names)), data, color="tab:blue")
    ax.set_yticks(np.arange(len(names)), labels=names, fontsize=7 if len(names) > 20 else 9)
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel(metric)
    ax.set_ylabel(ylabel)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def save(fig, path: str | Path) -> Path:
    """Write a Figure as PNG; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def plot_report(report: Report, out_dir: str | Path, name: str = "tracker") -> list[Path]:
    """The plots that fit a report: SOT curves, otherwise a per-sequence bar chart of the main metric."""
    out_dir = Path(out_dir)
    curves = report.details.get("curves")
    written = []
    if report.task == "sot" and curves and curves.get("success"):
        auc = report.summary.get("AUC", report.summary.get("Success", float("nan")))
        written.append(save(success_figure(np.array(curves["success"]), auc, name, report.benchmark),
                            out_dir / "success_plot.png"))
        if len(curves["precision"]) == len(THRESHOLDS_CENTER):
            written.append(save(precision_figure(np.array(curves["precision"]), report.summary["Precision"], name,
                                                 report.benchmark), out_dir / "precision_plot.png"))
            written.append(save(precision_figure(np.array(curves["norm_precision"]), report.summary["NormPrecision"],
                                                 name, report.benchmark, normalized=True),
                                out_dir / "norm_precision_plot.png"))
    elif report.task == "sot" and report.details.get("success_curve"):
        written.append(save(curve_figure(np.linspace(0, 1, 101), {f"{name} [AO {report.summary['AO']:.3f}]":
                                                                   np.array(report.details["success_curve"])},
                                         f"Success plot {report.benchmark}", "Overlap threshold (IoU)",
                                         "Success rate"), out_dir / "success_plot.png"))
    metric = report.columns[0]
    values = {k: v.get(metric) for k, v in report.per_sequence.items()}
    if values:
        unit = "class" if report.benchmark.startswith("bdd") else "sequence"
        written.append(save(bar_figure(values, metric, f"{metric} per {unit} ({report.benchmark})", unit),
                            out_dir / f"per_{unit}_{_safe(metric)}.png"))
    return written


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)
