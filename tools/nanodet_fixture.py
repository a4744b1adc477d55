"""Pack the raw outputs dumped by ``tools/nanodet_reference.js`` into ``tests/fixtures/nanodet_reference.npz``.

    NODE_PATH=<scratch>/node_modules node tools/nanodet_reference.js <scratch>/package/models /tmp/nanodet_ref
    python tools/nanodet_fixture.py /tmp/nanodet_ref [--out tests/fixtures/nanodet_reference.npz]

The fixture keeps, per output level, a regular subset of positions (every row at stride 32, every
2nd at 16, every 8th at 8; all 80 + 44 values of each kept row) and the float64 statistics of the
full tensors (sum, sum of absolute values, min, max), about 0.4 MB in all.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

# output name in the TF.js graph -> (fixture key, stride, keep every n-th position)
OUTPUTS = {"Identity": ("cls_s8", 8, 8), "Identity_3": ("reg_s8", 8, 8),
           "Identity_1": ("cls_s16", 16, 2), "Identity_4": ("reg_s16", 16, 2),
           "Identity_2": ("cls_s32", 32, 1), "Identity_5": ("reg_s32", 32, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump", help="OUT_DIR of tools/nanodet_reference.js (run without an input file)")
    parser.add_argument("--out", default="tests/fixtures/nanodet_reference.npz")
    args = parser.parse_args()
    dump = Path(args.dump)
    summary = json.loads((dump / "outputs.json").read_text())
    arrays: dict[str, np.ndarray] = {"tfjs_version": np.array(summary["tfjs"])}
    for name, info in summary["outputs"].items():
        key, _, every = OUTPUTS[name]
        values = np.fromfile(dump / info["file"], "<f4").reshape(info["shape"])[0]
        rows = np.arange(0, len(values), every)
        arrays[key] = values[rows]
        arrays[f"{key}_rows"] = rows.astype(np.int32)
        arrays[f"{key}_stats"] = np.array([info["sum"], info["abs_sum"], info["min"], info["max"]], np.float64)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    print(f"{len(OUTPUTS)} outputs -> {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
