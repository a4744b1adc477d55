"""The demo's work without a browser: video checks, one run per task, result files, caps, isolation."""

import json
import threading
import zipfile

import cv2
import numpy as np
import pytest

import unicorn
from unicorn.demo.runner import VIDEO_NAME, Limits, RunRequest, VideoInfo, probe_video, run_tracking
from unicorn.errors import UserError
from unicorn.evaluation.readers import (
    iter_davis_pngs,
    iter_mot_challenge,
    iter_mots,
    read_coco_tracks,
    read_pytracking_txt,
)
from unicorn.geometry import filled_box_masks

from .videos import make_empty, make_text_as_mp4, make_video, square_box

LIMITS = Limits(max_frames=60, max_seconds=30, max_upload_mb=5)
SIZE = (96, 128)


def test_probe_reads_first_frame_and_metadata(clip):
    info = probe_video(clip, LIMITS, name="my clip.mp4")
    assert (info.size, info.frame_count, info.fps, info.name) == (SIZE, 10, 8.0, "my clip.mp4")
    x, y, w, h = square_box(0, SIZE)
    assert info.first_frame[y + h // 2, x + w // 2].tolist() == pytest.approx([60, 200, 240], abs=12)
    assert "128x96, 10 frames, 8 fps" in info.describe()


@pytest.mark.parametrize("make, message", [
    (make_text_as_mp4, "Cannot read upload.mp4 as a video: it is not a video"),
    (make_empty, r"upload.mp4 is empty \(0 bytes\)"),
])
def test_probe_bad_files_say_what_is_wrong_without_server_paths(tmp_path, make, message):
    path = make(tmp_path / "f81d4fae.mp4")
    with pytest.raises(UserError, match=message) as err:
        probe_video(path, LIMITS, name="upload.mp4")
    assert str(tmp_path) not in str(err.value)


def test_probe_caps_length_and_size(tmp_path, clip):
    with pytest.raises(UserError, match=r"too long for this demo: 10 frames \(1.2 s at 8 fps\); the limit is 5 frames"):
        probe_video(clip, Limits(max_frames=5))
    with pytest.raises(UserError, match=r"the limit is 300 frames and 1 s"):
        probe_video(clip, Limits(max_seconds=1))
    with pytest.raises(UserError, match="accepts videos up to 0.001 MB"):
        probe_video(clip, Limits(max_upload_mb=0.001))
    with pytest.raises(UserError, match="was not received"):
        probe_video(tmp_path / "gone.mp4", LIMITS)


def _members(archive):
    with zipfile.ZipFile(archive) as zf:
        return sorted(zf.namelist())


def _video_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_sot_run_writes_every_format_and_a_zip(lite_model, clip, tmp_path):
    box = square_box(0, SIZE)
    progress = []
    result = run_tracking(lite_model, probe_video(clip, LIMITS), RunRequest("sot", boxes_xywh=[box]),
                          tmp_path / "out", LIMITS, lambda n, total: progress.append((n, total)), "unicorn-lite")
    assert progress == [(n, 10) for n in range(1, 11)]
    assert _members(result.archive) == sorted([VIDEO_NAME, "results_pytracking.txt", "results_mot.txt",
                                               "results_coco.json", "confidence.png", "summary.json"])
    summary = json.loads((result.folder / "summary.json").read_text())
    assert (summary["task"], summary["frames"], summary["tracks"], summary["weights"]) == ("sot", 10, 1, "unicorn-lite")
    boxes = read_pytracking_txt(result.folder / "results_pytracking.txt")
    assert boxes.shape == (10, 4) and boxes[0].tolist() == list(box)  # frame 0 is the given box
    mot = list(iter_mot_challenge(result.folder / "results_mot.txt", num_frames=10))
    assert [r.track_ids.tolist() for r in mot] == [[1]] * 10
    coco = read_coco_tracks(result.folder / "results_coco.json")[1]
    assert [r.frame_index for r in coco] == list(range(10))
    assert _video_frames(result.video) == 10 and result.video.suffix == ".webm"


def test_vos_from_boxes_and_from_a_mask(lite_model, clip, tmp_path):
    info = probe_video(clip, LIMITS)
    box = square_box(0, SIZE)
    result = run_tracking(lite_model, info, RunRequest("vos", boxes_xywh=[box, (80, 5, 30, 20)]), tmp_path / "a",
                          LIMITS)
    assert result.summary["init"] == "boxes" and len(result.summary["boxes_xywh"]) == 2
    frames = list(iter_davis_pngs(result.folder / "davis"))
    assert len(frames) == 10 and sorted(frames[0].track_ids.tolist()) == [1, 2]
    assert "davis/00009.png" in _members(result.archive)
    mask = np.zeros(SIZE, np.int32)
    mask[10:30, 10:30] = 5
    result = run_tracking(lite_model, info, RunRequest("vos", mask=mask), tmp_path / "b", LIMITS)
    first = next(iter_davis_pngs(result.folder / "davis"))
    assert result.summary["init"] == "mask" and first.track_ids.tolist() == [5]
    assert (first.masks[0] == (mask == 5)).all()  # frame 0 is the given mask


@pytest.mark.parametrize("task", ["mot", "mots"])
def test_mot_and_mots_runs(lite_model, clip, tmp_path, task):
    request = RunRequest(task, classes=(0, 2), thresholds={"nms_thresh": 0.6, "association": "bytetrack"})
    result = run_tracking(lite_model, probe_video(clip, LIMITS), request, tmp_path / "out", LIMITS)
    expected = {"mot": ["results_mot.txt"], "mots": ["results_mot.txt", "results_mots.txt"]}[task]
    assert _members(result.archive) == sorted([VIDEO_NAME, "results_coco.json", "summary.json", *expected])
    assert result.summary["classes"] == [0, 2] and result.summary["thresholds"]["nms_thresh"] == 0.6
    assert len(list(iter_mot_challenge(result.folder / "results_mot.txt", num_frames=10))) == 10
    if task == "mots":
        list(iter_mots(result.folder / "results_mots.txt"))  # parses
    assert isinstance(json.loads((result.folder / "results_coco.json").read_text()), list)


def test_missing_prompts_and_bad_settings_are_user_errors(lite_model, clip, tmp_path):
    info = probe_video(clip, LIMITS)
    with pytest.raises(UserError, match="SOT needs a box"):
        run_tracking(lite_model, info, RunRequest("sot"), tmp_path / "a", LIMITS)
    with pytest.raises(UserError, match="VOS needs objects"):
        run_tracking(lite_model, info, RunRequest("vos"), tmp_path / "b", LIMITS)
    with pytest.raises(UserError, match="unknown mot setting"):
        run_tracking(lite_model, info, RunRequest("mot", thresholds={"bogus": 1}), tmp_path / "c", LIMITS)


def test_frame_cap_holds_when_the_container_does_not_say_its_length(lite_model, clip, tmp_path):
    info = probe_video(clip, LIMITS)
    unknown = VideoInfo(info.path, info.name, info.first_frame, info.fps, frame_count=None)
    result = run_tracking(lite_model, unknown, RunRequest("mot"), tmp_path / "out", Limits(max_frames=4))
    assert result.summary["frames"] == 4 and result.summary["truncated_at_limit"]
    with pytest.raises(UserError, match="too long"):  # a known length over the cap is refused up front
        run_tracking(lite_model, info, RunRequest("mot"), tmp_path / "again", Limits(max_frames=4))


def test_concurrent_runs_keep_their_own_results(lite_model, tmp_path):
    """Two sessions tracking different videos at once with the one shared model."""
    videos = {"a": make_video(tmp_path / "a.mp4", 12, (96, 128)), "b": make_video(tmp_path / "b.mp4", 7, (64, 96))}
    boxes = {"a": square_box(0, (96, 128)), "b": (20, 10, 30, 40)}
    results, errors = {}, []

    def work(key):
        try:
            results[key] = run_tracking(lite_model, probe_video(videos[key], LIMITS),
                                        RunRequest("sot", boxes_xywh=[boxes[key]]), tmp_path / f"out-{key}", LIMITS)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in videos]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for key, n in (("a", 12), ("b", 7)):
        got = read_pytracking_txt(results[key].folder / "results_pytracking.txt")
        assert got.shape == (n, 4) and got[0].tolist() == list(boxes[key])


def test_box_masks_fall_back_to_filled_boxes_without_a_detection(lite_model, clip):
    frame = probe_video(clip, LIMITS).first_frame
    boxes = [(10, 20, 30, 40), (60.4, 5.5, 10, 10)]
    nothing = unicorn.Tracker(lite_model, "vos", conf_thresh=1.0, method="head")  # no score reaches 1: no detection
    masks, from_head = nothing.masks_from_boxes(frame, boxes)
    assert not from_head.any()
    np.testing.assert_array_equal(masks, filled_box_masks(np.array(boxes), SIZE))
    assert masks[0].sum() == 30 * 40 and masks[0][20:60, 10:40].all()


def test_box_masks_from_the_mask_head_initialise_vos(lite_model, clip):
    frame = probe_video(clip, LIMITS).first_frame
    tracker = unicorn.Tracker(lite_model, "vos")
    masks, from_head = tracker.masks_from_boxes(frame, [square_box(0, SIZE)])
    assert masks.shape == (1, *SIZE) and masks.dtype == bool and masks.any(axis=(1, 2)).all()
    assert from_head.dtype == bool and from_head.shape == (1,)
    result = tracker.init(frame, masks=masks)
    assert result.track_ids.tolist() == [1] and (result.masks[0] == masks[0]).all()
