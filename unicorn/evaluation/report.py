"""The result of one benchmark evaluation: terminal table and JSON file."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class Report:
    """Scores of a tracker on a benchmark.

    Attributes:
        benchmark: benchmark name (e.g. "mot17").
        task: "sot", "vos", "mot" or "mots".
        summary: headline scores ``{metric: value}``.
        per_sequence: ``{sequence: {metric: value}}``.
        columns: the metrics shown in the table, in order.
        evaluated: names of the evaluated sequences.
        missing: sequences without results (a non-empty list means the evaluation is partial).
        convention: one line saying whose conventions the numbers follow and their scale.
        details: further results (per-class tables, curves) kept in the JSON file.
    """

    benchmark: str
    task: str
    summary: dict[str, float]
    per_sequence: dict[str, dict[str, float]]
    columns: list[str]
    evaluated: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    convention: str = ""
    details: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """True when every sequence of the benchmark had results."""
        return not self.missing

    def status_line(self) -> str:
        """"complete" or a PARTIAL notice naming the missing sequences."""
        if self.complete:
            return f"complete: {len(self.evaluated)} sequences evaluated"
        shown = ", ".join(self.missing[:10]) + (" ..." if len(self.missing) > 10 else "")
        return (f"PARTIAL: {len(self.missing)} of {len(self.missing) + len(self.evaluated)} sequences have no "
                f"results ({shown}); these scores are not the benchmark's")

    def to_dict(self) -> dict:
        """JSON-ready dict (NaN / inf become null)."""
        out = asdict(self)
        out["complete"] = self.complete
        return json_ready(out)

    def write_json(self, path: str | Path) -> Path:
        """Write ``to_dict()`` as indented JSON; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path


def json_ready(value):
    """``value`` with numpy scalars/arrays turned into Python values and non-finite floats into None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.integer | int) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if math.isfinite(value) else None
    return value


def _fmt(value) -> str:
    if value is None or isinstance(value, float) and not math.isfinite(value):
        return "-"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return f"{float(value):.4f}" if abs(float(value)) < 10 else f"{float(value):.2f}"


def format_table(report: Report, max_rows: int = 60) -> str:
    """Plain-text table: one row per sequence (up to ``max_rows``), then the combined row."""
    header = ["sequence", *report.columns]
    rows = [[name, *(_fmt(scores.get(c)) for c in report.columns)]
            for name, scores in list(report.per_sequence.items())[:max_rows]]
    combined = ["COMBINED" if report.complete else "COMBINED (partial)",
                *(_fmt(report.summary.get(c)) for c in report.columns)]
    widths = [max(len(r[i]) for r in [header, combined, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    out = [f"{report.benchmark} ({report.task})  {report.status_line()}", line(header), "-" * len(line(header))]
    out += [line(r) for r in rows]
    if len(report.per_sequence) > max_rows:
        out.append(f"... {len(report.per_sequence) - max_rows} more sequences in the JSON file")
    out += ["-" * len(line(header)), line(combined)]
    if report.convention:
        out.append(report.convention)
    return "\n".join(out)
