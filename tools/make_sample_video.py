"""Write the bundled sample clip ``unicorn/assets/sample.mp4`` (generated here, no third-party content).

Three textured objects move over a textured, slowly panning background; the first object's
box on frame 0 is printed (it is the box the README's SOT example uses).

    python tools/make_sample_video.py [--out unicorn/assets/sample.mp4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

H, W, FRAMES, FPS = 240, 320, 48, 12


def background(rng: np.random.Generator) -> np.ndarray:
    noise = rng.random((H, W * 2, 3)).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 9)
    grad = np.linspace(60, 190, W * 2, dtype=np.float32)[None, :, None]
    return np.clip(grad + (smooth - 0.5) * 400, 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="unicorn/assets/sample.mp4")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    bg = background(rng)
    objects = [  # (colour BGR, start x, y, velocity x, y, half width, half height)
        ((40, 40, 220), 60.0, 120.0, 3.5, 0.6, 18, 34),
        ((220, 90, 30), 250.0, 80.0, -2.5, 1.0, 26, 20),
        ((40, 200, 60), 160.0, 190.0, 1.0, -1.8, 14, 14),
    ]
    out = Path(args.out)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for t in range(FRAMES):
        pan = int(t * 2)
        frame = bg[:, pan:pan + W].copy()
        for colour, x, y, vx, vy, hw, hh in objects:
            cx, cy = int(x + vx * t), int(y + vy * t + 6 * np.sin(t / 5))
            cv2.ellipse(frame, (cx, cy), (hw, hh), 0, 0, 360, colour, -1, cv2.LINE_AA)
            cv2.ellipse(frame, (cx, cy - hh // 2), (hw // 2, hh // 4), 0, 0, 360, (250, 250, 250), -1, cv2.LINE_AA)
        writer.write(frame)
    writer.release()
    _, x, y, _, _, hw, hh = objects[0]
    box = f"{x - hw:.0f},{y - hh:.0f},{2 * hw},{2 * hh}"
    print(f"wrote {out} ({FRAMES} frames {W}x{H}); first object box x,y,w,h = {box}")


if __name__ == "__main__":
    main()
