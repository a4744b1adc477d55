"""Detector-assisted SOT boxes, worked by hand with a fake detector, and the unicorn-lite default."""

from __future__ import annotations

import numpy as np
import pytest

from unicorn.trackers.snap import DETECT_SIDE, DetectorSnap

FRAME = np.zeros((200, 200, 3), np.uint8)
PROMPT = np.array([50.0, 50.0, 100.0, 150.0])  # 50 x 100 pixels
# The detector sees 2x the target's longer side (200 pixels): the whole 200x200 frame, so the 320-pixel
# region is the frame enlarged 1.6 times from the origin.
SCALE = DETECT_SIDE / 200


def fake(rows):
    """A detector answering ``rows`` (frame-pixel xyxy box, class) in the region's input pixels."""
    seen = []

    def detect(image):
        seen.append(image.shape)
        boxes = np.array([r[0] for r in rows], np.float64).reshape(-1, 4) * SCALE
        return boxes, np.ones(len(rows), np.float32), np.array([r[1] for r in rows], np.int64)

    detect.seen = seen
    return detect


def test_the_prompt_names_the_class_and_the_offsets():
    det = fake([((52, 48, 98, 152), 0), ((0, 0, 20, 20), 2)])
    target = DetectorSnap(0.2, 0.3, detector=det).learn(FRAME, PROMPT)
    assert det.seen == [(DETECT_SIDE, DETECT_SIDE, 3)]
    assert target.class_id == 0
    # (prompt - detection) in detection sizes (46 x 104)
    np.testing.assert_allclose(target.offsets, [-2 / 46, 2 / 104, 2 / 46, -2 / 104], atol=1e-9)


def test_a_prompt_no_detection_overlaps_by_half_is_never_snapped():
    # IoU of (75, 50, 125, 150) with the prompt: 25*100 / (2*5000 - 2500) = 1/3 < 0.5
    assert DetectorSnap(0.2, 0.3, detector=fake([((75, 50, 125, 150), 0)])).learn(FRAME, PROMPT) is None
    assert DetectorSnap(0.2, 0.3, detector=fake([])).learn(FRAME, PROMPT) is None


def test_later_frames_take_the_best_overlapping_detection_of_the_class():
    target = DetectorSnap(0.2, 0.3, detector=fake([((52, 48, 98, 152), 0)])).learn(FRAME, PROMPT)
    propagated = np.array([60.0, 50.0, 110.0, 150.0])
    rows = [((60, 52, 110, 152), 2),  # the best overlap, but another class
            ((64, 50, 114, 154), 0),  # IoU 46*100 / (5000 + 5200 - 4600) = 0.82
            ((90, 50, 140, 150), 0)]  # IoU 20*100 / (10000 - 2000) = 0.25
    box = DetectorSnap(0.2, 0.3, detector=fake(rows)).snap(FRAME, propagated, target)
    np.testing.assert_allclose(box, np.array([64, 50, 114, 154]) + target.offsets * [50, 104, 50, 104], atol=1e-6)


def test_no_detection_of_the_class_overlapping_enough_keeps_the_propagated_box():
    target = DetectorSnap(0.2, 0.3, detector=fake([((52, 48, 98, 152), 0)])).learn(FRAME, PROMPT)
    propagated = np.array([60.0, 50.0, 110.0, 150.0])
    # IoU with the propagated box: 10*100 / (10000 - 1000) = 0.11 < 0.2
    far = DetectorSnap(0.2, 0.3, detector=fake([((100, 50, 150, 150), 0)]))
    assert far.snap(FRAME, propagated, target) is None
    assert DetectorSnap(0.2, 0.3, detector=fake([((60, 50, 110, 150), 1)])).snap(FRAME, propagated, target) is None


@pytest.mark.parametrize("settings, expected", [({}, "nanodet-g"), ({"snap": "none"}, "none")])
def test_unicorn_lite_snaps_unless_told_not_to(settings, expected):
    import unicorn

    model = unicorn.load("unicorn-lite")
    tracker = unicorn.Tracker(model, "sot", **settings)
    assert tracker.config.snap == expected
    assert (tracker.snapper is not None) == (expected != "none")
