"""`unicorn track` end to end on real MOT17 frames and the bundled sample: every task, every format.

The default model (unicorn-lite) exercises the whole path; a model converted from the golden
fixture's upstream-keyed weights gives non-empty MOT and MOTS output, which TrackEval must accept
and which must read back exactly as the Python API produced it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import unicorn
from unicorn.cli import main
from unicorn.evaluation import readers

from .models.conftest import MOT17_MINI, require_fixture, upstream_state_dict

SEQ = MOT17_MINI / "train" / "MOT17-05-FRCNN"
BOX = "114,154,85,176"  # MOT17-05 track 125 on frame 1 (x, y, w, h)
SAMPLE = Path(unicorn.__file__).parent / "assets" / "sample.mp4"


def need_seq() -> Path:
    if not (SEQ / "img1").is_dir():
        pytest.skip(f"MOT17-05 frames not found at {SEQ}")
    return SEQ


def write_mask_png(path: Path, shape: tuple[int, int], box: tuple[int, int, int, int]) -> Path:
    mask = np.zeros(shape, np.uint8)
    x, y, w, h = box
    mask[y:y + h, x:x + w] = 1
    cv2.imwrite(str(path), mask)
    return path


def track(args: list[str]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return main(["track", *args])


@pytest.mark.parametrize("source", ["mot17", "sample"])
def test_default_model_runs_every_task_and_format(tmp_path, source):
    src = str(need_seq() / "img1") if source == "mot17" else str(SAMPLE)
    shape = (480, 640) if source == "mot17" else (240, 320)
    box = BOX if source == "mot17" else "42,86,36,68"
    mask = write_mask_png(tmp_path / "mask.png", shape, tuple(int(v) for v in box.split(",")))
    common = ["--size", "128x192", "--max-frames", "4", "--device", "cpu"]
    runs = {
        "sot": ["--box", box, "--formats", "video,mot,json,pytracking"],
        "vos": ["--mask", str(mask), "--formats", "video,mots,davis,json,mot"],
        "mot": ["--formats", "video,mot,json"] + (["--detections", str(SEQ / "det" / "det.txt")]
                                                  if source == "mot17" else []),
        "mots": ["--formats", "video,mots,mot,json,davis"],
    }
    for task, extra in runs.items():
        out = tmp_path / task
        assert track([src, "--task", task, "--out", str(out), *common, *extra]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["frames"] == 4
        expected = {"video": "annotated.mp4", "mot": "results_mot.txt", "mots": "results_mots.txt",
                    "json": "results_coco.json", "pytracking": "results_pytracking.txt", "davis": "davis"}
        for fmt in extra[extra.index("--formats") + 1].split(","):
            assert (out / expected[fmt]).exists(), f"{task}: {fmt} missing"
        cap = cv2.VideoCapture(str(out / "annotated.mp4"))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
        cap.release()
        json.loads((out / "results_coco.json").read_text())
    sot = readers.read_pytracking_txt(tmp_path / "sot" / "results_pytracking.txt")
    np.testing.assert_allclose(sot[0], [float(v) for v in box.split(",")], atol=0.01)
    for task in ("sot", "vos"):  # each target's states over the run, and their plot
        summary = json.loads((tmp_path / task / "summary.json").read_text())
        assert sum(summary["state_frames"]["1"].values()) == 4 and isinstance(summary["lost_spans"]["1"], list)
        assert (tmp_path / task / "confidence.png").stat().st_size > 1000
    first = next(readers.iter_davis_pngs(tmp_path / "vos" / "davis"))
    assert first.track_ids.tolist() == [1]
    if source == "mot17":  # real detections + ByteTrack give tracks
        mot = list(readers.iter_mot_challenge(tmp_path / "mot" / "results_mot.txt"))
        assert sum(len(r) for r in mot) > 0


@pytest.fixture(scope="module")
def fixture_weights(tmp_path_factory) -> Path:
    require_fixture()
    folder = tmp_path_factory.mktemp("weights")
    torch.save({"model": upstream_state_dict("unicorn_track_tiny_mask"), "start_epoch": 15}, folder / "up.pth")
    out = folder / "tiny_mask.safetensors"
    assert main(["convert-checkpoint", str(folder / "up.pth"), str(out)]) == 0
    return out


def test_mot_and_mots_files_read_back_and_pass_trackeval(tmp_path, fixture_weights):
    trackeval = pytest.importorskip("trackeval")
    need_seq()
    frames = [cv2.imread(str(p)) for p in sorted((SEQ / "img1").glob("*.jpg"))[:3]]
    model = unicorn.load(str(fixture_weights), device="cpu")
    dets = SEQ / "det" / "det.txt"
    settings = {  # MOT: public detections + our ID features; MOTS: our (random-weight) detections and masks
        "mot": (["--detections", str(dets), "--association", "embedding"],
                {"detector": str(dets), "association": "embedding"}),
        "mots": (["--set", "init_score_thr=0.5", "--set", "obj_score_thr=0.3"],  # upstream's BDD100K MOTS values
                 {"init_score_thr": 0.5, "obj_score_thr": 0.3}),
    }
    for task in ("mot", "mots"):
        out = tmp_path / task
        flags, kwargs = settings[task]
        assert track([str(SEQ / "img1"), "--task", task, "--weights", str(fixture_weights), "--size", "256x384",
                      "--max-frames", "3", "--out", str(out), "--formats", "mot,mots" if task == "mots" else "mot",
                      *flags]) == 0
        tracker = unicorn.Tracker(model, task, input_size=(256, 384), **kwargs)
        expected = list(tracker.track(frames))
        back = list(readers.iter_mot_challenge(out / "results_mot.txt", num_frames=3))
        assert sum(len(r) for r in expected) > 0
        for got, want in zip(back, expected, strict=True):
            np.testing.assert_array_equal(got.track_ids, want.track_ids)
            np.testing.assert_allclose(got.boxes_xyxy, want.boxes_xyxy, atol=0.01)
        data, _ = trackeval.datasets.MotChallenge2DBox._load_simple_text_file(
            str(out / "results_mot.txt"), time_col=0, id_col=1, remove_negative_ids=True)
        assert len(data) > 0
        if task == "mots":
            masks_back = list(readers.iter_mots(out / "results_mots.txt", num_frames=3))
            for got, want in zip(masks_back, expected, strict=True):
                order = np.argsort(want.track_ids)
                np.testing.assert_array_equal(got.track_ids, want.track_ids[order])
                np.testing.assert_array_equal(got.masks, want.masks[order])
            seq = "MOTS20-05"
            (tmp_path / "gt" / seq / "gt").mkdir(parents=True)
            (tmp_path / "gt" / seq / "gt" / "gt.txt").write_text((out / "results_mots.txt").read_text())
            (tmp_path / "trk" / "ours" / "data").mkdir(parents=True)
            (tmp_path / "trk" / "ours" / "data" / f"{seq}.txt").write_text((out / "results_mots.txt").read_text())
            dataset = trackeval.datasets.MOTSChallenge({
                "GT_FOLDER": str(tmp_path / "gt"), "TRACKERS_FOLDER": str(tmp_path / "trk"),
                "SKIP_SPLIT_FOL": True, "SEQ_INFO": {seq: 3}, "PRINT_CONFIG": False})
            raw = dataset.get_raw_seq_data("ours", seq)
            prep = dataset.get_preprocessed_seq_data(raw, "pedestrian")
            hota = trackeval.metrics.HOTA({"PRINT_CONFIG": False}).eval_sequence(prep)
            assert hota["HOTA(0)"] == pytest.approx(1.0)
