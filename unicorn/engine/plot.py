"""Loss-curve plot of a run (``metrics.csv`` -> PNG); also ``python -m unicorn.engine.plot RUN_DIR``."""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

TERMS = ("iou_loss", "l1_loss", "conf_loss", "cls_loss", "corr_loss", "condinst_loss")


def read_metrics(csv_path: str | Path) -> dict[str, list[float]]:
    """Columns of ``metrics.csv`` as float lists (blank cells become NaN)."""
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    return {k: [float(r[k]) if r.get(k) not in (None, "") else math.nan for r in rows] for k in rows[0]}


def plot_loss_curve(csv_path: str | Path, png_path: str | Path, title: str = "") -> Path:
    """Draw the total loss, the per-task loss terms and the learning rate against the optimizer step.

    Args:
        csv_path: a run's ``metrics.csv``.
        png_path: where to write the figure.
        title: figure title (default: the run folder's name).

    Returns:
        ``png_path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = read_metrics(csv_path)
    png_path = Path(png_path)
    if not cols:
        raise ValueError(f"{csv_path} has no rows yet; train for at least log_interval steps")
    steps = cols["step"]
    fig, (ax_total, ax_terms) = plt.subplots(1, 2, figsize=(12, 4.5))
    lines = ax_total.plot(steps, cols["loss"], color="tab:blue", label="total loss")
    ax_total.set_xlabel("optimizer step")
    ax_total.set_ylabel("loss (weighted total)")
    ax_total.set_title("total loss and learning rate")
    if "lr" in cols:
        ax_lr = ax_total.twinx()
        lines += ax_lr.plot(steps, cols["lr"], color="tab:gray", linestyle="--", label="learning rate")
        ax_lr.set_ylabel("learning rate")
    ax_total.legend(lines, [ln.get_label() for ln in lines], loc="best")
    for task in ("sot", "mot"):
        for term in TERMS:
            key = f"{term}_{task}"
            if key in cols and not all(math.isnan(v) for v in cols[key]):
                ax_terms.plot(steps, cols[key], label=key, linestyle="-" if task == "sot" else ":")
    ax_terms.set_xlabel("optimizer step")
    ax_terms.set_ylabel("loss term (before task weights)")
    ax_terms.set_title("loss terms per task")
    if ax_terms.lines:
        ax_terms.legend(fontsize=7, ncol=2, loc="best", framealpha=0.6)
    fig.suptitle(title or f"training loss: {Path(csv_path).parent.name}")
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return png_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="plot the loss curve of a training run")
    parser.add_argument("run_dir", help="run folder holding metrics.csv")
    parser.add_argument("--out", help="PNG path (default RUN_DIR/loss_curve.png)")
    args = parser.parse_args(argv)
    run = Path(args.run_dir)
    print(plot_loss_curve(run / "metrics.csv", Path(args.out) if args.out else run / "loss_curve.png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
