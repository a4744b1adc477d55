"""Generated videos: deterministic, labels exactly match what is drawn, and the hard cases are there."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from unicorn.data.synthetic import make_sequence
from unicorn.data.synthetic_appearance import ImageAppearance, load_rgba_cutouts, render_font_cutouts
from unicorn.errors import UserError

SIZE = (96, 160)


@pytest.fixture(scope="module")
def seq():
    return make_sequence(3, num_frames=16, size_hw=SIZE, num_objects=4, num_distractors=2, num_occluders=2)


def test_same_seed_same_video_other_seed_other_video():
    a, b = (make_sequence((5, 1), num_frames=6, size_hw=SIZE) for _ in range(2))
    c = make_sequence((5, 2), num_frames=6, size_hw=SIZE)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames(), b.frames()))
    assert np.array_equal(a.boxes_xywh, b.boxes_xywh) and np.array_equal(a.masks(4), b.masks(4))
    assert not np.array_equal(a.frame(0), c.frame(0))
    assert a.frame(0).shape == (*SIZE, 3) and a.frame(0).dtype == np.uint8


def test_box_is_tight_box_of_visible_mask(seq):
    checked = 0
    for t in range(seq.num_frames):
        masks = seq.masks(t)
        assert masks.sum(axis=0).max() <= 1  # visible masks never overlap
        for k in range(len(seq.track_ids)):
            ys, xs = np.nonzero(masks[k])
            if not seq.visible[t, k]:
                assert len(xs) < seq.min_visible_pixels
                continue
            x, y, w, h = seq.boxes_xywh[t, k]
            assert (x, y, x + w, y + h) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
            checked += 1
    assert checked > 40


def test_masks_cover_the_drawn_objects(seq):
    # where a mask is set, the pixel differs from the background behind it (an object is drawn there)
    t = 5
    cam = seq.camera_xy[t]
    bg = seq.background[cam[1]:cam[1] + SIZE[0], cam[0]:cam[0] + SIZE[1]].astype(int)
    diff = np.abs(seq.frame(t).astype(int) - bg).sum(axis=2)
    fg = seq.masks(t).any(axis=0)
    assert (diff[fg] > 0).mean() > 0.9 and (diff[~fg] > 0).mean() < (diff[fg] > 0).mean()


def test_occlusion_distractors_scale_and_camera_motion(seq):
    vis, boxes = seq.visibility, seq.boxes_xywh
    h, w = SIZE
    inside = (boxes[..., 0] > 0) & (boxes[..., 1] > 0) & (boxes[..., :2] + boxes[..., 2:]).__lt__([w, h]).all(-1)
    assert np.any(inside & (vis > 0) & (vis < 0.9)), "an object inside the frame is partly hidden"
    groups = seq.groups.tolist()
    shared = [g for g in set(groups) if groups.count(g) > 1]
    assert shared, "a look-alike distractor exists"
    twins = [k for k in range(len(groups)) if groups[k] == shared[0]]
    a, b = (seq.cutouts[k] for k in twins[:2])
    assert np.array_equal(a.alpha, b.alpha) and seq.classes[twins[0]] == seq.classes[twins[1]]
    assert np.abs(a.image.astype(int) - b.image.astype(int)).mean() < 40
    assert seq.scales.max(axis=0).max() / seq.scales.min(axis=0).min() > 1.2
    assert np.ptp(seq.camera_xy, axis=0).max() > 2


def _write_cutouts(folder: Path) -> None:
    folder.mkdir()
    rgba = np.zeros((40, 30, 4), np.uint8)
    rgba[..., 2] = 255  # pure red (BGR)
    alpha = np.zeros((40, 30), np.uint8)
    cv2.circle(alpha, (15, 20), 12, 255, -1)
    rgba[..., 3] = alpha
    cv2.imwrite(str(folder / "red.png"), rgba)
    cv2.imwrite(str(folder / "no_alpha.png"), rgba[..., :3])


def test_real_imagery_hook(tmp_path):
    _write_cutouts(tmp_path / "cut")
    (tmp_path / "bg").mkdir()
    cv2.imwrite(str(tmp_path / "bg" / "grey.jpg"), np.full((200, 300, 3), 60, np.uint8))
    with pytest.warns(UserWarning, match="skipped 1 PNGs without an alpha channel"):
        appearance = ImageAppearance(backgrounds=tmp_path / "bg", cutouts=tmp_path / "cut")
    seq = make_sequence(0, num_frames=4, size_hw=SIZE, num_objects=2, num_distractors=0, num_occluders=0,
                        appearance=appearance)
    frame, masks = seq.frame(1), seq.masks(1)
    obj = masks.any(axis=0)
    near = cv2.dilate(obj.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0  # soft cut-out edges blend
    assert np.abs(frame[~near].astype(int) - 60).max() <= 3  # the background image
    red = frame[obj]
    assert (red[:, 2] > 200).mean() > 0.9 and (red[:, :2] < 60).mean() > 0.9  # the cut-out, where the mask is
    with pytest.raises(UserError, match="no RGBA cut-out"):
        load_rgba_cutouts(tmp_path / "bg")


def test_emoji_font_cutouts():
    font = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
    if not font.is_file():
        pytest.skip("fonts-noto-color-emoji is not installed")
    cuts = render_font_cutouts(font, ["\N{DOG FACE}", "\N{RED APPLE}"])
    assert len(cuts) == 2 and all(c.alpha.max() == 255 and c.image.shape[:2] == c.alpha.shape for c in cuts)
