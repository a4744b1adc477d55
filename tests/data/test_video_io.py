"""open_video: files, folders, webcams, URLs, and one clear UserError per kind of bad input."""

import cv2
import numpy as np
import pytest

from unicorn.data.video_io import natural_key, open_video
from unicorn.errors import UserError

H, W = 48, 64


def frame(k):
    """A frame whose mean brightness encodes k (survives lossy codecs)."""
    return np.full((H, W, 3), 20 + 40 * k, np.uint8)


def make_video(path, n, fourcc="mp4v", fps=12.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert writer.isOpened()
    for k in range(n):
        writer.write(frame(k))
    writer.release()
    return path


@pytest.mark.parametrize("name, fourcc", [("clip.mp4", "mp4v"), ("clip.avi", "MJPG"), ("clip.mov", "mp4v")])
def test_video_file(tmp_path, name, fourcc):
    path = make_video(tmp_path / name, 5, fourcc)
    with open_video(path) as video:
        assert video.fps == pytest.approx(12.0)
        assert video.frame_count == 5
        assert video.size == (H, W)
        got = list(video)
    assert len(got) == 5 and video.frames_read == 5
    assert all(f.dtype == np.uint8 and f.shape == (H, W, 3) for f in got)
    np.testing.assert_allclose([f.mean() for f in got], [20 + 40 * k for k in range(5)], atol=6)


def test_folder_in_natural_order(tmp_path):
    for k in (10, 2, 1):  # written out of order; natural order is 1, 2, 10
        cv2.imwrite(str(tmp_path / f"frame{k}.{'png' if k % 2 else 'jpg'}"), frame(k % 5))
    (tmp_path / "notes.txt").write_text("not a frame")
    video = open_video(str(tmp_path), fps=25)
    assert (video.frame_count, video.fps, video.size) == (3, 25, (H, W))
    means = [f.mean() for f in video]
    np.testing.assert_allclose(means, [frame(1).mean(), frame(2).mean(), frame(0).mean()], atol=3)
    assert natural_key("img10.jpg") > natural_key("img9.jpg")


def test_single_image_is_a_one_frame_video(tmp_path):
    cv2.imwrite(str(tmp_path / "still.png"), frame(1))
    assert len(list(open_video(tmp_path / "still.png"))) == 1


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match=r"Video not found: .*nope\.mp4.*Check the path"):
        open_video(tmp_path / "nope.mp4")


def test_text_file_renamed_mp4(tmp_path):
    path = tmp_path / "fake.mp4"
    path.write_text("this is not a video\n" * 20)
    with pytest.raises(UserError, match=r"Cannot read .*fake\.mp4 as a video.*ffmpeg"):
        open_video(path)


def test_zero_byte_file(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(UserError, match=r"empty \(0 bytes\)"):
        open_video(tmp_path / "empty.mp4")


def test_video_with_no_frames(tmp_path):
    path = make_video(tmp_path / "none.avi", 0, "MJPG")  # a valid AVI container with 0 frames
    with pytest.raises(UserError, match=r"none\.avi has no frames"):
        open_video(path)


def test_empty_folder_and_folder_without_images(tmp_path):
    with pytest.raises(UserError, match=r"No frames in folder .*\(it is empty\)"):
        open_video(tmp_path)
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(UserError, match=r"holds 1 other file\(s\), e\.g\. a\.txt"):
        open_video(tmp_path)


def test_corrupt_or_mismatched_frames_in_folder(tmp_path):
    cv2.imwrite(str(tmp_path / "0.png"), frame(0))
    (tmp_path / "1.png").write_bytes(b"garbage")
    video = open_video(tmp_path)
    next(video)
    with pytest.raises(UserError, match=r"Cannot read frame .*1\.png"):
        next(video)
    (tmp_path / "1.png").unlink()
    cv2.imwrite(str(tmp_path / "2.png"), np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(UserError, match="same size"):
        list(open_video(tmp_path))


def test_frames_are_read_lazily(tmp_path):
    path = make_video(tmp_path / "clip.avi", 4, "MJPG")
    video = open_video(path)

    class CountingCapture:
        def __init__(self, capture):
            self.capture, self.reads = capture, 0

        def read(self):
            self.reads += 1
            return self.capture.read()

        def release(self):
            self.capture.release()

    video._capture = counting = CountingCapture(video._capture)
    next(video)  # the first frame was decoded when opening
    assert counting.reads == 0
    next(video)
    assert counting.reads == 1
    video.close()
    assert list(video) == [] and counting.reads == 1


def test_webcam_and_url_errors(monkeypatch):
    class NeverOpens:
        def __init__(self, target):
            self.target = target

        def isOpened(self):  # noqa: N802 - cv2's name
            return False

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", NeverOpens)
    with pytest.raises(UserError, match="Cannot open webcam 3"):
        open_video(3)
    with pytest.raises(UserError, match="Cannot open webcam 0"):
        open_video("0")
    with pytest.raises(UserError, match=r"Cannot open stream rtsp://me:\*\*\*@cam\.local:554/live") as err:
        open_video("rtsp://me:secret@cam.local:554/live")
    assert "secret" not in str(err.value)


def test_url_that_opens_but_gives_no_frame_says_why(monkeypatch):
    class OpensEmpty:
        def __init__(self, target):
            self.target = target

        def isOpened(self):  # noqa: N802 - cv2's name
            return True

        def read(self):
            return False, None

        def release(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", OpensEmpty)
    with pytest.raises(UserError, match=r"faststart.*Download it and pass the local path"):
        open_video("http://127.0.0.1:8000/clip.mp4")
    with pytest.raises(UserError, match="check that it is live"):
        open_video("rtsp://cam.local/live")
