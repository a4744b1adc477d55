"""Correction and re-propagation: a tracker set on the wrong place follows the user's box from the
corrected frame on, keeps that frame as an extra reference, and frames before it do not change."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import unicorn
from unicorn.data.video_io import open_video
from unicorn.errors import UserError
from unicorn.geometry import filled_box_masks, xywh_to_xyxy

from ..demo.videos import make_video, square_box

SIZE, N, K = (240, 320), 10, 4  # clip (H, W), frames, the corrected frame
WRONG = (200, 20, 50, 50)  # a first box on the background: without a correction the square is never found


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = make_video(tmp_path_factory.mktemp("clip") / "square.mp4", N, SIZE)
    with open_video(path) as video:
        return path, list(video)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return unicorn.load("unicorn-lite", device="cpu", threads=1)


def truth(k: int) -> np.ndarray:
    return xywh_to_xyxy(np.array([square_box(k, SIZE)], np.float64))[0]


def iou(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def run(tracker, frames, init, fix=None, ids=None):
    out = []
    for k, frame in enumerate(frames):
        if k == 0:
            out.append(tracker.init(frame, **init))
        elif k == K and fix is not None:
            out.append(tracker.correct(frame, **fix, ids=ids))
        else:
            out.append(tracker.step(frame))
    return out


def references(tracker) -> int:
    """How many reference (prompt) frames the tracker keeps for target 1."""
    name = type(tracker).__name__
    if name == "SearchSOTTracker":
        return len(tracker._targets[1].prompts)
    if name == "PropagationTracker":
        return len(tracker.memory.prompts)
    if name == "SOTTracker":
        return sum(1 in r.ids for r in tracker._refs)
    return sum(1 in r.object_ids for r in tracker._refs)


# (task, settings, tracker class, least IoU on the next frame, least mean IoU over the frames after K)
SOT_CASES = [("sot", {}, "SearchSOTTracker", 0.8, 0.8),
             ("sot", {"method": "propagation", "search_context": 0}, "PropagationTracker", 0.5, 0.4),
             ("sot", {"method": "head"}, "SOTTracker", 0.8, 0.5)]


@pytest.mark.parametrize("task, settings, name, next_iou, mean_iou", SOT_CASES)
def test_sot_follows_the_corrected_box(clip, model, task, settings, name, next_iou, mean_iou):
    _, frames = clip
    fix = square_box(K, SIZE)
    tracker = unicorn.Tracker(model, task, **settings)
    assert type(tracker).__name__ == name
    plain = run(unicorn.Tracker(model, task, **settings), frames, {"boxes": [WRONG]})
    fixed = run(tracker, frames, {"boxes": [WRONG]}, {"boxes": [fix]})
    for a, b in zip(plain[:K], fixed[:K]):  # before the correction: the same run
        np.testing.assert_array_equal(a.boxes_xyxy, b.boxes_xyxy)
    np.testing.assert_allclose(fixed[K].boxes_xyxy[0], truth(K), atol=1e-4)
    assert fixed[K].scores[0] == 1.0 and fixed[K].states[0] == "tracked"
    after = [iou(fixed[k].boxes_xyxy[0], truth(k)) for k in range(K + 1, N)]
    assert after[0] >= next_iou and np.mean(after) >= mean_iou, after
    assert max(iou(plain[k].boxes_xyxy[0], truth(k)) for k in range(N)) < 0.1  # the wrong start never finds it
    assert references(tracker) == 2  # the first reference and the corrected frame


@pytest.mark.parametrize("settings", [{}, {"method": "head"}])
def test_other_targets_tracked_as_step_would(clip, model, settings):
    _, frames = clip
    init = {"boxes": [WRONG, square_box(0, SIZE)]}
    plain = run(unicorn.Tracker(model, "sot", **settings), frames[:K + 1], init)
    fixed = run(unicorn.Tracker(model, "sot", **settings), frames[:K + 1], init, {"boxes": [(10, 10, 30, 30)]}, [1])
    np.testing.assert_array_equal(fixed[K].track_ids, [1, 2])
    np.testing.assert_allclose(fixed[K].boxes_xyxy[0], [10, 10, 40, 40])
    np.testing.assert_array_equal(fixed[K].boxes_xyxy[1], plain[K].boxes_xyxy[1])
    assert fixed[K].scores[1] == plain[K].scores[1]


@pytest.mark.parametrize("settings, name", [({}, "PropagationTracker"), ({"method": "head"}, "VOSTracker")])
def test_vos_mask_correction(clip, model, settings, name):
    _, frames = clip
    mask = filled_box_masks(np.array([square_box(K, SIZE)]), SIZE)
    tracker = unicorn.Tracker(model, "vos", **settings)
    assert type(tracker).__name__ == name
    plain = run(unicorn.Tracker(model, "vos", **settings), frames, {"boxes": [WRONG]})
    fixed = run(tracker, frames, {"boxes": [WRONG]}, {"masks": mask})
    for a, b in zip(plain[:K], fixed[:K]):
        np.testing.assert_array_equal(a.masks, b.masks)
    np.testing.assert_array_equal(fixed[K].masks, mask)
    assert fixed[K].scores[0] == 1.0 and fixed[K].states[0] == "tracked"
    assert references(tracker) == 2
    if name == "PropagationTracker":  # unicorn-lite's VOS follows the square from the corrected mask on
        truth_masks = [filled_box_masks(np.array([square_box(k, SIZE)]), SIZE)[0] for k in range(K + 1, N)]
        ious = [(m & t).sum() / (m | t).sum() for m, t in zip((r.masks[0] for r in fixed[K + 1:]), truth_masks)]
        assert min(ious) > 0.5, ious


@pytest.mark.parametrize("task, settings", [("sot", {}), ("sot", {"method": "head"}), ("vos", {}),
                                            ("vos", {"method": "head"})])
def test_unknown_ids_and_correct_before_init_are_refused(clip, model, task, settings):
    _, frames = clip
    tracker = unicorn.Tracker(model, task, **settings)
    with pytest.raises(UserError, match="before step"):
        tracker.correct(frames[0], boxes=[WRONG])
    tracker.init(frames[0], boxes=[WRONG])
    with pytest.raises(UserError, match=r"target ids \[7\]: they are not tracked \(tracked: \[1\]\)"):
        tracker.correct(frames[1], boxes=[WRONG], ids=[7])
    with pytest.raises(UserError, match="2 corrections for 1 tracked targets"):
        tracker.correct(frames[1], boxes=[WRONG, WRONG])


def test_track_to_folder_corrections(clip, model, tmp_path):
    path, _ = clip
    fix = square_box(K, SIZE)
    common = dict(task="sot", model=model, boxes=[WRONG], formats=("pytracking",))
    plain = unicorn.track_to_folder(path, tmp_path / "plain", **common)
    fixed = unicorn.track_to_folder(path, tmp_path / "fixed", corrections={K: fix}, **common)
    a = plain.files["pytracking"].read_text().splitlines()
    b = fixed.files["pytracking"].read_text().splitlines()
    assert len(a) == len(b) == N and a[:K] == b[:K]
    assert b[K].split("\t") == [str(v) for v in fix]
    assert a[K] != b[K]
    summary = json.loads((tmp_path / "fixed" / "summary.json").read_text())
    assert summary["corrections"] == {str(K): {"1": {"box_xywh": [float(v) for v in fix]}}}
    assert "corrections" not in plain.summary


@pytest.mark.parametrize("corrections, expected", [
    ({N: (1, 1, 5, 5)}, f"correction at frame {N}, but the run has frames 0 to {N - 1}"),
    ({0: (1, 1, 5, 5)}, "must be a whole number >= 1"),
    ({2: {3: (1, 1, 5, 5)}}, r"target ids \[3\], which are not tracked"),
    ({2: (1, 1, 5, 0)}, "box"),
])
def test_track_to_folder_refuses_bad_corrections_before_any_work(clip, tmp_path, corrections, expected):
    path, _ = clip
    with pytest.raises(UserError, match=expected):
        unicorn.track_to_folder(path, tmp_path / "out", task="sot", model="no-such-model", boxes=[WRONG],
                                corrections=corrections)
    assert not (tmp_path / "out").exists()


def test_track_to_folder_vos_mask_correction(clip, model, tmp_path):
    from PIL import Image

    path, _ = clip
    mask = filled_box_masks(np.array([square_box(K, SIZE)]), SIZE)[0]
    common = dict(task="vos", model=model, boxes=[WRONG], formats=("davis",))
    plain = unicorn.track_to_folder(path, tmp_path / "plain", **common)
    fixed = unicorn.track_to_folder(path, tmp_path / "fixed", corrections={K: {1: mask}}, **common)

    def png(run, k):
        return np.array(Image.open(run.files["davis"] / f"{k:05d}.png"))

    for k in range(K):
        np.testing.assert_array_equal(png(plain, k), png(fixed, k))
    np.testing.assert_array_equal(png(fixed, K), mask.astype(np.uint8))
    later = png(fixed, K + 1) == 1
    true = filled_box_masks(np.array([square_box(K + 1, SIZE)]), SIZE)[0]
    assert (later & true).sum() / (later | true).sum() > 0.5
    assert fixed.summary["corrections"] == {str(K): {"1": {"mask_box_xywh": [float(v) for v in square_box(K, SIZE)],
                                                           "mask_pixels": int(mask.sum())}}}


def test_mot_takes_no_corrections(clip, model):
    _, frames = clip
    with pytest.raises(UserError, match="MOT finds its objects itself and takes no corrections"):
        unicorn.Tracker(model, "mot").correct(frames[0], boxes=[WRONG])


@pytest.mark.parametrize("task, settings, follows", [("sot", {}, True), ("sot", {"method": "head"}, True),
                                                     ("vos", {}, True), ("vos", {"method": "head"}, False)])
def test_retrack_from_a_snapshot_equals_a_full_rerun(clip, model, task, settings, follows):
    # frames 0..K-1 tracked once; the snapshot taken after K-1 resumes with the correction at K
    _, frames = clip
    fix = {"boxes": [square_box(K, SIZE)]}
    tracker = unicorn.Tracker(model, task, **settings)
    with torch.inference_mode():
        run(tracker, frames[:K], {"boxes": [WRONG]})
        state = tracker.snapshot()
        assert not {"model", "config", "detector", "snapper"} & set(state)  # networks are shared, not copied
        plain = [tracker.step(f) for f in frames[K:]]
        tracker.restore(state)
        resumed = [tracker.correct(frames[K], **fix)] + [tracker.step(f) for f in frames[K + 1:]]
    full = run(unicorn.Tracker(model, task, **settings), frames, {"boxes": [WRONG]}, fix)[K:]
    for a, b in zip(resumed, full):
        assert a.frame_index == b.frame_index
        np.testing.assert_allclose(a.boxes_xyxy, b.boxes_xyxy, atol=1e-4)
        np.testing.assert_array_equal(a.scores, b.scores)
    if follows:  # (the head's VOS does not find the square on this model, corrected or not)
        assert iou(resumed[1].boxes_xyxy[0], truth(K + 1)) > iou(plain[1].boxes_xyxy[0], truth(K + 1)) + 0.3
