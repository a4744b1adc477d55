"""Package a trained unicorn-lite run as the bundled default model.

Checks that the run's float16 weights load strictly into the ``unicorn-lite`` variant and fit the
30 MB budget, then copies them to ``unicorn/assets/unicorn-lite.safetensors`` and the runs' configs,
training logs and loss curves to ``docs/unicorn-lite/``.

    python tools/bundle_lite.py runs/lite/lite_box runs/lite/lite_mask [--overwrite]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
from safetensors import safe_open

import unicorn
from unicorn.errors import UserError
from unicorn.hub import BUNDLED, sha256_of

MAX_MB = 30.0
DOCS = Path("docs/unicorn-lite")


def check_weights(path: Path) -> None:
    """The file loads as unicorn-lite, holds float16 tensors only, and is at most ``MAX_MB``."""
    if not path.is_file():
        raise UserError(f"{path} not found: train first (make train-lite) or pass the run folders")
    size_mb = path.stat().st_size / 2**20
    if size_mb > MAX_MB:
        raise UserError(f"{path} is {size_mb:.1f} MB, above the {MAX_MB:.0f} MB budget (export with export_half)")
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata() or {}
        dtypes = {fh.get_slice(k).get_dtype() for k in fh.keys()}
    floats = dtypes - {"I64", "I32", "U8", "BOOL"}
    if floats != {"F16"}:
        raise UserError(f"{path} holds {sorted(floats)} tensors; the bundled model is stored in float16")
    config = json.loads(meta.get("unicorn_config", "{}"))
    if config.get("backbone") != "efficientnet_lite0":
        raise UserError(f"{path} is not a unicorn-lite checkpoint (backbone {config.get('backbone')!r})")
    model = unicorn.load(str(path))  # strict load
    params = sum(p.numel() for p in model.parameters())
    print(f"{path}: {size_mb:.2f} MB float16, {params / 1e6:.2f} M parameters, loads strictly")
    del model
    torch.cuda.empty_cache() if torch.cuda.is_available() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders in training order; the last one's "
                        "weights.safetensors is bundled")
    parser.add_argument("--overwrite", action="store_true", help="replace an already bundled file")
    args = parser.parse_args()
    try:
        weights = args.runs[-1] / "weights.safetensors"
        check_weights(weights)
        target = BUNDLED["unicorn-lite"]
        if target.exists() and not args.overwrite:
            raise UserError(f"{target} exists; pass --overwrite to replace it")
        shutil.copyfile(weights, target)
        DOCS.mkdir(parents=True, exist_ok=True)
        for run in args.runs:
            for name in ("config.yaml", "metrics.csv", "loss_curve.png"):
                if (run / name).is_file():
                    shutil.copyfile(run / name, DOCS / f"{run.name}_{name}")
        print(f"bundled {target} (sha256 {sha256_of(target)}); logs and curves in {DOCS}/")
    except UserError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main()
