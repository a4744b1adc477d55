"""Fetch the real imagery that unicorn-lite's generated training videos are composited from.

Backgrounds: photographs and wallpapers from Debian wallpaper packages (downloaded with
``apt-get download`` and unpacked with ``dpkg-deb -x``; no root needed), resized so that the
longer side is at most 1280 pixels. Objects: the glyphs of Debian's Noto Color Emoji font
(``apt-get install fonts-noto-color-emoji``) rendered as RGBA cut-outs with exact alpha.

    python tools/fetch_imagery.py --out datasets/imagery

writes ``datasets/imagery/backgrounds/<package>/*.jpg``, ``datasets/imagery/cutouts/*.png`` (emoji),
``datasets/imagery/patches/*.png`` (blob-shaped pieces of the photographs, with soft alpha) and
``datasets/imagery/SOURCES.txt`` (each package's version and licence lines).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from unicorn.data.synthetic_appearance import render_font_cutouts

# Debian packages whose images are photographs or painted scenes (licences in SOURCES.txt:
# CC-BY-SA 3.0/4.0, GPL-2+, LGPL-3 per file, as each package's copyright file states)
PACKAGES = ("mate-backgrounds", "ukui-wallpapers", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04",
            "plasma-workspace-wallpapers")
NOTO = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
# people, animals, plants, food, vehicles, sport and objects
EMOJI_RANGES = ((0x1F400, 0x1F43F), (0x1F330, 0x1F37F), (0x1F380, 0x1F393), (0x1F3A0, 0x1F3CA),
                (0x1F466, 0x1F487), (0x1F4A0, 0x1F4FC), (0x1F680, 0x1F6C5), (0x1F950, 0x1F9C0))
MAX_SIDE = 1280
MIN_SIDE = 480


def _distinct_images(root: Path) -> list[Path]:
    """The images under ``root``, keeping only the largest of the per-resolution copies of one wallpaper
    (files named like ``1920x1080.jpg`` in one folder)."""
    best: dict[Path, tuple[int, Path]] = {}
    out = []
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png") or "screenshot" in path.name:
            continue
        m = re.fullmatch(r"(\d+)x(\d+)", path.stem)
        if m is None:
            out.append(path)
        elif int(m[1]) * int(m[2]) > best.get(path.parent, (0, path))[0]:
            best[path.parent] = (int(m[1]) * int(m[2]), path)
    return out + [p for _, p in best.values()]


def fetch_backgrounds(out: Path, packages: tuple[str, ...]) -> list[str]:
    """Download, unpack and resize the wallpapers of ``packages``; returns SOURCES.txt lines."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        sys.exit("error: apt-get and dpkg-deb are needed (a Debian or Ubuntu machine)")
    sources = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for pkg in tqdm(packages, desc="packages"):
            run = subprocess.run(["apt-get", "download", pkg], cwd=tmp, capture_output=True, text=True)
            debs = sorted(tmp.glob(f"{pkg}_*.deb"))
            if run.returncode != 0 or not debs:
                print(f"warning: could not download {pkg}: {run.stderr.strip()[:200]}", file=sys.stderr)
                continue
            root = tmp / pkg
            subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(root)], check=True)
            written = 0
            for path in _distinct_images(root):
                img = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if img is None or min(img.shape[:2]) < MIN_SIDE:
                    continue
                scale = MAX_SIDE / max(img.shape[:2])
                if scale < 1:
                    img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                name = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(path.relative_to(root)).removeprefix("usr/share/"))
                (out / pkg).mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(out / pkg / (Path(name).stem + ".jpg")), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
                written += 1
            copyright_files = list(root.rglob("copyright"))
            licences = sorted({m.strip() for f in copyright_files for m in re.findall(r"^License:(.*)$",
                               f.read_text(errors="replace"), re.M)})
            sources.append(f"{debs[0].name}: {written} images; licences: {', '.join(licences) or 'see package'}")
    return sources


def make_patch_cutouts(backgrounds: Path, out: Path, count: int = 800, seed: int = 0) -> int:
    """Objects cut from the photographs: a random crop (40-200 px) under a random soft blob-shaped alpha.

    They teach appearance matching on real textures (the emoji are flat and cartoon-like).
    """
    rng = np.random.default_rng(seed)
    paths = sorted(backgrounds.rglob("*.jpg"))
    if not paths:
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for i in tqdm(range(count), desc="photo patches"):
        img = cv2.imread(str(paths[int(rng.integers(len(paths)))]))
        h, w = int(rng.integers(40, 200)), int(rng.integers(40, 200))
        y, x = int(rng.integers(0, img.shape[0] - h)), int(rng.integers(0, img.shape[1] - w))
        noise = cv2.resize(rng.random((4, 4)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ellipse = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
        field = 1.0 - ellipse + 0.6 * (noise - 0.5)  # a wobbly ellipse
        alpha = np.clip((field - 0.15) * 8, 0, 1)
        alpha = cv2.GaussianBlur(alpha, (0, 0), 1.0)
        cv2.imwrite(str(out / f"patch{i:04d}.png"), cv2.merge([*cv2.split(img[y:y + h, x:x + w]),
                                                              (alpha * 255).astype(np.uint8)]))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("datasets/imagery"))
    parser.add_argument("--font", type=Path, default=NOTO, help="colour emoji font (default: %(default)s)")
    args = parser.parse_args()
    bg_dir, cut_dir = args.out / "backgrounds", args.out / "cutouts"
    sources = fetch_backgrounds(bg_dir, PACKAGES)
    if not args.font.is_file():
        sys.exit(f"error: font {args.font} not found: apt-get install fonts-noto-color-emoji")
    cut_dir.mkdir(parents=True, exist_ok=True)
    chars = [chr(c) for lo, hi in EMOJI_RANGES for c in range(lo, hi + 1)]
    for ch in tqdm(chars, desc="emoji cut-outs"):
        for cut in render_font_cutouts(args.font, [ch]):  # nothing for a code point the font lacks
            cv2.imwrite(str(cut_dir / f"{ord(ch):x}.png"), cv2.merge([*cv2.split(cut.image), cut.alpha]))
    sources.append(f"{args.font}: {len(list(cut_dir.glob('*.png')))} glyphs; licence: SIL OFL 1.1")
    n = make_patch_cutouts(bg_dir, args.out / "patches")
    sources.append(f"patches/: {n} blob-shaped cut-outs of the background photographs above")
    (args.out / "SOURCES.txt").write_text("\n".join(sources) + "\n")
    print("\n".join(sources))
    print(f"backgrounds: {len(list(bg_dir.rglob('*.jpg')))} images in {bg_dir}; cut-outs in {cut_dir}")


if __name__ == "__main__":
    main()
