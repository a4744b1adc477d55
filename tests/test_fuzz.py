"""Fuzzing what a user can type or pass: settings, command lines, prompts, frames and files.

Every case either works or raises the project's one-line ``UserError`` (exit code 2 on the command
line); never another exception, and never a setting that is silently negative or not a number.
The budget is small (``max_examples`` per test) so that the suite stays in the default run.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import unicorn
from unicorn.api import check_settings
from unicorn.cli import main
from unicorn.errors import UserError
from unicorn.models.build import build_model
from unicorn.trackers.association.bytetrack import ByteTrackConfig
from unicorn.trackers.association.embedding import EmbeddingMatcherConfig
from unicorn.trackers.configs import MOTConfig, SOTConfig

SAMPLE = str(Path(unicorn.__path__[0]) / "assets" / "sample.mp4")  # 320x240
SIZE = (64, 96)


def fuzz(examples: int) -> settings:
    """A fixed, small budget: the same cases every run (derandomized), no deadline on a shared CPU."""
    return settings(max_examples=examples, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])




def floats(low: float | None = None, high: float | None = None) -> st.SearchStrategy[float]:
    """Floats without subnormals: ``unicorn.load`` flushes denormals to zero for the whole process on a CPU,
    which hypothesis refuses to generate them under."""
    if low is None and high is None:
        return st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False)
    return st.floats(low, high, allow_subnormal=False)


KEYS = sorted({f.name for c in (SOTConfig, MOTConfig, ByteTrackConfig, EmbeddingMatcherConfig)
               for f in dataclasses.fields(c)} - {"bytetrack", "embedding"})
values = st.one_of(floats(), st.integers(-10**6, 10**6), st.booleans(),
                   st.none(), st.text(max_size=6), st.lists(st.integers(-3, 1000), max_size=3),
                   st.sampled_from(["bytetrack", "embedding", "auto", "model", "nanodet-g", "bisoftmax", "0.5"]))
_MODEL = {}


def model():
    if "m" not in _MODEL:
        _MODEL["m"] = build_model("unicorn-lite").eval()
    return _MODEL["m"]


def _numbers(cfg) -> list[tuple[str, float]]:
    out = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            out += _numbers(v)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            out.append((f.name, v))
    return out


@fuzz(300)
@given(task=st.sampled_from(["sot", "vos", "mot", "mots"]),
       chosen=st.dictionaries(st.sampled_from(KEYS), values, max_size=4))
def test_settings_are_kept_only_when_valid(task, chosen):
    try:
        _, cfg, _ = check_settings(task, **chosen)
    except UserError as exc:
        assert "\n" not in str(exc)
        event("refused")
        return
    event("accepted")
    for name, value in _numbers(cfg):
        assert math.isfinite(value) and value >= 0, f"{name}={value} was accepted"


cli_words = st.lists(st.one_of(
    st.tuples(st.just("--set"), st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS),
                                          st.sampled_from(["-1", "abc", ".nan", "1e9", "0.5", "[1, 2]", "", "30"]))),
    st.tuples(st.just("--size"), st.sampled_from(["0x0", "-32x64", "32x32", "64x96", "1x1", "axb", "64"])),
    st.tuples(st.just("--box"), st.sampled_from(["-50,-50,20,20", "10,10,20,20", "1,2,3", "nan,1,2,3",
                                                 "10,10,0,5", "400,10,5,5", "a,b,c,d"])),
    st.tuples(st.just("--max-frames"), st.sampled_from(["0", "-3", "2", "x"])),
    st.tuples(st.just("--classes"), st.sampled_from(["999", "person", "0,1", "-1", "dragon"])),
    st.tuples(st.just("--formats"), st.sampled_from(["davis", "json", "nope", "mot,video"])),
    st.tuples(st.just("--task"), st.sampled_from(["sot", "vos", "mot", "mots", "pose"])),
), max_size=4)


class _Reached(Exception):
    """Raised instead of loading the model: every check before it passed."""


@fuzz(100)
@given(words=cli_words)
def test_command_line_refuses_with_exit_2_before_any_folder(words, tmp_path_factory, monkeypatch):
    def reached(*args, **kwargs):
        raise _Reached

    monkeypatch.setattr(unicorn, "load", reached)
    out = tmp_path_factory.mktemp("cli") / "out"
    argv = ["track", SAMPLE, "--out", str(out), *(w for pair in words for w in pair)]
    try:
        assert main(argv) == 2
        event("refused (exit 2)")
    except SystemExit as stop:  # argparse
        assert stop.code == 2
        event("argument error (exit 2)")
    except _Reached:
        event("every check passed")
    assert not out.exists()


boxes = st.one_of(
    st.lists(st.one_of(floats(-100, 300), st.sampled_from([math.nan, math.inf, -math.inf])), min_size=4,
             max_size=4),
    st.lists(st.lists(floats(-50, 200), min_size=4, max_size=4), min_size=1, max_size=3),
    st.lists(st.text(max_size=4), max_size=2), st.integers(), st.none(), st.just([]),
)
frames = st.builds(lambda h, w, c, dtype, v: np.full((h, w, c)[:3 if c else 2], v).astype(dtype),
                   st.integers(4, 80), st.integers(4, 80), st.sampled_from([0, 1, 3, 4]),
                   st.sampled_from([np.uint8, np.float32, np.int64]), st.integers(0, 255))


@fuzz(60)
@given(data=st.data(), first=st.one_of(st.just(np.full((48, 64, 3), 90, np.uint8)), frames),
       same_size=st.booleans(), garbage=st.booleans())
def test_sot_prompts_and_frames(data, first, same_size, garbage):
    h, w = first.shape[:2]
    box = data.draw(boxes) if garbage else data.draw(st.tuples(floats(-10, w), floats(-10, h),
                                                               floats(0.5, w), floats(0.5, h)))
    second = first if same_size else data.draw(frames)
    ids = data.draw(st.one_of(st.none(), st.just([1]), st.just(["a"]), st.just([0])))
    tracker = unicorn.Tracker(model(), "sot", input_size=SIZE)
    try:
        tracker.init(first, boxes=box, ids=ids)
        result = tracker.step(second)
    except UserError as exc:
        assert "\n" not in str(exc)
        event(f"refused: {str(exc)[:50]}")
        return
    event("tracked")
    assert np.isfinite(result.boxes_xyxy).all() and second.shape[:2] == first.shape[:2]


def _mask(h: int, w: int, dtype: type, value: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # NaN cast to an integer type: whatever numpy makes of it
        return np.where(np.arange(h * w).reshape(h, w) % 7 == 0, value, 0).astype(dtype)


masks = st.builds(_mask, st.sampled_from([48, 60]), st.sampled_from([64, 80]),
                  st.sampled_from([np.uint8, np.int64, np.float32, np.bool_]),
                  st.sampled_from([1, 2, 255, 300, -1, 0.5, np.nan]))


@fuzz(30)
@given(mask=masks, stacked=st.booleans())
def test_vos_masks(mask, stacked):
    tracker = unicorn.Tracker(model(), "vos", input_size=SIZE)
    frame = np.full((48, 64, 3), 100, np.uint8)
    try:
        first = tracker.init(frame, masks=mask[None] if stacked else mask)
        tracker.step(frame)
    except UserError as exc:
        assert "\n" not in str(exc)
        event("refused")
        return
    event("tracked")
    assert mask.shape == (48, 64) and (first.track_ids > 0).all()


@fuzz(40)
@given(task=st.sampled_from(["mot", "mots"]),
       chosen=st.dictionaries(st.sampled_from([k for k in KEYS if k != "detector"]), values, max_size=3))
def test_mot_settings_then_tracking(task, chosen):
    frame = np.full((48, 64, 3), 90, np.uint8)
    frame[10:30, 20:40] = 200
    try:
        tracker = unicorn.Tracker(model(), task, input_size=SIZE, detector="model", **chosen)
        results = [tracker.init(frame), tracker.step(frame)]
    except UserError as exc:
        assert "\n" not in str(exc)
        event("refused")
        return
    event("tracked")
    assert all(np.isfinite(r.boxes_xyxy).all() and (r.track_ids > 0).all() for r in results)


@fuzz(30)
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".safetensors", ".pth", ".pt"]))
def test_weight_files(data, suffix, tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / f"weights{suffix}"
    path.write_bytes(data)
    with pytest.raises(UserError):
        unicorn.load(str(path), device="cpu")


text_rows = st.lists(st.lists(st.sampled_from(["1", "2", "1.5", "-3", "nan", "inf", "x", "", "20", "1e9"]),
                              min_size=0, max_size=10).map(",".join), max_size=5).map("\n".join)


@fuzz(40)
@given(text=text_rows)
def test_detection_and_result_files(text, tmp_path_factory):
    from unicorn.evaluation.results_io import read_mot_result
    from unicorn.trackers.mot import load_mot_detections

    path = tmp_path_factory.mktemp("t") / "rows.txt"
    path.write_text(text)
    for read in (lambda: load_mot_detections(path), lambda: read_mot_result(path, 30)):
        try:
            read()
        except UserError as exc:
            assert str(path) in str(exc)


def _png_or_bytes(kind: str, values: list[int], data: bytes, path: Path) -> None:
    if kind == "bytes":
        path.write_bytes(data)
        return
    from PIL import Image

    dtype = np.uint16 if kind == "uint16" else np.uint8
    arr = np.resize(np.asarray(values or [0], dtype=np.int64), 240 * 320).reshape(240, 320)
    shape = (120, 160) if kind == "small" else (240, 320)
    Image.fromarray(arr[:shape[0], :shape[1]].astype(dtype)).save(path)


@fuzz(30)
@given(kind=st.sampled_from(["uint8", "uint16", "small", "bytes"]),
       values=st.lists(st.integers(0, 700), max_size=6), data=st.binary(max_size=200))
def test_mask_files_on_the_command_line(kind, values, data, tmp_path_factory, monkeypatch):
    def reached(*args, **kwargs):
        raise _Reached

    monkeypatch.setattr(unicorn, "load", reached)
    folder = tmp_path_factory.mktemp("mask")
    _png_or_bytes(kind, values, data, folder / "mask.png")
    try:
        assert main(["track", SAMPLE, "--task", "vos", "--mask", str(folder / "mask.png"), "--out",
                     str(folder / "out")]) == 2
        event("refused (exit 2)")
    except _Reached:
        event("every check passed")
    assert not (folder / "out").exists()
