"""The model card's classical baselines: optical-flow masks and OpenCV's CSRT / KCF on moving textures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unicorn.errors import UserError
from unicorn.evaluation import baselines

needs_contrib = pytest.mark.skipif(baselines.opencv_trackers_missing() is not None,
                                   reason="the cv2 in use has no CSRT / KCF (opencv-contrib-python-headless)")


def texture(h: int = 96, w: int = 128, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, (h, w), dtype=np.uint8), (0, 0), 2)


def test_flow_propagation_follows_a_moving_texture():
    frames = [cv2.cvtColor(np.roll(texture(), 2 * t, axis=1), cv2.COLOR_GRAY2BGR) for t in range(3)]
    mask = np.zeros((96, 128), bool)
    mask[30:60, 40:70] = True
    prop = baselines.FlowMaskPropagation()
    prop.init(frames[0], mask)
    moved = [prop.step(f) for f in frames[1:]]
    expected = np.roll(mask, 4, axis=1)
    assert np.count_nonzero(moved[-1] & expected) / np.count_nonzero(moved[-1] | expected) > 0.8


def test_held_boxes_and_masks_repeat_the_first_frame():
    np.testing.assert_array_equal(baselines.held_boxes([1, 2, 3, 4], 3), [[1, 2, 3, 4]] * 3)
    masks = baselines.held_masks(np.eye(3, dtype=np.uint8), 2)
    assert len(masks) == 2 and masks[1].dtype == bool and masks[1].sum() == 3


def test_boxes_are_whole_pixels_inside_the_image():
    assert baselines._int_box([-3.5, 2.2, 10.1, 5.0], (20, 30)) == (0, 2, 7, 6)
    assert baselines._int_box([29.5, 19.5, 4, 4], (20, 30)) == (29, 19, 1, 1)


@needs_contrib
@pytest.mark.parametrize("kind", ["csrt", "kcf"])
def test_opencv_trackers_follow_a_moving_patch(kind, tmp_path):
    background, patch = texture(seed=1), texture(32, 32, seed=2)
    paths = []
    for t in range(6):  # a 32x32 textured patch moving 3 px right and 1 px down per frame
        frame = background.copy()
        frame[20 + t:52 + t, 30 + 3 * t:62 + 3 * t] = np.clip(patch.astype(int) + 60, 0, 255)
        paths.append(tmp_path / f"{t}.png")
        cv2.imwrite(str(paths[-1]), cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    ticks = []
    out = baselines.run_opencv_trackers(kind, [{"name": "toy", "frames": paths, "boxes": [[30, 20, 32, 32]]}],
                                        threads=1, progress=lambda: ticks.append(1))
    boxes = out["toy"]
    assert boxes.shape == (1, 6, 4) and len(ticks) == 6
    np.testing.assert_array_equal(boxes[0, 0], [30, 20, 32, 32])
    # the patch moved by (15, 5); KCF picks up the motion one frame late (it ends at x 42 here, CSRT at 46)
    np.testing.assert_allclose(boxes[0, -1, :2], [45, 25], atol=3.5)
    assert (np.diff(boxes[0, 1:, 0]) > 0).all()


def test_a_cv2_without_contrib_gets_one_line_saying_what_to_install(monkeypatch):
    monkeypatch.setattr(baselines, "_constructor", lambda kind: None)
    message = baselines.opencv_trackers_missing()
    assert "TrackerCSRT / TrackerKCF" in message and "\n" not in message
    assert f"opencv-contrib-python-headless=={cv2.__version__}.*" in message
    with pytest.raises(UserError, match="contrib build"):
        baselines.track_opencv("csrt", [], np.zeros((1, 4)))
