"""The demo in a real browser: headless Chromium driven by Playwright against a server on localhost.

Skipped when Gradio, Playwright or /usr/bin/chromium is missing, except in CI (CI=true). The
screenshots of every step go to $UNICORN_TEST_ARTIFACTS (or a pytest temporary folder); their
paths are printed (see them with ``pytest -s`` or ``-rP``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import pytest

from unicorn.evaluation.readers import iter_mot_challenge, read_coco_tracks, read_pytracking_txt

from . import pages
from .conftest import TEST_LIMITS
from .videos import make_empty, make_text_as_mp4, make_video, square_box

SAMPLE = Path(__file__).resolve().parents[2] / "unicorn" / "assets" / "sample.mp4"
SAMPLE_BOX = (42, 86, 36, 68)
SAMPLE_FRAMES = 48


def unzip(archive: Path) -> tuple[Path, dict]:
    """Extract a results zip next to it; returns (folder, summary)."""
    folder = archive.with_suffix("")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(folder)
    return folder, json.loads((folder / "summary.json").read_text())


def video_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def typed_box(text: str) -> list[float]:
    return [float(v) for v in text.splitlines()[0].split(",")]


def check_sot_zip(archive: Path, frames: int, box: list[float], name: str) -> dict:
    """The SOT zip holds every format, they parse, and they describe this video and this box."""
    folder, summary = unzip(archive)
    assert sorted(summary["outputs"]) == sorted(["annotated.webm", "confidence.png", "results_coco.json",
                                                  "results_mot.txt", "results_pytracking.txt"])  # besides itself
    assert summary["status"] == "complete"
    assert sum(summary["state_frames"]["1"].values()) == frames  # every frame has the target's state
    assert (summary["task"], summary["input"], summary["frames"], summary["tracks"]) == ("sot", name, frames, 1)
    boxes = read_pytracking_txt(folder / "results_pytracking.txt")
    assert boxes.shape == (frames, 4) and boxes[0].tolist() == box
    mot = list(iter_mot_challenge(folder / "results_mot.txt", num_frames=frames))
    assert len(mot) == frames and all(r.track_ids.tolist() == [1] for r in mot)
    assert mot[0].boxes_xywh[0].tolist() == pytest.approx(box)
    assert [r.frame_index for r in read_coco_tracks(folder / "results_coco.json")[1]] == list(range(frames))
    assert video_frames(folder / "annotated.webm") == frames
    return summary


def test_sot_then_mot_on_the_sample(browser, demo_url, artifacts, tmp_path):
    context, page = pages.open_page(browser, demo_url)
    pages.screenshot(page, artifacts, "1-sot-0-page")
    assert "Loaded sample.mp4: 320x240, 48 frames, 12 fps" in pages.upload(page, SAMPLE)
    pages.screenshot(page, artifacts, "1-sot-1-uploaded")
    box = typed_box(pages.draw_box(page, SAMPLE_BOX, 320))
    assert box == pytest.approx(SAMPLE_BOX, abs=1)  # a click lands within a pixel of the corner
    pages.screenshot(page, artifacts, "1-sot-2-box-drawn")
    assert "Done: SOT on sample.mp4: 48 frames, 1 track(s)" in pages.run(page)
    page.wait_for_selector("#result-video video")
    pages.screenshot(page, artifacts, "1-sot-3-result")
    summary = check_sot_zip(pages.download_zip(page, tmp_path / "sot.zip"), SAMPLE_FRAMES, box, "sample.mp4")
    assert summary["device"] == "cpu" and summary["weights"] == "unicorn-lite"

    pages.choose_task(page, "MOT")
    classes = page.locator("#classes input")
    classes.click()
    classes.fill("person")
    classes.press("Enter")
    classes.press("Escape")
    page.locator("#thresholds").get_by_text("Thresholds").click()
    pages.set_slider(page, "conf", 0.3)
    pages.screenshot(page, artifacts, "1-mot-1-options")
    assert "Done: MOT on sample.mp4: 48 frames" in pages.run(page)
    pages.screenshot(page, artifacts, "1-mot-2-result")
    folder, summary = unzip(pages.download_zip(page, tmp_path / "mot.zip"))
    assert sorted(summary["outputs"]) == ["annotated.webm", "results_coco.json", "results_mot.txt"]
    assert (summary["task"], summary["frames"], summary["classes"]) == ("mot", SAMPLE_FRAMES, [0])
    assert summary["thresholds"] == {"association": "bytetrack", "nms_thresh": 0.7, "track_thresh": 0.3,
                                     "match_thresh": 0.9}
    assert summary["settings"]["track_thresh"] == 0.3 and summary["settings"]["classes"] == [0]
    assert len(list(iter_mot_challenge(folder / "results_mot.txt", num_frames=SAMPLE_FRAMES))) == SAMPLE_FRAMES
    assert isinstance(json.loads((folder / "results_coco.json").read_text()), list)
    assert video_frames(folder / "annotated.webm") == SAMPLE_FRAMES
    context.close()


def test_correct_a_frame_and_rerun(browser, demo_url, artifacts, tmp_path):
    """A visitor tracks the sample, sees frame 20, gives the true box there and re-runs: frame 20 holds that box,
    the frames before it are as in the first run, and ``summary.json`` records the correction."""
    context, page = pages.open_page(browser, demo_url)
    pages.upload(page, SAMPLE)
    box = typed_box(pages.draw_box(page, SAMPLE_BOX, 320))
    assert "Done: SOT on sample.mp4: 48 frames, 1 track(s)" in pages.run(page)
    first, _ = unzip(pages.download_zip(page, tmp_path / "first.zip"))
    before = read_pytracking_txt(first / "results_pytracking.txt")
    true_box = (before[20] + [6, 4, 0, 0]).round().tolist()  # a fix the tracker did not make itself
    message = pages.correct(page, 20, ", ".join(f"{v:g}" for v in true_box))
    pages.screenshot(page, artifacts, "4-correction", full_page=True)
    assert "Corrected at frame(s) 20: re-tracked from frame 20" in message
    folder, summary = unzip(pages.download_zip(page, tmp_path / "fixed.zip"))
    after = read_pytracking_txt(folder / "results_pytracking.txt")
    assert after[0].tolist() == box and (after[:20] == before[:20]).all()
    assert after[20].tolist() == pytest.approx(true_box, abs=0.01)
    assert summary["corrections"] == {"20": {"1": {"box_xywh": true_box}}}
    assert "pick a frame from 1 to 47" in pages.show_frame(page, 48)  # past the last frame
    context.close()


def test_controls_show_what_the_tracker_runs_with(browser, demo_url, demo_model):
    """Every threshold control starts at the value of ``tracker.config`` for the served model (unicorn-lite: its
    NanoDet-g thresholds for MOT, ByteTrack for MOTS, label propagation's lost score for SOT/VOS)."""
    import unicorn

    context, page = pages.open_page(browser, demo_url)
    sot = unicorn.Tracker(demo_model, "sot").config
    page.locator("#sot-thresholds").get_by_text("Threshold").click()
    assert pages.slider_value(page, "lost") == pytest.approx(sot.lost_score)
    for label, task in (("MOT", "mot"), ("MOTS", "mots")):
        pages.choose_task(page, label)
        if task == "mot":
            page.locator("#thresholds").get_by_text("Thresholds").click()
        cfg = unicorn.Tracker(demo_model, task).config
        assert pages.radio_value(page, "association") == cfg.association == "bytetrack"
        shown = [pages.slider_value(page, name) for name in ("conf", "nms", "assoc")]
        assert shown == pytest.approx([cfg.bytetrack.track_thresh, cfg.nms_thresh, cfg.bytetrack.match_thresh])
        assert shown[0] == pytest.approx(0.45)  # NanoDet-g's first pass, not the 0.6 of upstream's MOT17 head
    context.close()


def test_two_sessions_at_once_get_their_own_results(browser, demo_url, artifacts, tmp_path):
    tiny = make_video(tmp_path / "tiny.mp4", 12, (120, 160))
    (ctx_a, a), (ctx_b, b) = pages.open_page(browser, demo_url), pages.open_page(browser, demo_url)
    assert "Loaded sample.mp4" in pages.use_sample(a)
    assert "Loaded tiny.mp4: 160x120, 12 frames" in pages.upload(b, tiny)
    box_a = typed_box(pages.draw_box(a, SAMPLE_BOX, 320))
    box_b = typed_box(pages.draw_box(b, square_box(0, (120, 160)), 160))
    before_a, before_b = pages.status(a), pages.status(b)
    a.click("#run")
    b.click("#run")  # both runs are in the server at the same time (concurrency 2)
    done_a = pages.wait_status(a, "Done:", "Error:", before=before_a, timeout=pages.RUN_TIMEOUT_MS)
    done_b = pages.wait_status(b, "Done:", "Error:", before=before_b, timeout=pages.RUN_TIMEOUT_MS)
    pages.screenshot(a, artifacts, "2-session-a")
    pages.screenshot(b, artifacts, "2-session-b")
    assert "Done: SOT on sample.mp4: 48 frames" in done_a and "Done: SOT on tiny.mp4: 12 frames" in done_b
    check_sot_zip(pages.download_zip(a, tmp_path / "a.zip"), SAMPLE_FRAMES, box_a, "sample.mp4")
    check_sot_zip(pages.download_zip(b, tmp_path / "b.zip"), 12, box_b, "tiny.mp4")
    ctx_a.close()
    ctx_b.close()


def test_bad_videos_get_a_message_and_others_are_still_served(browser, demo_url, artifacts, tmp_path):
    long_clip = make_video(tmp_path / "long.mp4", TEST_LIMITS["max_frames"] + 20, (48, 64), fps=25)
    cases = [(make_text_as_mp4(tmp_path / "notes.mp4"), "Error: Cannot read notes.mp4 as a video"),
             (make_empty(tmp_path / "empty.mp4"), "Error: Video file empty.mp4 is empty (0 bytes)"),
             (long_clip, "Error: long.mp4 is too long for this demo: 80 frames")]
    context, page = pages.open_page(browser, demo_url)
    for path, message in cases:
        assert message in pages.upload(page, path)
        pages.screenshot(page, artifacts, f"3-bad-{path.stem}")
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * int((TEST_LIMITS["max_upload_mb"] + 1) * 1e6))
    page.locator("#video-upload input[type=file]").set_input_files(str(big))
    page.get_by_text('exceed the maximum allowed size of 5.0 Mb: "big.mp4"').wait_for()
    pages.screenshot(page, artifacts, "3-bad-too-large")
    assert "Error: Upload a video (or use the sample) first." in pages.run(page)
    other_context, other = pages.open_page(browser, demo_url)
    pages.use_sample(other)
    pages.draw_box(other, SAMPLE_BOX, 320)
    assert "Done: SOT on sample.mp4: 48 frames" in pages.run(other)
    pages.screenshot(other, artifacts, "3-other-session-served")
    context.close()
    other_context.close()


def test_laptop_width_shows_run_video_model_and_device(browser, demo_url, artifacts):
    context, page = pages.open_page(browser, demo_url, 1366, 768)
    info = page.locator("#model-info").inner_text()
    assert "unicorn-lite" in info and "cpu" in info
    assert "untrained" not in info  # the trained weights ship in unicorn/assets
    pages.use_sample(page)
    page.locator("#boxes textarea").fill("42, 86, 36, 68")
    page.locator("#task-help").click()  # focus leaves the box: the typed box is taken
    pages.wait_status(page, "1 box(es)")
    run_box = page.locator("#run").bounding_box()
    assert run_box["y"] + run_box["height"] <= 768, "the Run button is below the first screen"
    assert "Done: SOT" in pages.run(page)
    page.evaluate("window.scrollTo(0, 0)")
    video = page.locator("#result-video video")
    video.wait_for()
    pages.screenshot(page, artifacts, "4-laptop-1366x768")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366, "the page scrolls sideways"
    for name, box in (("run", page.locator("#run").bounding_box()), ("video", video.bounding_box())):
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1366, f"the {name} is cut off at 1366 px: {box}"
        assert box["y"] < 768, f"the {name} is not on the first screen: {box}"
    context.close()
