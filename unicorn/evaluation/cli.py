"""``unicorn eval``: score a folder of tracker results on a benchmark; table, JSON file and plots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unicorn.data.datasets import BENCHMARKS
from unicorn.errors import UserError

LAYOUTS = """result layouts (--results DIR):
  SOT (lasot, got10k, trackingnet, otb)   DIR/<seq>.txt, one 'x,y,w,h' line per frame
                                          (or the GOT-10k toolkit's DIR/<seq>/<seq>_001.txt)
  MOT (mot15/16/17/20)                    DIR/<seq>.txt in MOTChallenge format
  MOTS (mots20, kitti-mots)               DIR/<seq>.txt, 'frame id class height width rle'
  VOS (davis2016, davis2017)              DIR/<seq>/<frame>.png palette PNGs
  BDD100K (bdd100k-box, bdd100k-seg)      a Scalabel json file, or a folder of them
dataset layouts (--data DIR): see datasets/README.md"""


def add_eval_parser(subparsers) -> None:
    """Add the ``eval`` command to an ``argparse`` sub-parser collection (``parser.add_subparsers()``).

    The parser's default ``func`` is ``run_eval``.
    """
    parser = subparsers.add_parser(
        "eval", help="score tracker results on a benchmark (table, JSON, plots)",
        description="Score a folder of tracker results against a benchmark's ground truth with the "
                    "conventions of its official toolkit.",
        epilog=LAYOUTS, formatter_class=argparse.RawDescriptionHelpFormatter)
    configure_parser(parser)
    parser.set_defaults(func=run_eval)


def configure_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``eval`` options to a parser (used by ``add_eval_parser`` and ``tools/eval.py``)."""
    parser.add_argument("--benchmark", required=True, type=str.lower, choices=sorted(BENCHMARKS),
                        metavar="NAME", help=f"one of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--results", required=True, type=Path, help="folder (or json file) with the results")
    parser.add_argument("--data", type=Path, default=None,
                        help="dataset folder (default: the benchmark's folder under datasets/)")
    parser.add_argument("--split", default=None, help="split to evaluate (default: the evaluation split)")
    parser.add_argument("--sot-convention", choices=("pytracking", "got10k", "trackingnet"), default=None,
                        help="SOT only: score with another toolkit's convention (default: the benchmark's own)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write eval_<benchmark>.json and plots (default: the results folder)")
    parser.add_argument("--name", default=None, help="tracker name for the plots (default: results folder name)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="score the sequences that have results when some are missing (marked PARTIAL)")
    parser.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    return parser


def run_eval(args: argparse.Namespace) -> int:
    """Run an evaluation from parsed arguments: print the table, write the JSON file and the plots.

    Args:
        args: ``benchmark``, ``results``, ``data``, ``out`` and optionally ``split``, ``name``,
            ``allow_partial``, ``no_plots``.

    Returns:
        0 on success.

    Raises:
        UserError: bad input (missing / malformed result file, named with its line), missing data,
            or missing results for some sequences without ``--allow-partial``.
    """
    from unicorn.evaluation.plots import plot_report
    from unicorn.evaluation.report import format_table
    from unicorn.evaluation.runners import evaluate_benchmark

    results = Path(args.results)
    report = evaluate_benchmark(args.benchmark, results, getattr(args, "data", None), getattr(args, "split", None),
                                getattr(args, "sot_convention", None))
    if report.missing and not getattr(args, "allow_partial", False):
        shown = ", ".join(report.missing[:10]) + (" ..." if len(report.missing) > 10 else "")
        raise UserError(f"results missing for {len(report.missing)} of {len(report.missing) + len(report.evaluated)} "
                        f"sequences of {args.benchmark} in '{results}' ({shown}); add them, or pass "
                        f"--allow-partial to score the others (the report is then marked PARTIAL)")
    unknown = report.details.get("unknown_results", [])
    if unknown:
        print(f"warning: {len(unknown)} result(s) in '{results}' name no sequence of {args.benchmark} and were not "
              f"scored ({', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}); check the sequence names",
              file=sys.stderr)
    out = getattr(args, "out", None)
    out = Path(out) if out is not None else (results if results.is_dir() else results.parent)
    print(format_table(report))
    json_path = report.write_json(out / f"eval_{report.benchmark}.json")
    print(f"wrote {json_path}")
    if not getattr(args, "no_plots", False):
        name = getattr(args, "name", None) or (results.name if results.is_dir() else results.stem)
        for path in plot_report(report, out, name):
            print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point (``python -m unicorn.evaluation.cli``); user errors exit with code 2."""
    parser = configure_parser(argparse.ArgumentParser(
        prog="unicorn eval", description="Score tracker results on a benchmark.", epilog=LAYOUTS,
        formatter_class=argparse.RawDescriptionHelpFormatter))
    try:
        return run_eval(parser.parse_args(argv))
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
