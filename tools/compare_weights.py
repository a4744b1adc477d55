"""Compare two safetensors weight files: identical bytes, or how far apart their tensors are.

    python tools/compare_weights.py runs/lite-repro/lite_mask/weights.safetensors \
        unicorn/assets/unicorn-lite.safetensors

Prints both sha256 sums, then either "bit-identical" or the tensors that differ with their largest
absolute difference. Exit status 0 when the files hold the same tensor names, shapes and values, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from safetensors.torch import load_file

from unicorn.hub import sha256_of


def compare(a: Path, b: Path) -> int:
    for path in (a, b):
        if not path.is_file():
            sys.exit(f"error: {path} not found (train first: make reproduce-lite)")
    ha, hb = sha256_of(a), sha256_of(b)
    print(f"{a}: sha256 {ha}\n{b}: sha256 {hb}")
    if ha == hb:
        print("bit-identical")
        return 0
    ta, tb = load_file(str(a)), load_file(str(b))
    if set(ta) != set(tb):
        print(f"different tensor names: {sorted(set(ta) ^ set(tb))[:10]}")
        return 1
    worst, differ = 0.0, []
    for name in sorted(ta):
        x, y = ta[name], tb[name]
        if x.shape != y.shape:
            print(f"{name}: shape {tuple(x.shape)} vs {tuple(y.shape)}")
            return 1
        diff = (x.double() - y.double()).abs().max().item() if x.numel() else 0.0
        if diff > 0:
            differ.append((diff, name))
            worst = max(worst, diff)
    if not differ:
        print("same tensors, values equal (the files differ only in metadata or layout)")
        return 0
    print(f"{len(differ)} of {len(ta)} tensors differ; largest absolute difference {worst:.3g}:")
    for diff, name in sorted(differ, reverse=True)[:10]:
        print(f"  {name}: {diff:.3g}")
    return 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args()
    sys.exit(compare(args.a, args.b))


if __name__ == "__main__":
    main()
