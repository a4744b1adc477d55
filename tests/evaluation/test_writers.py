"""Round trips of every result format, TrackEval compatibility, overwrite protection, video."""

import json
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image

from unicorn.errors import UserError
from unicorn.evaluation import readers
from unicorn.evaluation._output import davis_palette
from unicorn.evaluation.writers import (
    AnnotatedVideoWriter,
    CocoTrackWriter,
    DavisPaletteWriter,
    MOTChallengeWriter,
    MOTSWriter,
    OutputExistsError,
    PyTrackingWriter,
    YouTubeVISWriter,
    write_all,
)
from unicorn.types import FrameResult

H, W = 24, 32


def box_mask(x1, y1, x2, y2):
    m = np.zeros((H, W), bool)
    m[y1:y2, x1:x2] = True
    return m


def frames():
    """Three frames: two tracks with overlapping masks, an empty frame, one track."""
    return [
        FrameResult(0, (H, W), track_ids=[1, 2], boxes_xyxy=[[2, 3, 12, 15], [10, 5, 20.5, 20]],
                    scores=[0.91, 0.5], class_ids=[0, 0],
                    masks=np.stack([box_mask(2, 3, 12, 15), box_mask(10, 5, 20, 20)])),
        FrameResult(1, (H, W), masks=np.zeros((0, H, W), bool)),
        FrameResult(2, (H, W), track_ids=[2], boxes_xyxy=[[11.25, 6, 21, 21]], scores=[0.77], class_ids=[0],
                    masks=box_mask(11, 6, 21, 21)[None]),
    ]


def test_mot_challenge_round_trip_and_trackeval(tmp_path):
    MotChallenge2DBox = pytest.importorskip("trackeval.datasets").MotChallenge2DBox  # noqa: N806

    path = tmp_path / "seq.txt"
    with MOTChallengeWriter(path) as w:
        w.write(frames()[0])
        # streaming: the first frame is on disk before the writer is closed
        assert path.read_text().splitlines()[0] == "1,1,2,3,10,12,0.91,-1,-1,-1"
        for r in frames()[1:]:
            w.write(r)
    back = list(readers.iter_mot_challenge(path, image_size=(H, W)))
    assert [len(r) for r in back] == [2, 0, 1]
    for got, want in zip(back, frames(), strict=True):
        np.testing.assert_array_equal(got.track_ids, want.track_ids)
        np.testing.assert_allclose(got.boxes_xyxy, want.boxes_xyxy, atol=0.01)
        np.testing.assert_allclose(got.scores, want.scores, atol=1e-4)
    data, _ = MotChallenge2DBox._load_simple_text_file(
        str(path), time_col=0, id_col=1, remove_negative_ids=True)
    assert sorted(data) == ["1", "3"]
    assert [row[:7] for row in data["3"]] == [["3", "2", "11.25", "6", "9.75", "15", "0.77"]]


def _trackeval_mots(tmp_path, path, n_frames):
    """Load ``path`` as both gt and tracker with TrackEval's MOTSChallenge and score it."""
    trackeval = pytest.importorskip("trackeval")
    seq = "MOTS20-99"
    gt = tmp_path / "gt" / seq / "gt"
    gt.mkdir(parents=True)
    (gt / "gt.txt").write_text(path.read_text())
    trk = tmp_path / "trackers" / "ours" / "data"
    trk.mkdir(parents=True)
    (trk / f"{seq}.txt").write_text(path.read_text())
    dataset = trackeval.datasets.MOTSChallenge({
        "GT_FOLDER": str(tmp_path / "gt"), "TRACKERS_FOLDER": str(tmp_path / "trackers"),
        "SKIP_SPLIT_FOL": True, "SEQ_INFO": {seq: n_frames}, "PRINT_CONFIG": False,
    })
    raw = dataset.get_raw_seq_data("ours", seq)
    data = dataset.get_preprocessed_seq_data(raw, "pedestrian")
    return raw, trackeval.metrics.HOTA({"PRINT_CONFIG": False}).eval_sequence(data)


def test_mots_round_trip_and_trackeval(tmp_path):
    path = tmp_path / "mots.txt"
    write_all(MOTSWriter(path, class_map={0: 2}), frames())
    first = path.read_text().splitlines()[0].split(" ")
    assert first[:5] == ["1", "2001", "2", str(H), str(W)]  # MOTS20: id = class * 1000 + track
    back = list(readers.iter_mots(path, class_map={0: 2}))
    assert [r.track_ids.tolist() for r in back] == [[1, 2], [], [2]]
    assert back[0].class_ids.tolist() == [0, 0]
    want = frames()
    # overlaps go to the lower id: track 2 loses the pixels it shares with track 1
    np.testing.assert_array_equal(back[0].masks[0], want[0].masks[0])
    np.testing.assert_array_equal(back[0].masks[1], want[0].masks[1] & ~want[0].masks[0])
    np.testing.assert_array_equal(back[2].masks, want[2].masks)
    np.testing.assert_allclose(back[2].boxes_xyxy, [[11, 6, 21, 21]])

    raw, hota = _trackeval_mots(tmp_path, path, 3)  # TrackEval rejects overlapping masks
    assert [ids.tolist() for ids in raw["tracker_ids"]] == [[2001, 2002], [], [2002]]
    assert hota["HOTA(0)"] == pytest.approx(1.0)


def test_mots_needs_masks_and_small_ids(tmp_path):
    with MOTSWriter(tmp_path / "a.txt") as w, pytest.raises(ValueError, match="needs masks"):
        w.write(FrameResult(0, (H, W), track_ids=[1], boxes_xyxy=[[0, 0, 1, 1]], scores=[1], class_ids=[0]))
    big = FrameResult(0, (H, W), track_ids=[1000], boxes_xyxy=[[0, 0, 1, 1]], scores=[1], class_ids=[0],
                      masks=np.zeros((1, H, W), bool))
    with MOTSWriter(tmp_path / "b.txt") as w, pytest.raises(ValueError, match="encode_class_in_id"):
        w.write(big)


def test_davis_png_round_trip(tmp_path):
    write_all(DavisPaletteWriter(tmp_path / "seq"), frames())
    files = sorted(p.name for p in (tmp_path / "seq").iterdir())
    assert files == ["00000.png", "00001.png", "00002.png"]
    image = Image.open(tmp_path / "seq" / "00000.png")
    assert image.mode == "P"
    np.testing.assert_array_equal(np.array(image.getpalette()).reshape(-1, 3)[:256], davis_palette())
    assert davis_palette()[1].tolist() == [128, 0, 0] and davis_palette()[2].tolist() == [0, 128, 0]
    back = list(readers.iter_davis_pngs(tmp_path / "seq"))
    for got, want in zip(back, frames(), strict=True):
        np.testing.assert_array_equal(got.index_mask(), want.index_mask())
    assert back[0].track_ids.tolist() == [1, 2] and len(back[1]) == 0


def test_coco_json_round_trip(tmp_path):
    path = tmp_path / "coco.json"
    with CocoTrackWriter(path, category_map={0: 1}) as w:
        for r in frames():
            w.write(r, video_id=7)
    entries = json.loads(path.read_text())
    assert len(entries) == 3 and entries[0]["segmentation"]["size"] == [H, W]
    assert isinstance(entries[0]["segmentation"]["counts"], str)
    back = readers.read_coco_tracks(path, category_map={0: 1})[7]
    assert [r.frame_index for r in back] == [0, 2]
    for got, want in zip(back, [frames()[0], frames()[2]], strict=True):
        np.testing.assert_array_equal(got.track_ids, want.track_ids)
        np.testing.assert_array_equal(got.masks, want.masks)
        np.testing.assert_allclose(got.boxes_xyxy, want.boxes_xyxy, atol=0.01)
        np.testing.assert_allclose(got.scores, want.scores, atol=1e-5)


def test_cut_coco_json_reads_to_its_last_whole_entry(tmp_path):
    whole = tmp_path / "coco.json"
    with CocoTrackWriter(whole, category_map={0: 1}) as w:
        for r in frames():
            w.write(r, video_id=7)
    text = whole.read_text()
    cut = text[: text.rindex("\n{")]  # a killed run stopped before its last entry and the closing bracket
    partial = tmp_path / "results_coco.partial.json"
    partial.write_text(cut)
    assert [r.frame_index for r in readers.read_coco_tracks(partial)[7]] == [0]  # entries: frame 0 twice, 2
    broken = tmp_path / "results_coco.json"  # a finished name that is not JSON: one line, no traceback
    broken.write_text(cut)
    with pytest.raises(UserError, match="not valid JSON"):
        readers.read_coco_tracks(broken)


def test_youtube_vis_round_trip(tmp_path):
    path = tmp_path / "results.json"
    with YouTubeVISWriter(path) as w:
        for r in frames():
            w.write(r, video_id=1)
        for r in frames()[:1]:
            w.write(r, video_id=2)
    entries = json.loads(path.read_text())
    assert [(e["video_id"], e["track_id"]) for e in entries] == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert entries[0]["segmentations"][1] is None and len(entries[0]["segmentations"]) == 3
    assert entries[1]["score"] == pytest.approx((0.5 + 0.77) / 2) and entries[1]["category_id"] == 1
    back = readers.read_youtube_vis(path)
    assert len(back[1]) == 3 and len(back[2]) == 1
    for got, want in zip(back[1], frames(), strict=True):
        np.testing.assert_array_equal(got.track_ids, want.track_ids)
        np.testing.assert_array_equal(got.masks, want.masks)
        np.testing.assert_array_equal(got.class_ids, want.class_ids)


@pytest.mark.parametrize("delimiter", ["\t", ","])
def test_pytracking_round_trip(tmp_path, delimiter):
    path = tmp_path / "seq.txt"
    write_all(PyTrackingWriter(path, delimiter=delimiter), frames())
    lines = path.read_text().splitlines()
    assert lines[0] == delimiter.join(["2", "3", "10", "12"])  # highest-scoring box, xywh
    assert lines[1] == delimiter.join(["0"] * 4)  # empty frame
    np.testing.assert_allclose(readers.read_pytracking_txt(path)[2], [11.25, 6, 9.75, 15])
    by_id = tmp_path / "by_id.txt"
    write_all(PyTrackingWriter(by_id, track_id=2, decimals=0), frames())
    assert by_id.read_text().splitlines() == ["10\t5\t10\t15", "0\t0\t0\t0", "11\t6\t10\t15"]


@pytest.mark.parametrize("make", [
    lambda p: MOTChallengeWriter(p), lambda p: MOTSWriter(p), lambda p: PyTrackingWriter(p),
    lambda p: CocoTrackWriter(p), lambda p: YouTubeVISWriter(p), lambda p: AnnotatedVideoWriter(p),
])
def test_writers_never_overwrite_silently(tmp_path, make):
    path = tmp_path / "out.mp4"
    path.write_text("precious")
    with pytest.raises(OutputExistsError, match=r"out\.mp4.*overwrite=True"):
        make(path)
    assert path.read_text() == "precious"
    with pytest.raises(FileExistsError):  # also catchable as the built-in
        make(path)


def test_davis_writer_refuses_a_folder_with_pngs(tmp_path):
    write_all(DavisPaletteWriter(tmp_path), frames()[:1])
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        DavisPaletteWriter(tmp_path)
    write_all(DavisPaletteWriter(tmp_path, overwrite=True), frames()[:1])
    with pytest.raises(ValueError, match="0..255"):
        DavisPaletteWriter(tmp_path / "x").write_index_mask(0, np.full((2, 2), 300))


def test_overwrite_true_replaces(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("old\n")
    write_all(MOTChallengeWriter(path, overwrite=True), frames())
    assert path.read_text().startswith("1,1,")


def _read_video(path):
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            return out
        out.append(frame)


def test_annotated_video(tmp_path):
    path = tmp_path / "demo.mp4"
    background = np.full((H * 4, W * 4, 3), 40, np.uint8)
    with AnnotatedVideoWriter(path, fps=5, class_names=["person"]) as w:
        for r in frames():
            big = FrameResult(r.frame_index, (H * 4, W * 4), r.track_ids, r.boxes_xyxy * 4, r.scores,
                              r.class_ids, masks=r.masks.repeat(4, 1).repeat(4, 2))
            drawn = w.write(background, big)
    assert w.path == path and w.frames_written == 3
    assert not np.array_equal(drawn, background)  # something was drawn on the last frame
    video = _read_video(path)
    assert len(video) == 3 and video[0].shape == background.shape


def test_annotated_mp4_opens_before_it_is_closed(tmp_path):
    w = AnnotatedVideoWriter(tmp_path / "demo.mp4", fps=5)
    for r in frames():
        w.write(np.full((H * 2, W * 2, 3), 40, np.uint8), FrameResult(r.frame_index, (H * 2, W * 2)))
    partial = tmp_path / "demo.partial.mp4"
    assert partial.exists() and not (tmp_path / "demo.mp4").exists()
    assert len(_read_video(partial)) >= 2  # one fragment per frame is on disk while the run goes on
    w.close()
    assert len(_read_video(tmp_path / "demo.mp4")) == 3


def test_annotated_video_codec_fallback(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with AnnotatedVideoWriter(tmp_path / "demo.mp4", fourcc="ZZZZ") as w:
            w.write(np.zeros((32, 48, 3), np.uint8), frames()[1])
    assert any("ZZZZ" in str(c.message) for c in caught)
    assert w.fourcc != "ZZZZ" and w.path.exists() and len(_read_video(w.path)) == 1
