"""First-frame prompts: boxes from two clicks or typed text, mask PNGs, and their overlay."""

import numpy as np
import pytest
from PIL import Image

from unicorn.demo.prompts import Prompts, box_from_corners, draw_prompts, format_boxes, parse_boxes, read_mask_png
from unicorn.errors import UserError

SIZE = (60, 80)  # H, W


def test_box_from_corners_any_order_and_clipped():
    assert box_from_corners((10, 20), (40, 50), SIZE) == (10, 20, 30, 30)
    assert box_from_corners((40, 50), (10, 20), SIZE) == (10, 20, 30, 30)
    assert box_from_corners((70, 5), (95, 70), SIZE) == (70, 5, 10, 55)  # clipped to 80x60


def test_box_from_corners_refuses_a_line():
    with pytest.raises(UserError, match="thinner than"):
        box_from_corners((10, 20), (11, 50), SIZE)


def test_typed_boxes_round_trip():
    boxes = [(1.5, 2, 30, 40), (10, 10, 5, 5)]
    assert parse_boxes(format_boxes(boxes), SIZE) == boxes
    assert parse_boxes("1 2 3 4\n\n 5,6 ,7, 8 ", SIZE) == [(1, 2, 3, 4), (5, 6, 7, 8)]
    assert parse_boxes("", SIZE) == []


@pytest.mark.parametrize("text, message", [("1, 2, 3", "four numbers"), ("a, b, c, d", "four numbers"),
                                           ("1, 2, 0, 4", "positive"), ("100, 2, 3, 4", "outside the 80x60")])
def test_typed_boxes_errors_name_the_line(text, message):
    with pytest.raises(UserError, match=message):
        parse_boxes("5, 5, 10, 10\n" + text, SIZE)


def test_mask_png_index_and_palette(tmp_path):
    index = np.zeros(SIZE, np.uint8)
    index[5:10, 5:10] = 3
    index[20:30, 40:50] = 7
    Image.fromarray(index).save(tmp_path / "index.png")
    pal = Image.fromarray(index, mode="L").convert("P")
    pal.putpalette([0, 0, 0, 255, 0, 0] * 128)
    pal.save(tmp_path / "palette.png")
    for name in ("index.png", "palette.png"):
        got = read_mask_png(tmp_path / name, SIZE)
        assert got.dtype == np.int32 and sorted(np.unique(got)) == [0, 1, 2]  # renumbered 1..K
        assert (got == 1).sum() == 25 and (got == 2).sum() == 100


def test_mask_png_rgb_drawing_gives_one_object_per_colour(tmp_path):
    rgb = np.zeros((*SIZE, 3), np.uint8)
    rgb[0:10, 0:10] = (255, 0, 0)
    rgb[30:40, 30:40] = (0, 255, 0)
    Image.fromarray(rgb).save(tmp_path / "drawing.png")
    got = read_mask_png(tmp_path / "drawing.png", SIZE)
    assert sorted(np.unique(got)) == [0, 1, 2]
    assert got[5, 5] != got[35, 35] and got[50, 70] == 0


def test_mask_png_errors(tmp_path):
    Image.fromarray(np.ones((10, 10), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(UserError, match="is 10x10 but the video is 80x60"):
        read_mask_png(tmp_path / "small.png", SIZE)
    Image.fromarray(np.zeros(SIZE, np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(UserError, match="no object"):
        read_mask_png(tmp_path / "blank.png", SIZE)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(UserError, match="text.png is not an image"):
        read_mask_png(tmp_path / "text.png", SIZE)


def test_draw_prompts_marks_box_edges_and_keeps_the_frame():
    frame = np.full((*SIZE, 3), 100, np.uint8)
    mask = np.zeros(SIZE, np.int32)
    mask[40:50, 60:70] = 1
    out = draw_prompts(frame, Prompts(boxes_xywh=[(10, 10, 20, 20)], pending=(50, 50), mask=mask))
    assert out.shape == frame.shape and (frame == 100).all()  # a copy
    assert (out[10, 15] != 100).any() and (out[20, 20] == 100).all()  # box edge drawn, inside untouched
    assert (out[45, 65] != 100).any() and (out[5, 75] == 100).all()  # mask tinted, background not
