"""Render glyphs of a colour font (default: Debian's Noto Color Emoji) into a folder of RGBA PNG cut-outs
for the synthetic training videos (``ImageAppearance(cutouts=DIR)``).

    apt-get install fonts-noto-color-emoji
    python tools/make_cutouts.py --out datasets/cutouts
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from unicorn.data.synthetic_appearance import render_font_cutouts

NOTO = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
# animals, food, vehicles and objects: blocks of the Unicode emoji range
DEFAULT_RANGES = ((0x1F400, 0x1F43F), (0x1F345, 0x1F37F), (0x1F680, 0x1F6A4), (0x1F380, 0x1F393))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", default=NOTO, help="a colour font file (default: %(default)s)")
    parser.add_argument("--size", type=int, default=109, help="font size in pixels (Noto Color Emoji: 109)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write <codepoint>.png into")
    args = parser.parse_args()
    chars = [chr(c) for lo, hi in DEFAULT_RANGES for c in range(lo, hi + 1)]
    args.out.mkdir(parents=True, exist_ok=True)
    for ch in chars:
        for cut in render_font_cutouts(args.font, [ch], args.size):  # nothing for a glyph the font lacks
            cv2.imwrite(str(args.out / f"{ord(ch):x}.png"), np.dstack([cut.image, cut.alpha]))
    print(f"wrote {len(list(args.out.glob('*.png')))} cut-outs to {args.out}")


if __name__ == "__main__":
    main()
