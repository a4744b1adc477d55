"""SOT and VOS by label propagation (``method="propagation"``) on a generated clip with a known answer."""

import numpy as np
import pytest
import torch

import unicorn
from unicorn.config import ModelConfig
from unicorn.errors import UserError
from unicorn.models.build import build_model
from unicorn.trackers.configs import SOTConfig
from unicorn.trackers.memory import LabelMemory, kept_cells
from unicorn.trackers.propagation import PropagationTracker
from unicorn.trackers.regions import box_prior
from unicorn.trackers.search import SearchSOTTracker

H, W, SIDE = 240, 320, 60


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    with torch.no_grad():
        return build_model("unicorn-lite").eval()  # ImageNet backbone; features="imagenet" needs nothing else


def _textures(seed: int = 0):
    rng = np.random.default_rng(seed)
    background = (rng.random((H // 8, W // 8, 3)) * 255).astype(np.uint8).repeat(8, 0).repeat(8, 1)
    yy, xx = np.mgrid[:SIDE, :SIDE]
    patch = np.zeros((SIDE, SIDE, 3), np.uint8)
    patch[((yy // 10 + xx // 10) % 2) == 0] = (0, 0, 255)  # a red and yellow checkerboard
    patch[((yy // 10 + xx // 10) % 2) == 1] = (0, 255, 255)
    return background, patch


def clip(xs: list[int], y: int = 90):
    """Frames with the patch at x positions (partly or wholly outside the frame allowed) and its true boxes."""
    background, patch = _textures()
    frames, boxes = [], []
    for x in xs:
        f = background.copy()
        x1, x2 = max(x, 0), min(x + SIDE, W)
        if x2 > x1:
            f[y:y + SIDE, x1:x2] = patch[:, x1 - x:x2 - x]
        frames.append(f)
        boxes.append((x1, y, x2, y + SIDE) if x2 > x1 else None)
    return frames, boxes


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("context, kind", [(4.0, SearchSOTTracker), (0.0, PropagationTracker)])
def test_sot_follows_the_patch_and_says_when_it_has_left(model, context, kind):
    xs = [40 + 12 * t for t in range(12)] + [W + 10] * 4  # moves right, then leaves the frame
    frames, truth = clip(xs)
    tracker = unicorn.Tracker(model, "sot", method="propagation", features="imagenet", search_context=context)
    assert isinstance(tracker, kind)
    first = tracker.init(frames[0], boxes=[(40, 90, SIDE, SIDE)])
    assert first.states.tolist() == ["tracked"]
    results = [first] + [tracker.step(f) for f in frames[1:]]
    ious = [iou(r.boxes_xyxy[0], b) for r, b in zip(results[1:12], truth[1:12])]
    assert np.mean(ious) > 0.55, ious  # the checkerboard's colours recur in the noise: boxes run a little wide
    centres = [np.abs((r.boxes_xyxy[0, :2] + r.boxes_xyxy[0, 2:]) / 2 - (np.r_[b[:2]] + np.r_[b[2:]]) / 2).max()
               for r, b in zip(results[1:12], truth[1:12])]
    assert max(centres) < 0.35 * SIDE, centres
    assert all(r.states[0] == "tracked" for r in results[:10])
    gone = [r.states[0] for r in results[13:]]
    assert gone == ["lost"] * len(gone)  # never reported as tracked once it has left
    assert all(r.scores[0] == 0 for r in results[13:])
    assert np.allclose(results[-1].boxes_xyxy, results[13].boxes_xyxy)  # the last box is held, marked lost


def test_vos_masks_follow_the_patch(model):
    frames, truth = clip([40 + 10 * t for t in range(8)])
    mask = np.zeros((H, W), np.uint8)
    mask[90:90 + SIDE, 40:40 + SIDE] = 1
    tracker = unicorn.Tracker(model, "vos", method="propagation", features="imagenet")
    results = [tracker.init(frames[0], masks=mask)] + [tracker.step(f) for f in frames[1:]]
    ious = []
    for r, (x1, y1, x2, y2) in zip(results[1:], truth[1:]):
        gt = np.zeros((H, W), bool)
        gt[y1:y2, x1:x2] = True
        m = r.masks[0]
        ious.append((m & gt).sum() / (m | gt).sum())
    assert min(ious) > 0.6 and np.mean(ious) > 0.7, ious


def test_box_prior_keeps_the_object_and_drops_the_background_inside_the_box(model):
    frames, _ = clip([40])
    tracker = PropagationTracker(model, "sot", SOTConfig(method="propagation", features="imagenet"))
    f, emb = tracker._embed(frames[0])
    wide = np.array([[40 - 30, 90 - 30, 40 + SIDE + 30, 90 + SIDE + 30]]) * f.r  # a box twice too large
    prob = box_prior(emb, wide)[0]
    inner = prob[int(90 * f.r // 8) + 2:int((90 + SIDE) * f.r // 8) - 1,
                 int(40 * f.r // 8) + 2:int((40 + SIDE) * f.r // 8) - 1]
    ring = prob[int((90 - 30) * f.r // 8) + 1, int((40 - 30) * f.r // 8) + 1:int((40 + SIDE + 30) * f.r // 8) - 1]
    assert inner.min() > 0.5 and ring.max() < 0.5


def test_memory_reads_recent_frames_only_nearby():
    emb = torch.nn.functional.normalize(torch.randn(8, 4, 4), dim=0)
    labels = torch.zeros(2, 4, 4)
    labels[1, 0, 0] = 1.0
    labels[0] = 1 - labels[1]
    mem = LabelMemory(topk=1, temperature=0.01, recent=1, radius=1.0)
    other = torch.nn.functional.normalize(torch.randn(8, 4, 4), dim=0)
    mem.add_prompt(other, torch.stack([torch.ones(4, 4), torch.zeros(4, 4)]))  # prompt: all background
    mem.add_frame(emb, labels)
    out = mem.read(emb)
    assert out[1, 0, 0] > 0.4  # the object cell reads its own recent copy ...
    far = emb.clone()
    far[:, 3, 3] = emb[:, 0, 0]  # ... but the same look at a far cell cannot reach it
    assert mem.read(far)[1, 3, 3] < 1e-3


def test_kept_cells_keep_objects_and_a_background_grid():
    labels = torch.zeros(2, 4, 6)
    labels[1, 1, 1] = 0.5
    labels[0] = 1 - labels[1]
    cells = set(kept_cells(labels).tolist())
    assert 1 * 6 + 1 in cells and {0, 2, 4, 12, 14, 16} <= cells and 3 not in cells


def test_frames_of_another_size_are_refused(model):
    frames, _ = clip([40, 50])
    tracker = unicorn.Tracker(model, "sot", method="propagation", features="imagenet")
    tracker.init(frames[0], boxes=[(40, 90, SIDE, SIDE)])
    with pytest.raises(UserError, match="but the video started at"):
        tracker.step(frames[1][:200])


def test_trained_features_need_a_memory_embedding():
    torch.manual_seed(0)
    small = build_model(ModelConfig(backbone="efficientnet_lite0", neck_channels=(16, 32, 64), head_width=32,
                                    head_blocks=1, head_convs=1, interaction_dim=32, ffn_dim=64, embed_dim=16,
                                    with_masks=False, input_size=(64, 96), norm="bn"))
    with pytest.raises(UserError, match="memory embedding"):
        unicorn.Tracker(small, "sot", method="propagation")
