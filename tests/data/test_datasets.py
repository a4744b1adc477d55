"""Benchmark readers: real data where we have it, the official layouts built in a temp folder otherwise."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from unicorn.data.datasets import BENCHMARKS, MOTChallenge, open_benchmark
from unicorn.data.datasets.mot_challenge import read_mot_txt
from unicorn.data.datasets.mots import read_mots_txt
from unicorn.errors import UserError


@pytest.fixture(scope="module")
def shared():
    root = Path(os.environ.get("UNICORN_TEST_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")

    def get(sub: str) -> Path:
        if not (root / sub).exists():
            pytest.skip(f"real test data not found at {root / sub}")
        return root / sub

    return get


def test_mot17_mini(shared):
    reader = open_benchmark("mot17", shared("mot17_mini"))
    assert len(reader) == 7
    seq = reader.load("MOT17-05-FRCNN")
    assert seq.num_frames == len(seq.frame_paths) == 6  # images present, not seqinfo's full length
    assert seq.image_size == (480, 640)
    assert sum(len(s.tracks) for s in reader) == 1540
    assert set(np.unique(seq.tracks.classes)) <= set(range(1, 14))
    assert np.all(np.isin(seq.tracks.flags, (0, 1)))
    assert len(MOTChallenge(shared("mot17_mini"), "MOT17", detector="FRCNN").sequence_names()) == 7
    with pytest.raises(UserError, match="sequence folders with gt/gt.txt ending in DPM not found"):
        MOTChallenge(shared("mot17_mini"), "MOT17", detector="DPM").sequence_names()


def test_mot15_custom_layout_and_line_numbers(shared):
    reader = open_benchmark("mot15", shared("motmetrics_tud"))
    assert reader.sequence_names() == ["TUD-Campus", "TUD-Stadtmitte"]
    seq = reader.load("TUD-Campus")
    assert seq.num_frames == 71 and len(seq.tracks) == 359
    assert seq.tracks.lines[0] == 1 and np.all(np.diff(seq.tracks.lines) > 0)


def test_davis2016(shared):
    reader = open_benchmark("davis2016", shared("davis2016_val"))
    assert len(reader) == 20
    seq = reader.load("blackswan")
    assert seq.num_frames == len(seq.mask_paths) == len(seq.frame_paths) == 50
    assert seq.object_ids == [1] and seq.image_size == (480, 854) and seq.extra["binary_255"]


def test_bdd100k_box_and_mask_labels(shared):
    box = open_benchmark("bdd100k-box", shared("scalabel_bdd100k") / "box_track" / "track_sample_anns.json")
    seq = box.load("b1c66a42-6f7d68ca")
    assert seq.num_frames == 202 and len(seq.tracks) == 3241
    assert seq.tracks.ignored.sum() == 132  # labels with the crowd attribute
    assert seq.tracks.box_format == "xyxy" and seq.tracks.class_names[2] == "car"
    assert seq.tracks.ids.min() == 1  # string ids renumbered 1.. in sorted order
    mask = open_benchmark("bdd100k-seg", shared("scalabel_bdd100k") / "seg_track" / "seg_track_sample.json")
    seq = mask.load("b1c66a42-6f7d68ca")
    assert seq.num_frames == 100 and len(seq.tracks.rles) == 1768 and seq.tracks.ignored.sum() == 17


def test_missing_dataset_points_to_readme(tmp_path):
    for name in BENCHMARKS:
        with pytest.raises(UserError, match=r"not found at .*datasets/README\.md"):
            open_benchmark(name, tmp_path / "nowhere")
    with pytest.raises(UserError, match="unknown benchmark"):
        open_benchmark("vot2020", tmp_path)


def test_lasot_layout(tmp_path):
    seq = tmp_path / "airplane" / "airplane-1"
    (seq / "img").mkdir(parents=True)
    np.savetxt(seq / "groundtruth.txt", [[1, 2, 3, 4]] * 4, fmt="%d", delimiter=",")
    (seq / "full_occlusion.txt").write_text("0,0,1,0")
    (seq / "out_of_view.txt").write_text("0,0,0,1")
    for k in range(4):
        (seq / "img" / f"{k + 1:08d}.jpg").write_bytes(b"")
    reader = open_benchmark("lasot", tmp_path)
    assert reader.sequence_names() == ["airplane-1"]
    loaded = reader.load("airplane-1")
    assert loaded.visible.tolist() == [True, True, False, False] and len(loaded.frame_paths) == 4
    (tmp_path / "testing_set.txt").write_text("airplane-1\n")
    assert reader.sequence_names() == ["airplane-1"]


def test_got10k_layout(tmp_path):
    seq = tmp_path / "val" / "GOT-10k_Val_000001"
    seq.mkdir(parents=True)
    (tmp_path / "val" / "list.txt").write_text("GOT-10k_Val_000001\n")
    np.savetxt(seq / "groundtruth.txt", [[1, 2, 3, 4]] * 3, fmt="%d", delimiter=",")
    (seq / "cover.label").write_text("8\n0\n5\n")
    (seq / "meta_info.ini").write_text("[METAINFO]\nresolution: (1280, 720)\n")
    loaded = open_benchmark("got10k", tmp_path).load("GOT-10k_Val_000001")
    assert loaded.extra["cover"].tolist() == [8, 0, 5] and loaded.visible.tolist() == [True, False, True]
    assert loaded.image_size == (720, 1280) and not loaded.extra["first_frame_only"]


def test_trackingnet_layout_sorts_frames_numerically(tmp_path):
    (tmp_path / "TEST" / "anno").mkdir(parents=True)
    (tmp_path / "TEST" / "anno" / "abc.txt").write_text("1,2,3,4\n")
    frames = tmp_path / "TEST" / "frames" / "abc"
    frames.mkdir(parents=True)
    for k in (0, 1, 2, 10):
        (frames / f"{k}.jpg").write_bytes(b"")
    loaded = open_benchmark("trackingnet", tmp_path).load("abc")
    assert [p.stem for p in loaded.frame_paths] == ["0", "1", "2", "10"]
    assert loaded.num_frames == 4 and loaded.extra["first_frame_only"]


def test_otb_two_targets(tmp_path):
    (tmp_path / "Jogging").mkdir()
    for k in (1, 2):
        (tmp_path / "Jogging" / f"groundtruth_rect.{k}.txt").write_text("1\t2\t3\t4\n5 6 7 8\n")
    reader = open_benchmark("otb", tmp_path)
    assert reader.sequence_names() == ["Jogging_1", "Jogging_2"]
    assert reader.load("Jogging_2").boxes_xywh.tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_youtube_vos_layout(tmp_path):
    split = tmp_path / "valid"
    (split / "JPEGImages" / "v1").mkdir(parents=True)
    (split / "Annotations" / "v1").mkdir(parents=True)
    for k in (0, 5, 10):
        (split / "JPEGImages" / "v1" / f"{k:05d}.jpg").write_bytes(b"")
    (split / "Annotations" / "v1" / "00005.png").write_bytes(b"")
    (split / "meta.json").write_text(json.dumps({"videos": {"v1": {"objects": {"1": {"frames": ["00005"]}}}}}))
    loaded = open_benchmark("youtube-vos", tmp_path).load("v1")
    assert [p is not None for p in loaded.mask_paths] == [False, True, False]
    assert loaded.object_ids == [1] and loaded.extra["object_frames"] == {1: ["00005"]}


def test_kitti_mots_frames_are_zero_based(tmp_path):
    (tmp_path / "instances_txt").mkdir()
    (tmp_path / "instances_txt" / "0002.txt").write_text("0 1001 1 4 4 4\n2 10000 10 4 4 4\n")
    (tmp_path / "val.seqmap").write_text("0002 empty 000000 000004\n")
    reader = open_benchmark("kitti-mots", tmp_path)
    seq = reader.load(reader.sequence_names()[0])
    assert seq.num_frames == 5 and seq.tracks.frames.tolist() == [1, 3]
    assert seq.tracks.ignored.tolist() == [False, True] and seq.image_size == (4, 4)


def test_mot_txt_errors_name_file_and_line(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("1,1,0,0,5,5,1,1,1\n\n1,1,3,3,5,5,1,1,1\n")
    with pytest.raises(UserError, match=r"s\.txt:3: id 1 appears twice in frame 1 \(also on line 1\)"):
        read_mot_txt(path, is_gt=True)
    path.write_text("1,1,0,0,5,5\n9,1,0,0,5,5\n")
    with pytest.raises(UserError, match=r"s\.txt:2: frame 9 is outside the sequence \(1\.\.5\)"):
        read_mot_txt(path, is_gt=False, num_frames=5)
    path.write_text("0,1,0,0,5,5\n")
    with pytest.raises(UserError, match=r"s\.txt:1: frame numbers are integers starting at 1"):
        read_mot_txt(path, is_gt=False)
    with pytest.raises(UserError, match=r"missing\.txt: file not found"):
        read_mot_txt(tmp_path / "missing.txt", is_gt=False)


def test_mots_txt_errors_name_file_and_line(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("1 2001 2 4 4 4\n1 2002 2 four 4 4\n")
    with pytest.raises(UserError, match=r"m\.txt:2: expected 'frame id class height width rle'"):
        read_mots_txt(path)
