"""What importing costs: ``import unicorn`` and ``unicorn --help`` load no heavy module they do not need.

Checked by the modules loaded in a fresh interpreter (not by timing, which belongs in benchmarks).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_unicorn_loads_neither_torchvision_nor_dynamo():
    loaded = _modules_after("import unicorn")
    assert "torchvision" not in loaded and "torch._dynamo" not in loaded


def test_help_and_argument_errors_load_no_torch():
    loaded = _modules_after("import contextlib\nfrom unicorn.cli import main\n"
                            "with contextlib.redirect_stdout(None), contextlib.suppress(SystemExit):\n"
                            "    main(['--help'])\n"
                            "with contextlib.redirect_stderr(None):\n"
                            "    assert main(['track', 'missing.mp4']) == 2\n"
                            "    with contextlib.suppress(SystemExit):\n"
                            "        main(['track', 'x.mp4', '--size', '0x0'])")
    assert "torch" not in loaded and "cv2" not in loaded


def test_the_lazy_names_still_work():
    loaded = _modules_after("import unicorn\nassert callable(unicorn.Tracker) and callable(unicorn.load)\n"
                            "from unicorn import FrameResult, UserError")
    assert "torch" in loaded
