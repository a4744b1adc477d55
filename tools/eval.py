"""Score tracker results on a benchmark: ``python tools/eval.py --benchmark NAME --results DIR [--data DIR]``.

The same as ``unicorn eval``; see ``unicorn/evaluation/cli.py``.
"""

import sys

from unicorn.evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
