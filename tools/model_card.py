"""Every number of a model's model card, next to baselines measured on the same real data.

    python tools/model_card.py [--model unicorn-lite] [--data ../shared/data] [--out docs/model_card]
                               [--threads 2] [--device cpu] [--skip-baselines] [--skip-speed] [--quick]
                               [--frame-grids]

Data (read in place, never copied): ``<data>/davis2016_val`` (DAVIS-2016 val masks; JPEG frames of
blackswan and car-shadow) and ``<data>/mot17_mini/train/MOT17-XX-FRCNN`` (7 MOT17 sequences, the
first 4-8 frames of each; their length is the number of images present).

What it measures, with the project's own metric code (``unicorn/evaluation``; the card's parts are in
``unicorn/evaluation/card``):

* Speed: median seconds per tracker step (frames/s) at the model's input size over >= 20 real frames
  after a warm-up, ``--threads`` CPU threads, inference mode; SOT with one target and VOS with one
  object on DAVIS blackswan, MOT (detection included) on MOT17-04 looped. Each task runs in its own
  child process, whose peak resident memory (``VmHWM``) is reported.
* SOT (pytracking convention, percent): DAVIS blackswan and car-shadow with the bounding box of the
  mask as ground truth, and MOT17-mini pedestrians (``card.data.MOT17_SOT_RULE``), one pass per
  sequence with every target tracked at once.
* VOS: DAVIS-2016 J, F and J&F from the first-frame mask (first and last frames not scored).
* MOT: HOTA, DetA, AssA, MOTA, IDF1 on MOT17-mini (TrackEval metrics, MOT17 preprocessing), the
  person class only.
* Baselines: OpenCV CSRT and KCF (SOT; from ``opencv-contrib-python-headless``, in the ``eval`` extra), the
  first-frame box or mask held constant, optical-flow mask propagation (VOS), and for MOT the peer
  baseline "NanoDet-g + BoT-SORT": the very detections the model's tracker received (recorded while it
  ran) fed to BoT-SORT of roboflow's ``trackers`` package (``pip install trackers==2.6.1``, in the
  ``eval`` extra) with its default settings; left out with a note when it is not installed.

Writes ``results.json``, ``results.md`` and plots into ``--out`` and prints the table.
``--frame-grids`` also writes annotated frame grids; they show DAVIS / MOT17 images (research-only
licences), so keep them out of the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from unicorn.errors import UserError
from unicorn.evaluation.card.measure import QUICK_FRAMES, run_card
from unicorn.evaluation.card.render import render_markdown

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(os.environ.get("UNICORN_TEST_DATA") or REPO.parent / "shared" / "data")


def print_markdown(text: str) -> None:
    """Markdown in the terminal (rich when it is installed, else the plain text)."""
    try:
        from rich.console import Console
        from rich.markdown import Markdown
    except ImportError:
        print(text)
        return
    Console().print(Markdown(text))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="unicorn-lite", help="anything unicorn.load accepts (default unicorn-lite)")
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="shared data folder (default %(default)s)")
    parser.add_argument("--out", default=str(REPO / "docs" / "model_card"), help="output folder (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    parser.add_argument("--skip-baselines", action="store_true", help="only the model, no CSRT/KCF/held/flow")
    parser.add_argument("--skip-speed", action="store_true", help="no speed / memory measurements")
    parser.add_argument("--quick", action="store_true",
                        help=f"first {QUICK_FRAMES} frames of DAVIS blackswan and MOT17-05 only (for tests)")
    parser.add_argument("--frame-grids", action="store_true",
                        help="also write annotated frame grids (dataset images: keep them out of the repository)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    try:
        results = run_card(args.model, args.data, args.out, args.threads, args.device, args.skip_baselines,
                           args.skip_speed, args.quick, frame_grids=args.frame_grids)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print_markdown(render_markdown(results))
    print(f"wrote {len(results['files'])} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
