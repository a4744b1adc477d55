"""The card's markdown: the committed results.md is exactly what render_markdown makes of results.json."""

from __future__ import annotations

import json
from pathlib import Path

from unicorn.evaluation.card.render import number, render_markdown, table

DOCS = Path(__file__).resolve().parents[3] / "docs" / "unicorn-lite"


def test_committed_markdown_is_rendered_from_the_committed_json():
    results = json.loads((DOCS / "results.json").read_text())
    assert render_markdown(results) == (DOCS / "results.md").read_text()


def test_table_cells():
    assert number(None) == number(float("nan")) == "—"
    assert number(67.84) == "67.8" and number(3) == "3" and number(0.1, 2) == "0.10"
    assert table(["a", "b"], [["x", 1.25]]) == ["| a | b |", "|---|---|", "| x | 1.2 |"]
