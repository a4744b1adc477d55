"""Pair sampling, augmentation, mixing, the alternating batch sampler, bad data, and the loss on a real batch."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from unicorn.data.pairs import AlternatingTaskSampler, MixedPairDataset, PairDataset, TaskConcatDataset
from unicorn.data.samples import PairSample, collate_pairs
from unicorn.data.skips import BadDataWarning
from unicorn.data.synthetic import SyntheticPairDataset
from unicorn.data.train_sets.base import FrameLabels, TableVideo, TrainSet, Video
from unicorn.data.transforms import PairTransform
from unicorn.preprocess import letterbox


class ToyVideo(Video):
    """T frames of 40x80; object 1 everywhere, object 2 in odd frames; the image encodes the frame index."""

    def __init__(self, num_frames: int) -> None:
        self.name, self.num_frames = "toy", num_frames

    def usable_frames(self) -> np.ndarray:
        return np.arange(self.num_frames)

    def load(self, t: int, with_masks: bool = False) -> FrameLabels:
        image = np.full((40, 80, 3), t, np.uint8)
        boxes = [[10, 5, 30, 25], [40, 10, 70, 30]][: 1 + t % 2]
        masks = np.zeros((len(boxes), 40, 80), np.uint8) if with_masks else None
        for k, (x1, y1, x2, y2) in enumerate(boxes):
            if masks is not None:
                masks[k, y1:y2, x1:x2] = 1
        return FrameLabels(image, boxes, np.arange(1, len(boxes) + 1), [3, 5][: len(boxes)], masks)


class ToySet(TrainSet):
    name = "toy"
    has_masks = True

    def __init__(self, n: int = 3, num_frames: int = 50, is_video: bool = True, max_gap: int | None = None) -> None:
        super().__init__(".")
        self.n, self.num_frames, self.is_video, self.default_max_gap = n, num_frames, is_video, max_gap

    def __len__(self) -> int:
        return self.n

    def video(self, index: int) -> Video:
        return ToyVideo(self.num_frames if self.is_video else 1)


NO_AUG = PairTransform((32, 64), augment=False)


def frame_of(sample: PairSample, k: int) -> int:
    return int(sample.images[k, 0, 0, 0])


def test_letterbox_and_shared_flip_by_hand():
    image = np.zeros((100, 200, 3), np.uint8)
    out, r = letterbox(image, (64, 64))
    assert r == 0.32 and out.shape == (64, 64, 3) and (out[32:] == 114).all() and (out[:32] == 0).all()
    frame = FrameLabels(image, [[10, 20, 50, 60]], [4], [2])
    flipped = PairTransform((64, 64), flip_prob=1.0, hsv_prob=0.0)(frame, frame, "mot", np.random.default_rng(0))
    # x1' = 200 - 50 = 150, x2' = 190 -> cx = 170 * 0.32, cy = 40 * 0.32, w = h = 40 * 0.32
    expected = [2, 170 * 0.32, 40 * 0.32, 12.8, 12.8, 4]
    assert flipped.labels.shape == (2, 1, 6) and torch.allclose(flipped.labels[0, 0], torch.tensor(expected))
    assert torch.equal(flipped.labels[0], flipped.labels[1])


def test_hsv_changes_content_not_padding_and_labels_are_capped():
    image = np.random.default_rng(0).integers(0, 255, (30, 80, 3), dtype=np.uint8)
    boxes = np.asarray([[i, 0, i + 5, 5] for i in range(60)])
    frame = FrameLabels(image, boxes, np.arange(1, 61), np.zeros(60))
    sample = PairTransform((64, 64), hsv_prob=1.0, flip_prob=0.0, max_labels=50)(frame, frame, "mot",
                                                                                np.random.default_rng(1))
    plain, _ = letterbox(image, (64, 64))
    got = sample.images[0].numpy().transpose(1, 2, 0)
    assert (got[24:] == 114).all() and not np.array_equal(got[:24], plain[:24])
    assert sample.labels.shape == (2, 50, 6)


def test_sot_pairs_whole_sequence_mot_pairs_within_gap():
    sot = PairDataset(ToySet(), "sot", (32, 64), transform=NO_AUG)
    gaps = [abs(frame_of(s, 0) - frame_of(s, 1)) for s in (sot[i] for i in range(60))]
    assert min(gaps) >= 1 and max(gaps) > 20  # distinct frames from the whole video
    assert all(s.labels.shape == (2, 1, 6) and s.labels[:, 0, 5].tolist() == [1, 1] and s.labels[:, 0, 0].sum() == 0
               for s in (sot[i] for i in range(10)))
    mot = PairDataset(ToySet(max_gap=3), "mot", (32, 64), transform=NO_AUG)
    gaps = [abs(frame_of(s, 0) - frame_of(s, 1)) for s in (mot[i] for i in range(60))]
    assert set(gaps) <= {1, 2, 3} and len(set(gaps)) == 3
    sample = mot[0]
    assert set(sample.labels[:, :, 0].flatten().tolist()) <= {0, 3, 5}  # MOT keeps classes


def test_still_images_are_paired_with_themselves():
    ds = PairDataset(ToySet(is_video=False), "vos", (32, 64), transform=NO_AUG)
    s = ds[0]
    assert torch.equal(s.images[0], s.images[1]) and torch.equal(s.labels[0], s.labels[1])
    assert s.masks.shape == (2, 1, 16, 32) and s.masks.dtype == torch.uint8 and s.labels[0, 0, 0] == 0


def test_determinism_and_epochs():
    ds = SyntheticPairDataset(10, (64, 96), "mot", seed=3, num_frames=8)
    a, b = ds[4], ds[4]
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    ds.set_epoch(1)
    assert not torch.equal(ds[4].images, a.images)


def test_mixed_dataset_follows_weights():
    sot = PairDataset(ToySet(num_frames=4), "sot", (32, 64), transform=NO_AUG)
    mot = PairDataset(ToySet(num_frames=4), "mot", (32, 64), transform=NO_AUG)
    mix = MixedPairDataset([(sot, 1), (mot, 3)], samples_per_epoch=400, seed=0)
    tasks = [mix[i].task for i in range(len(mix))]
    assert len(tasks) == 400 and 0.68 < tasks.count(2) / 400 < 0.82
    assert [mix[i].task for i in range(20)] == tasks[:20]


def test_alternating_sampler_shards_and_alternates():
    sizes = [40, 30]
    batches = {r: list(AlternatingTaskSampler(sizes, 3, num_replicas=2, rank=r, seed=1)) for r in (0, 1)}
    assert len(batches[0]) == len(batches[1]) == 2 * (30 // 6)
    for r in (0, 1):
        tasks = [int(b[0] >= 40) for b in batches[r]]
        assert tasks == [0, 1] * 5 and all(len(b) == 3 and len({i >= 40 for i in b}) == 1 for b in batches[r])
    seen0, seen1 = (sum(batches[r], []) for r in (0, 1))
    assert not set(seen0) & set(seen1)  # ranks get distinct samples
    sampler = AlternatingTaskSampler(sizes, 3, num_replicas=2, rank=0, seed=1)
    assert list(sampler) == batches[0]
    sampler.set_epoch(1)
    assert list(sampler) != batches[0]


def test_collate_pads_and_rejects_mixed_masks():
    def sample(m: int, masks: bool) -> PairSample:
        return PairSample(torch.zeros(2, 3, 8, 12), torch.ones(2, m, 6), 2,
                          torch.ones(2, m, 4, 6, dtype=torch.uint8) if masks else None)

    batch = collate_pairs([sample(1, True), sample(3, True)])
    assert batch["images"].shape == (2, 2, 3, 8, 12) and batch["labels"].shape == (2, 2, 3, 6)
    assert batch["masks"].shape == (2, 2, 3, 4, 6) and batch["labels"][0, :, 1:].sum() == 0
    assert batch["masks"][0, :, 1:].sum() == 0 and batch["task_ids"].tolist() == [2, 2]
    with pytest.raises(ValueError, match="all or none"):
        collate_pairs([sample(1, True), sample(1, False)])


def test_bad_images_are_skipped_and_counted(tmp_path):
    good = tmp_path / "good.jpg"
    cv2.imwrite(str(good), np.full((40, 60, 3), 90, np.uint8))
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    paths = [good, tmp_path / "missing.jpg", tmp_path / "corrupt.jpg"]

    class Files(TrainSet):
        name, is_video = "files", False

        def __len__(self) -> int:
            return 3

        def video(self, index: int) -> Video:
            return TableVideo(paths[index].name, [paths[index]], 1, [0], [1], [0], [[5, 5, 30, 30]])

    source = Files(tmp_path)
    ds = PairDataset(source, "mot", (32, 64), transform=NO_AUG)
    with pytest.warns(BadDataWarning, match=r"skipped (missing|corrupt) image") as caught:
        samples = [ds[i] for i in range(12)]
    assert any("missing.jpg" in str(w.message) for w in caught) and any("corrupt" in str(w.message) for w in caught)
    assert all(int(s.images[0, 0, 0, 0]) == 90 for s in samples)  # every item came from the good image
    assert source.skips.counts["missing image"] >= 1 and source.skips.counts["corrupt image"] >= 1
    assert "skipped so far" in source.skips.summary()


def test_unicorn_loss_on_synthetic_batches():
    from unicorn.models.build import build_model
    from unicorn.models.losses import unicorn_loss
    from unicorn.variants import get_variant

    torch.manual_seed(0)
    model = build_model(dataclasses.replace(get_variant("unicorn-lite").config, pretrained_backbone=False)).train()
    for task in ("sot", "mot", "vos", "mots"):
        ds = SyntheticPairDataset(4, (128, 192), task, seed=0, num_frames=8)
        batch = collate_pairs([ds[0], ds[1]])
        assert (batch["masks"] is not None) == (task in ("vos", "mots"))
        with torch.no_grad():
            out = unicorn_loss(model, batch["images"], batch["labels"], batch["task_ids"], batch["masks"])
        assert torch.isfinite(out["total_loss"]) and out["total_loss"] > 0, task
        suffix = "sot" if task in ("sot", "vos") else "mot"
        assert out[f"num_fg_{suffix}"] > 0, f"{task}: some anchors were assigned to the labels"


def test_task_concat_forwards_epoch():
    a = MixedPairDataset([(PairDataset(ToySet(), "sot", (32, 64), transform=NO_AUG), 1)], 6)
    b = MixedPairDataset([(PairDataset(ToySet(), "mot", (32, 64), transform=NO_AUG), 1)], 9)
    data = TaskConcatDataset([a, b])
    data.set_epoch(5)
    assert data.sizes == [6, 9] and a.epoch == b.epoch == 5 and data[7].task == 2


def test_synthetic_recipe_alternates_box_tasks():
    from unicorn.data.recipes import RECIPES, SetSpec, build_recipe

    assert [s.weight for s in RECIPES["box-mot17"]["mot"]] == [2, 6, 1, 1]
    recipe = {"sot": [SetSpec("synthetic", "sot", 1, {"num_sequences": 3, "num_frames": 6})],
              "mot": [SetSpec("synthetic", "mot", 1, {"num_sequences": 3, "num_frames": 6, "max_gap": 2})]}
    data = build_recipe(recipe, (64, 96), samples_per_epoch=8, seed=1)
    sampler = AlternatingTaskSampler(data.sizes, 2)
    tasks = [[data[i].task for i in batch] for batch in sampler]
    assert tasks == [[1, 1], [2, 2]] * 2
