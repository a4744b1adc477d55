"""Training-set readers on small layouts built here, and on the real files in ../shared/data where present."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from unicorn.data.pairs import PairDataset
from unicorn.data.skips import BadDataWarning
from unicorn.data.train_sets import TRAIN_SETS, open_train_set
from unicorn.data.transforms import PairTransform
from unicorn.errors import UserError

NO_AUG = PairTransform((64, 96), augment=False)
SHARED = Path(os.environ.get("UNICORN_TEST_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")


def shared(sub: str) -> Path:
    if not (SHARED / sub).exists():
        pytest.skip(f"real test data not found at {SHARED / sub}")
    return SHARED / sub


def jpg(path: Path, h: int = 48, w: int = 64, value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((h, w, 3), value, np.uint8))
    return path


def rle(mask: np.ndarray) -> dict:
    out = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(s) for s in out["size"]], "counts": out["counts"].decode()}


def pairs(source, task: str, n: int = 4) -> list:
    ds = PairDataset(source, task, (64, 96), transform=NO_AUG)
    return [ds[i] for i in range(n)]


def test_missing_folders_name_the_layout(tmp_path):
    for name in TRAIN_SETS:
        with pytest.raises(UserError, match=r"not found at .*expected layout: .*datasets/README\.md"):
            open_train_set(name, tmp_path / "nowhere")
    with pytest.raises(UserError, match="unknown training set"):
        open_train_set("imagenet", tmp_path)


@pytest.mark.filterwarnings("ignore::unicorn.data.skips.BadDataWarning")
def test_coco_boxes_masks_filters(tmp_path):
    jpg(tmp_path / "train2017" / "a.jpg")
    jpg(tmp_path / "train2017" / "b.jpg")
    poly = [[10, 10, 40, 10, 40, 40, 10, 40]]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 18, "bbox": [10, 10, 30, 30], "area": 900, "iscrowd": 0,
         "segmentation": poly},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 5, 10, 20], "area": 200, "iscrowd": 0,
         "segmentation": rle(np.pad(np.ones((20, 10)), ((5, 23), (50, 4))))},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 60, 40], "area": 9, "iscrowd": 1,
         "segmentation": poly},
        {"id": 4, "image_id": 2, "category_id": 1, "bbox": [5, 5, 0, 10], "area": 0, "iscrowd": 0,
         "segmentation": poly},
    ]
    images = [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
              {"id": 2, "file_name": "b.jpg", "width": 64, "height": 48}]
    cats = [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}]
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "instances_train2017.json").write_text(
        json.dumps({"images": images, "annotations": anns, "categories": cats}))
    with pytest.warns(BadDataWarning, match="zero-area box"):
        coco = open_train_set("coco", tmp_path)
    assert len(coco) == 1 and coco.skips.counts["zero-area box"] == 1  # image b has only a zero-area box
    frame = coco.video(0).load(0, with_masks=True)
    assert frame.classes.tolist() == [1, 0] and frame.track_ids.tolist() == [1, 2]
    assert frame.masks.shape == (2, 48, 64) and frame.masks[1].sum() == 200 and frame.masks[0, 20, 20] == 1
    assert open_train_set("coco", tmp_path, categories=("person",)).video(0).load(0).classes.tolist() == [0]
    assert len(open_train_set("coco", tmp_path, min_size=12).video(0).load(0)) == 1  # 10 px wide: out
    vos = pairs(coco, "vos")[0]
    assert vos.masks.shape == (2, 2, 32, 48) and vos.labels[0, :, 0].tolist() == [0, 0]
    assert pairs(coco, "sot")[0].labels.shape == (2, 1, 6)


def _sot_sequence(folder: Path, boxes: list, frames: int, names: str = "{:08d}.jpg") -> None:
    np.savetxt(folder / "groundtruth.txt", boxes, fmt="%d", delimiter=",")
    for k in range(frames):
        jpg(folder / names.format(k + 1), value=k)


def test_lasot_train_split_and_visibility(tmp_path):
    for name in ("cat-1", "cat-2"):
        seq = tmp_path / "cat" / name
        (seq / "img").mkdir(parents=True)
        _sot_sequence(seq, [[1, 2, 40, 40], [1, 2, 40, 40], [1, 2, 20, 40], [1, 2, 40, 40]], 4, "img/{:08d}.jpg")
        (seq / "full_occlusion.txt").write_text("0,0,0,1")
        (seq / "out_of_view.txt").write_text("0,0,0,0")
    (tmp_path / "testing_set.txt").write_text("cat-2\n")
    lasot = open_train_set("lasot", tmp_path)
    assert lasot.names == ["cat-1"]
    assert lasot.video(0).usable_frames().tolist() == [0, 1]  # frame 3 too small (20 px), frame 4 occluded
    s = pairs(lasot, "sot")[0]
    assert sorted(int(s.images[k, 0, 0, 0]) for k in (0, 1)) == [0, 1]


def test_got10k_and_trackingnet(tmp_path):
    seq = tmp_path / "train" / "GOT-10k_Train_000001"
    seq.mkdir(parents=True)
    (tmp_path / "train" / "list.txt").write_text("GOT-10k_Train_000001\nGOT-10k_Train_000002\n")
    _sot_sequence(seq, [[0, 0, 40, 40]] * 3, 3)
    (seq / "absence.label").write_text("0\n1\n0\n")
    (seq / "cover.label").write_text("8\n8\n3\n")
    (tmp_path / "vot_split.txt").write_text("0\n")
    got = open_train_set("got10k", tmp_path, sequence_list=tmp_path / "vot_split.txt")
    assert got.names == ["GOT-10k_Train_000001"] and got.video(0).usable_frames().tolist() == [0, 2]
    tn = tmp_path / "tn"
    (tn / "TRAIN_0" / "anno").mkdir(parents=True)
    np.savetxt(tn / "TRAIN_0" / "anno" / "v.txt", [[2, 2, 40, 36]] * 3, fmt="%d", delimiter=",")
    for k in range(3):
        jpg(tn / "TRAIN_0" / "frames" / "v" / f"{k}.jpg")
    trackingnet = open_train_set("trackingnet", tn)
    assert len(trackingnet) == 1 and len(pairs(trackingnet, "sot", 2)) == 2


def test_mot17_real_gt(tmp_path):
    mot = open_train_set("mot17", shared("mot17_mini"))
    assert len(mot) == 7 and mot.skips.total == 0
    video = mot.video(0)
    assert video.classes.max() == 0 and video.track_ids.min() >= 1
    s = pairs(mot, "mot", 2)[0]
    assert s.task == 2 and (s.labels[1, :, 5] > 0).sum() > 3


def test_mot17_empty_gt_and_zero_area_box_are_skipped(tmp_path):
    for name, rows in (("MOT17-01-FRCNN", ""), ("MOT17-02-FRCNN", "1,1,5,5,20,30,1,1,1\n1,2,9,9,0,30,1,1,1\n"
                                                                 "2,1,6,5,20,30,1,1,1\n")):
        (tmp_path / "train" / name / "gt").mkdir(parents=True)
        (tmp_path / "train" / name / "gt" / "gt.txt").write_text(rows)
        for k in (1, 2):
            jpg(tmp_path / "train" / name / "img1" / f"{k:06d}.jpg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mot = open_train_set("mot17", tmp_path)
    assert len(mot) == 1 and mot.skips.counts["empty annotation file"] == 1 and mot.skips.counts["zero-area box"] == 1
    assert any(issubclass(w.category, BadDataWarning) for w in caught)
    assert pairs(mot, "mot", 1)[0].labels.shape == (2, 1, 6)


def test_crowdhuman_odgt(tmp_path):
    jpg(tmp_path / "Images" / "1,a.jpg")
    lines = [json.dumps({"ID": "1,a", "gtboxes": [
        {"tag": "person", "fbox": [1, 2, 10, 20], "extra": {"ignore": 0}},
        {"tag": "person", "fbox": [5, 5, 10, 20], "extra": {"ignore": 1}},
        {"tag": "mask", "fbox": [5, 5, 10, 20], "extra": {}}]}), "{not json"]
    (tmp_path / "annotation_train.odgt").write_text("\n".join(lines) + "\n")
    with pytest.warns(BadDataWarning, match="unreadable annotation line"):
        ch = open_train_set("crowdhuman", tmp_path)
    assert len(ch) == 1 and ch.video(0).load(0).boxes_xyxy.tolist() == [[1, 2, 11, 22]]


def test_jde_citypersons_ethz_with_an_empty_label_file(tmp_path):
    for k, rows in enumerate(["0 -1 0.5 0.5 0.25 0.5\n0 3 0.2 0.3 0.1 0.2\n", ""]):
        jpg(tmp_path / "images" / "train" / "aachen" / f"{k}.png")
        label = tmp_path / "labels_with_ids" / "train" / "aachen" / f"{k}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(rows)
    city = open_train_set("citypersons", tmp_path)
    assert len(city) == 2
    frame = city.video(0).load(0)
    assert np.allclose(frame.boxes_xyxy[0], [24, 12, 40, 36]) and frame.track_ids.tolist() == [1, 2]
    with pytest.warns(BadDataWarning, match="empty annotation file"):
        samples = pairs(city, "mot", 4)
    assert all(s.labels.shape[1] == 2 for s in samples)
    assert len(open_train_set("ethz", tmp_path)) == 2


def test_bdd100k_real_json_in_the_training_layout(tmp_path):
    src = shared("scalabel_bdd100k")
    (tmp_path / "labels" / "box_track_20" / "train").mkdir(parents=True)
    shutil.copy(src / "box_track" / "track_sample_anns.json", tmp_path / "labels/box_track_20/train/v.json")
    (tmp_path / "labels" / "seg_track_20" / "rles" / "train").mkdir(parents=True)
    shutil.copy(src / "seg_track" / "seg_track_sample.json", tmp_path / "labels/seg_track_20/rles/train/v.json")
    box = open_train_set("bdd100k-box-track", tmp_path)
    video = box.video(0)
    assert video.num_frames == 202 and len(video.frames) == 3241 - 132  # crowd labels left out
    assert video.classes.max() < 8 and box.default_max_gap == 3
    assert str(video.image_path(0)).startswith(str(tmp_path / "images" / "track" / "train" / "b1c66a42-6f7d68ca"))
    seg = open_train_set("bdd100k-seg-track", tmp_path).video(0)
    assert len(seg.frames) == 1768 - 17 and len(seg.segmentations) == len(seg.frames)
    first = mask_utils.decode({"size": seg.segmentations[0]["size"], "counts": seg.segmentations[0]["counts"].encode()})
    ys, xs = np.nonzero(first)
    assert np.allclose(seg.boxes_xyxy[0], [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def test_bdd100k_det_and_ins_seg_images(tmp_path):
    jpg(tmp_path / "images" / "100k" / "train" / "a.jpg")
    labels = [{"category": "car", "box2d": {"x1": 1, "y1": 2, "x2": 30, "y2": 20}},
              {"category": "traffic light", "box2d": {"x1": 1, "y1": 2, "x2": 30, "y2": 20}},
              {"category": "pedestrian", "box2d": {"x1": 1, "y1": 2, "x2": 30, "y2": 20},
               "attributes": {"crowd": True}}]
    (tmp_path / "labels" / "det_20").mkdir(parents=True)
    (tmp_path / "labels" / "det_20" / "det_train.json").write_text(json.dumps([{"name": "a.jpg", "labels": labels}]))
    det = open_train_set("bdd100k-det", tmp_path)
    assert det.video(0).load(0).classes.tolist() == [2] and not det.is_video
    jpg(tmp_path / "images" / "10k" / "train" / "b.jpg")
    mask = np.zeros((48, 64), np.uint8)
    mask[10:20, 5:25] = 1
    (tmp_path / "labels" / "ins_seg" / "rles").mkdir(parents=True)
    (tmp_path / "labels" / "ins_seg" / "rles" / "ins_seg_train.json").write_text(json.dumps(
        {"frames": [{"name": "b.jpg", "labels": [{"category": "bus", "rle": rle(mask)}]}]}))
    ins = open_train_set("bdd100k-ins-seg", tmp_path)
    s = pairs(ins, "mots", 1)[0]
    assert s.labels[0, 0, 0] == 4 and s.masks.shape == (2, 1, 32, 48) and s.masks.sum() > 0


def test_davis_real_masks():
    davis = open_train_set("davis2017", shared("davis2016_val"), split="val")
    index = davis.names.index("blackswan")
    frame = davis.video(index).load(10, with_masks=True)
    ys, xs = np.nonzero(frame.masks[0])
    assert frame.track_ids.tolist() == [1] and frame.image.shape == (480, 854, 3)
    assert frame.boxes_xyxy[0].tolist() == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    assert pairs(davis, "vos", 1)[0].masks is not None  # videos without frames are skipped


def _palette_png(path: Path, labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(labels.astype(np.uint8), mode="P")
    img.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    img.save(path)


def test_youtube_vos_and_davis_layouts(tmp_path):
    labels = np.zeros((48, 64), np.uint8)
    labels[5:15, 5:20], labels[30:40, 40:60] = 1, 2
    for k in (0, 5, 10):
        jpg(tmp_path / "train" / "JPEGImages" / "v1" / f"{k:05d}.jpg")
    for k in (0, 10):
        _palette_png(tmp_path / "train" / "Annotations" / "v1" / f"{k:05d}.png", labels)
    ytvos = open_train_set("youtube-vos", tmp_path)
    assert ytvos.video(0).usable_frames().tolist() == [0, 2]
    s = pairs(ytvos, "vos", 1)[0]
    assert s.labels[0, :, 5].tolist() == [1, 2] and abs(int(s.masks[0, 1].sum()) - 10 * 20 * (2 / 3) ** 2) < 8
    davis = tmp_path / "davis"
    (davis / "ImageSets" / "2017").mkdir(parents=True)
    (davis / "ImageSets" / "2017" / "train.txt").write_text("bear\n")
    for k in range(2):
        jpg(davis / "JPEGImages" / "480p" / "bear" / f"{k:05d}.jpg")
        _palette_png(davis / "Annotations" / "480p" / "bear" / f"{k:05d}.png", labels)
    assert pairs(open_train_set("davis2017", davis), "vos", 1)[0].labels.shape == (2, 2, 6)


def test_mots20_layout(tmp_path):
    seq = tmp_path / "train" / "MOTS20-02"
    (seq / "gt").mkdir(parents=True)
    a, b = np.zeros((48, 64), np.uint8), np.zeros((48, 64), np.uint8)
    a[5:25, 5:15], b[10:40, 30:50] = 1, 1
    rows = [f"{f} 2001 2 48 64 {rle(a)['counts']}" for f in (1, 2)] + [f"1 10000 10 48 64 {rle(b)['counts']}"]
    (seq / "gt" / "gt.txt").write_text("\n".join(rows) + "\n")
    for k in (1, 2):
        jpg(seq / "img1" / f"{k:06d}.jpg")
    mots = open_train_set("mots20", tmp_path)
    assert len(mots.video(0).frames) == 2  # the ignore region is left out
    s = pairs(mots, "mots", 1)[0]
    r = 4 / 3  # 48x64 letterboxed into 64x96
    assert np.allclose(s.labels[:, 0].numpy(), [[0, 10 * r, 15 * r, 10 * r, 20 * r, 2001]] * 2)
    assert abs(int(s.masks[0, 0].sum()) - 10 * 20 * (r / 2) ** 2) < 15  # edge pixels round either way


def test_saliency_largest_region_and_missing_mask(tmp_path):
    for k in range(2):
        jpg(tmp_path / "image" / f"{k:08d}.jpg")
    (tmp_path / "mask").mkdir()
    mask = np.zeros((48, 64), np.uint8)
    mask[5:30, 5:30], mask[40:44, 50:54] = 255, 255
    cv2.imwrite(str(tmp_path / "mask" / "00000000.png"), mask)
    sal = open_train_set("saliency", tmp_path)
    frame = sal.video(0).load(0, with_masks=True)
    assert frame.boxes_xyxy.tolist() == [[5, 5, 30, 30]] and frame.masks.sum() == 25 * 25
    with pytest.warns(BadDataWarning, match="missing mask"):
        samples = pairs(sal, "vos", 3)
    r = 4 / 3
    assert all(np.allclose(s.labels[0, 0, 1:5].numpy(), [17.5 * r, 17.5 * r, 25 * r, 25 * r]) for s in samples)
