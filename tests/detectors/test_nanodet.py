"""The bundled NanoDet-g detector: raw outputs equal the original TF.js graph's, decoding, real frames, MOT wiring."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

import unicorn
from unicorn.cli import main
from unicorn.data.video_io import open_video
from unicorn.detectors.nanodet import (
    INPUT_SIZE,
    WEIGHTS,
    NanoDetDetector,
    cell_centres,
    decode,
    distribution_to_distance,
    load_nanodet,
    select,
    tfjs_conv_order,
)
from unicorn.errors import UserError
from unicorn.models.build import build_model
from unicorn.trackers.configs import MOTConfig
from unicorn.trackers.mot import MOTTracker
from unicorn.trackers.settings import tracker_config
from unicorn.variants import VARIANTS, get_variant

from ..conftest import torch_threads
from ..models.conftest import MOT17_MINI

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "nanodet_reference.npz"
SAMPLE = Path(unicorn.__file__).parent / "assets" / "sample.mp4"
MOT17_04 = MOT17_MINI / "train" / "MOT17-04-FRCNN"


def pattern_input(size: int = INPUT_SIZE) -> torch.Tensor:
    """The deterministic input of tools/nanodet_reference.js (same formula, float64 then float32)."""
    c, y, x = np.meshgrid(np.arange(3), np.arange(size), np.arange(size), indexing="ij")
    ramp = (x + y) / (2 * (size - 1))
    noise = ((31 * x + 17 * y + 7 * c + x * y) % 97) / 96
    return torch.from_numpy((0.5 * ramp + 0.5 * noise).astype(np.float32))[None]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread: steadier on a busy 2-core machine (these are correctness checks, not benchmarks)."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def net():
    return load_nanodet()


@pytest.fixture(scope="module")
def small_model():
    """unicorn-lite's architecture without its ImageNet download; no variant (as if loaded from a file)."""
    torch.manual_seed(0)
    return build_model(replace(get_variant("unicorn-lite").config, pretrained_backbone=False)).eval()


def test_raw_outputs_equal_tfjs(net):
    ref = np.load(FIXTURE)
    with torch.inference_mode():
        out = net(pattern_input())
    for (cls, reg), stride in zip(out, (8, 16, 32)):
        for key, tensor in ((f"cls_s{stride}", cls), (f"reg_s{stride}", reg)):
            full = tensor[0].double().numpy()
            rows = ref[f"{key}_rows"]
            assert full.shape[0] == (INPUT_SIZE // stride) ** 2
            # float16 weights, float32 maths on both sides: measured max difference 1.1e-5
            np.testing.assert_allclose(full[rows], ref[key], rtol=0, atol=1e-4, err_msg=key)
            total, abs_total, low, high = ref[f"{key}_stats"]
            np.testing.assert_allclose([full.sum(), np.abs(full).sum()], [total, abs_total], rtol=1e-5, atol=0.02)
            np.testing.assert_allclose([full.min(), full.max()], [low, high], atol=1e-4)


def test_weights_cover_every_conv_of_the_graph(net):
    order = tfjs_conv_order()
    assert len(order) == 34  # convolution, convolution_1 ... convolution_33 in the TF.js graph
    convs = {n for n, m in net.named_modules() if isinstance(m, torch.nn.Conv2d)}
    assert convs == set(order)
    assert all(v.dtype == torch.float32 for v in net.state_dict().values())


def test_decoding_single_bin_gives_known_box():
    # input 64x64: levels 8x8 (stride 8), 4x4 (16), 2x2 (32); one confident cell on the stride-8 level
    outputs = []
    for stride in (8, 16, 32):
        n = (64 // stride) ** 2
        outputs.append((torch.zeros(1, n, 80), torch.zeros(1, n, 44)))
    cls, reg = outputs[0]
    cell = 2 * 8 + 3  # row 2, column 3 -> centre ((3 + 0.5) * 8, (2 + 0.5) * 8) = (28, 20)
    cls[0, cell, 0] = 0.9
    for side, b in enumerate((1, 2, 3, 4)):  # left, top, right, bottom: all mass on bin b
        reg[0, cell, side * 11 + b] = 50.0
    boxes, scores = decode(outputs, (64, 64))
    np.testing.assert_allclose(boxes[cell].numpy(), [28 - 8, 20 - 16, 28 + 24, 20 + 32], atol=1e-4)
    kept_boxes, kept_scores, labels = select(boxes, scores, 0.5, 0.6)
    assert labels.tolist() == [0] and kept_scores.tolist() == pytest.approx([0.9])
    assert select(boxes, scores, 0.5, 0.6, classes=(2,))[0].shape == (0, 4)


def test_distribution_integral_and_centres():
    logits = torch.full((1, 44), -1e4)
    logits[0, [2, 3]] = 0.0         # left: half on bin 2, half on bin 3 -> 2.5
    logits[0, 11:22] = 0.0          # top: uniform -> 5
    logits[0, 22 + 10] = 0.0        # right: bin 10 (reg_max)
    logits[0, 33] = 0.0             # bottom: bin 0
    np.testing.assert_allclose(distribution_to_distance(logits)[0].numpy(), [2.5, 5.0, 10.0, 0.0], atol=1e-5)
    np.testing.assert_allclose(cell_centres(2, 3, 16).numpy(),
                               [[8, 8], [24, 8], [40, 8], [8, 24], [24, 24], [40, 24]])


def _gt_frame1(seq: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gt = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",")
    gt = gt[gt[:, 0] == 1]
    boxes = gt[:, 2:6].copy()
    boxes[:, 2:] += boxes[:, :2]
    pedestrian = (gt[:, 6] == 1) & (gt[:, 7] == 1)
    return boxes, pedestrian, gt[:, 8]


def test_finds_the_pedestrians_of_a_real_frame():
    if not (MOT17_04 / "img1").is_dir():
        pytest.skip(f"MOT17-04 frames not found at {MOT17_04}")
    frame = cv2.imread(str(MOT17_04 / "img1" / "000001.jpg"))
    boxes, scores, classes = NanoDetDetector(score_thresh=0.3, classes=(0,))(frame, 0)
    assert boxes.dtype == np.float32 and scores.dtype == np.float32 and classes.dtype == np.int64
    assert (classes == 0).all() and (np.diff(scores) <= 0).all()
    gt, pedestrian, visibility = _gt_frame1(MOT17_04)
    iou = box_iou(torch.from_numpy(boxes).double(), torch.from_numpy(gt)).numpy()
    matched, tp, fp = np.zeros(len(gt), bool), 0, 0
    for i in range(len(boxes)):  # greedy by score; a box on an ignored entry (distractor, static person) is neither
        cand = np.where(pedestrian & ~matched, iou[i], 0.0)
        j = int(cand.argmax())
        if cand[j] >= 0.5:
            matched[j], tp = True, tp + 1
        elif not (iou[i][~pedestrian] >= 0.5).any():
            fp += 1
    precision = tp / max(tp + fp, 1)
    recall = matched[pedestrian].mean()
    recall_visible = matched[pedestrian & (visibility >= 0.5)].mean()
    # measured: 21 boxes, precision 0.76, recall 0.38 (42 pedestrians), 0.60 of the 25 at least half visible
    assert precision >= 0.65 and recall >= 0.3 and recall_visible >= 0.5, (precision, recall, recall_visible)


def test_missing_or_wrong_weights_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="tools/convert_nanodet.py"):
        NanoDetDetector(weights=tmp_path / "absent.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(UserError, match="does not hold NanoDet-g weights"):
        NanoDetDetector(weights=tmp_path / "other.safetensors")
    with pytest.raises(UserError, match="multiple of 32"):
        NanoDetDetector(input_size=400)
    assert WEIGHTS.is_file()


def sample_frames(n: int = 3) -> list[np.ndarray]:
    source = open_video(str(SAMPLE))
    try:
        return [f for _, f in zip(range(n), source)]
    finally:
        source.close()


def test_mot_tracker_with_nanodet_skips_the_network(small_model, monkeypatch):
    tracker = unicorn.Tracker(small_model, "mot", detector="nanodet-g", input_size=(64, 96))
    assert isinstance(tracker.detector, NanoDetDetector) and tracker.config.detector == "nanodet-g"
    assert tracker.detector.score_thresh == pytest.approx(0.1)  # ByteTrack's low_thresh: lower boxes are unused
    monkeypatch.setattr(small_model, "extract_features", lambda *a, **k: pytest.fail("the network ran"))
    frames = sample_frames()
    results = list(tracker.track(frames))
    assert [r.frame_index for r in results] == [0, 1, 2]
    assert all(r.image_size == frames[0].shape[:2] for r in results)
    monkeypatch.undo()
    # embedding association needs the network's features; it runs with NanoDet boxes too
    emb = MOTTracker(small_model, MOTConfig(detector="nanodet-g", association="embedding", classes=(0,)), (64, 96))
    assert emb.detector.classes == (0,)
    assert len(list(emb.track(frames[:2]))) == 2


def test_detector_choice_auto_model_and_mots(small_model):
    assert tracker_config(small_model, "mot").detector == "model"  # no variant (a model from a file): its own head
    assert MOTTracker(small_model, MOTConfig(), (64, 96)).detector is None
    small_model.variant = "unicorn-lite"
    try:
        assert tracker_config(small_model, "mot").detector == "nanodet-g"
        assert isinstance(MOTTracker(small_model, MOTConfig(), (64, 96)).detector, NanoDetDetector)
        assert MOTTracker(small_model, MOTConfig(detector="model"), (64, 96)).detector is None
        # a memory embedding makes masks inside any box: MOTS runs on NanoDet-g too
        mots = unicorn.Tracker(small_model, "mots", input_size=(64, 96))
        assert isinstance(mots.detector, NanoDetDetector)
        assert len(list(mots.track([np.zeros((64, 96, 3), np.uint8)] * 2))) == 2
        deformable = build_model(replace(small_model.config, embedding="deformable")).eval()
        with pytest.raises(UserError, match="MOTS needs the model's own detections"):
            unicorn.Tracker(deformable, "mots", detector="nanodet-g")
    finally:
        small_model.variant = None
    assert {v.name for v in VARIANTS.values() if v.defaults_for("mot").get("detector", "model") != "model"} == {
        "unicorn-lite"}
    with pytest.raises(UserError, match="detector=.yolo. is not allowed: it must be one of"):
        MOTConfig(detector="yolo")


def test_cli_detector_flag_and_set(tmp_path):
    def track(*args: str) -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return main(["track", str(SAMPLE), "--task", "mot", "--max-frames", "2", "--size", "64x96",
                         "--device", "cpu", "--formats", "mot,json", *args])

    assert track("--set", "detector=nanodet-g", "--classes", "person", "--out", str(tmp_path / "a")) == 0
    assert (tmp_path / "a" / "results_mot.txt").exists()
    # checked before the model loads
    assert track("--detector", "nanodet-g", "--detections", str(tmp_path / "x.txt"), "--out", str(tmp_path / "c")) == 2
    assert track("--set", "detector=yolo", "--out", str(tmp_path / "d")) == 2


def test_network_size_follows_the_aspect_ratio():
    det = NanoDetDetector()
    assert det.network_size((1080, 1920)) == (416, 736)  # 416 x 739.6 -> capped at 736
    assert det.network_size((480, 640)) == (416, 576)  # 416 x 554.7 -> next multiple of 32
    assert det.network_size((1920, 1080)) == (736, 416)
    assert det.network_size((500, 500)) == (416, 416)
    assert NanoDetDetector(max_long_side=416).network_size((1080, 1920)) == (416, 416)


def test_mot_tracker_runs_nanodet_at_its_detector_size(small_model):
    tracker = MOTTracker(small_model, MOTConfig(detector="nanodet-g"), (64, 96))
    assert tracker.detector.network_size((1080, 1920)) == (608, 1088)  # 608 x 1080.9 -> 1088 (16:9 fits)
    assert tracker.detector.network_size((480, 640)) == (480, 640)  # not enlarged past the frame
    assert tracker.detector.network_size((240, 320)) == (416, 576)  # small frames still get the trained 416
    fast = MOTTracker(small_model, MOTConfig(detector="nanodet-g", detector_size=416), (64, 96))
    assert fast.detector.network_size((1080, 1920)) == (416, 768)  # 416 x 739.6: the same scale as before
    with pytest.raises(UserError, match="detector_size must be a positive multiple of 32"):
        MOTConfig(detector_size=600)
