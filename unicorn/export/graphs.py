"""The per-frame network cut into the graphs a tracker calls, each a module of tensors only.

Every graph is written so that a tracer (``torch.onnx.export``, ``torch.jit.trace``) records it for
one input size with a dynamic number of targets ``K`` (SOT/VOS priors) or chosen anchors ``M``
(masks): no Python loop depends on ``K`` or ``M`` and no grouped convolution has ``M`` groups.
The dynamic mask head is therefore re-expressed with batched matrix products, the 3x3 controller
patches with gathers and the convex upsampling with shifted slices; :mod:`unicorn.models.heads.mask`
remains the reference (the golden test compares both with upstream).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.features import EMBED_STRIDE
from ..models.heads.detection import UnicornHead, anchor_grid
from ..models.heads.mask import BIAS_NUMS, SIZES_OF_INTEREST, WEIGHT_NUMS, mask_locations
from ..models.interaction.embedding import FrameTokens, UnifiedEmbedding
from ..models.interaction.memory import normalized_features
from ..models.interaction.prior import multiscale_priors
from ..models.unicorn import Unicorn

PROPAGATE_CHUNK = 4096  # current pixels per similarity block: memory O(HW_ref * chunk), not O(HW^2)


class FeaturesGraph(nn.Module):
    """images (1, 3, H, W) BGR 0..255 -> P3, P4, P5, C4 (and the interaction tokens (1, hw16, dim))."""

    def __init__(self, model: Unicorn, with_tokens: bool) -> None:
        super().__init__()
        self.model = model
        self.with_tokens = with_tokens

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats = self.model.extract_features(images)
        outs = (*feats.fpn, feats.c4)
        if self.with_tokens:
            outs = (*outs, self.model.embedding.tokens(feats.c4).src)
        return outs


class MemoryGraph(nn.Module):
    """images (1, 3, H, W) BGR 0..255 -> the memory embedding (1, C, H/8, W/8) (``trained``) or the
    normalised ImageNet features; H and W are dynamic (a SOT search region and a whole frame differ)."""

    def __init__(self, model: Unicorn, trained: bool) -> None:
        super().__init__()
        self.backbone = model.backbone
        self.embedding = model.embedding if trained else None

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        c3, c4, _ = self.backbone(images)
        return self.embedding(c3, c4) if self.embedding is not None else normalized_features(c3, c4)


class InteractGraph(nn.Module):
    """Tokens of the reference and current frames (1, hw16, dim) -> embeddings E_ref, E_cur (1, C, H/8, W/8).

    Args:
        embedding: the deformable unified embedding.
        size16: (h, w) of the stride-16 grid (the position embedding is a constant of the graph).
    """

    def __init__(self, embedding: UnifiedEmbedding, size16: tuple[int, int]) -> None:
        super().__init__()
        self.embedding = embedding
        self.size16 = tuple(size16)
        with torch.no_grad():
            pos = embedding.pos_embed(*self.size16).flatten(2).transpose(1, 2).contiguous()
        self.register_buffer("pos", pos, persistent=False)

    def forward(self, ref_tokens: torch.Tensor, cur_tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ref = FrameTokens(ref_tokens, self.pos, self.size16)
        cur = FrameTokens(cur_tokens, self.pos, self.size16)
        f_ref, f_cur = self.embedding.interact(ref, cur)
        return self.embedding.embed(f_ref), self.embedding.embed(f_cur)


class PropagateGraph(nn.Module):
    """E_ref, E_cur (1, C, h, w) and reference maps (1, K, h, w) -> priors at strides 8, 16, 32 (1, K, ., .).

    ``prior = maps @ softmax_ref(E_ref^T E_cur)`` in blocks of current pixels. With ``fp16`` it
    rounds to float16 where upstream does (as :func:`~unicorn.models.interaction.prior.propagate_prior_fp16`).
    """

    def __init__(self, fp16: bool = False, chunk: int = PROPAGATE_CHUNK) -> None:
        super().__init__()
        self.fp16, self.chunk = fp16, chunk

    def _round(self, x: torch.Tensor) -> torch.Tensor:
        return x.half().float() if self.fp16 else x

    def forward(self, embed_ref: torch.Tensor, embed_cur: torch.Tensor,
                ref_maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        _, _, h, w = embed_cur.shape
        e_ref = self._round(embed_ref[0].flatten(1))  # (C, HWr)
        e_cur = self._round(embed_cur[0].flatten(1))  # (C, HWc)
        maps = self._round(ref_maps[0].flatten(1))  # (K, HWr)
        outs = []
        for start in range(0, h * w, self.chunk):
            sim = self._round(e_ref.t() @ e_cur[:, start:start + self.chunk])
            trans = self._round(torch.softmax(sim, dim=0))
            outs.append(self._round(maps @ trans))
        prior = torch.cat(outs, 1).reshape(1, -1, h, w)
        return tuple(multiscale_priors(prior))


class TargetHeadGraph(nn.Module):
    """The SOT head: P3..P5 (1, ., ., .) and priors (K, 1, ., .) per level -> raw outputs [and regression
    features], one pass per target (the features are shared by the K targets of the priors' batch axis)."""

    def __init__(self, head: UnicornHead, with_reg_feats: bool) -> None:
        super().__init__()
        self.head, self.with_reg_feats = head, with_reg_feats

    def forward(self, p3: torch.Tensor, p4: torch.Tensor, p5: torch.Tensor,
                *priors: torch.Tensor) -> tuple[torch.Tensor, ...]:
        k = priors[0].shape[0]
        out = self.head.detect_targets([f.expand(k, -1, -1, -1) for f in (p3, p4, p5)], list(priors))
        return (*out.raw, *out.reg_feats) if self.with_reg_feats else tuple(out.raw)


class ObjectHeadGraph(nn.Module):
    """The MOT head (zero prior): P3..P5 (1, ., ., .) -> raw outputs [and regression features]."""

    def __init__(self, head: UnicornHead, with_reg_feats: bool) -> None:
        super().__init__()
        self.head, self.with_reg_feats = head, with_reg_feats

    def forward(self, p3: torch.Tensor, p4: torch.Tensor, p5: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.head.detect_objects([p3, p4, p5])
        return (*out.raw, *out.reg_feats) if self.with_reg_feats else tuple(out.raw)


class SegmentGraph(nn.Module):
    """P3..P5 -> mask features (1, 8, H/8, W/8) and convex-upsampling weights (1, 9 r^2, H/8, W/8)."""

    def __init__(self, model: Unicorn) -> None:
        super().__init__()
        self.mask_branch = model.mask_branch

    def forward(self, p3: torch.Tensor, p4: torch.Tensor, p5: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.mask_branch([p3, p4, p5])


class MasksGraph(nn.Module):
    """Per-instance masks for M chosen anchors of one image, at stride 2 (before ``aligned_bilinear``).

    Inputs: the three regression features (1, width, h_k, w_k) of the head output the anchors come
    from, mask features, upsampling weights, ``anchor_idx`` (M,) int64 into the flattened levels.
    Output: (M, 1, H/2, W/2) probabilities.
    """

    def __init__(self, model: Unicorn, input_hw: tuple[int, int]) -> None:
        super().__init__()
        self.controllers = model.head.controllers
        self.up_rate = model.mask_branch.up_rate
        strides = model.head.strides
        h, w = input_hw
        self.sizes = [(h // s, w // s) for s in strides]
        self.starts = [0]
        for hk, wk in self.sizes:
            self.starts.append(self.starts[-1] + hk * wk)
        grids, stride_col = anchor_grid(self.sizes, strides, torch.device("cpu"), torch.float32)
        levels = torch.cat([torch.full((hk * wk,), k, dtype=torch.long) for k, (hk, wk) in enumerate(self.sizes)])
        soi = torch.tensor(SIZES_OF_INTEREST, dtype=torch.float32)[levels]
        self.register_buffer("locations", (grids + 0.5) * stride_col, persistent=False)  # (N, 2)
        self.register_buffer("levels", levels, persistent=False)
        self.register_buffer("soi", soi, persistent=False)
        self.register_buffer("pixels", mask_locations(h // EMBED_STRIDE, w // EMBED_STRIDE, EMBED_STRIDE,
                                                      torch.device("cpu")), persistent=False)  # (HW, 2)

    def dynamic_params(self, regs: list[torch.Tensor], anchor_idx: torch.Tensor) -> torch.Tensor:
        """Controller outputs at the anchors: 3x3 patches gathered per level, then one matrix product."""
        levels = self.levels[anchor_idx]
        params = None
        for k, (reg, (hk, wk)) in enumerate(zip(regs, self.sizes)):
            conv = self.controllers[k]
            local = (anchor_idx - self.starts[k]).clamp(0, hk * wk - 1)
            ys = torch.div(local, wk, rounding_mode="floor")
            xs = local - ys * wk
            padded = F.pad(reg[0], (1, 1, 1, 1)).flatten(1)  # (C, (h+2)(w+2))
            cols = [padded.index_select(1, (ys + dy) * (wk + 2) + xs + dx) for dy in range(3) for dx in range(3)]
            patches = torch.stack(cols, -1).permute(1, 0, 2).flatten(1)  # (M, C*9), same order as the weight
            out = patches @ conv.weight.flatten(1).t() + conv.bias
            params = out if params is None else torch.where((levels == k)[:, None], out, params)
        return params

    def forward(self, reg_s8: torch.Tensor, reg_s16: torch.Tensor, reg_s32: torch.Tensor, mask_feats: torch.Tensor,
                up_weights: torch.Tensor, anchor_idx: torch.Tensor) -> torch.Tensor:
        params = self.dynamic_params([reg_s8, reg_s16, reg_s32], anchor_idx)
        m = params.shape[0]
        _, c, h, w = mask_feats.shape
        rel = (self.locations[anchor_idx][:, None, :] - self.pixels[None]).permute(0, 2, 1)  # (M, 2, HW)
        rel = rel / self.soi[anchor_idx][:, None, None]
        x = torch.cat([rel, mask_feats.reshape(1, c, h * w).expand(m, -1, -1)], 1)  # (M, 10, HW)
        n_w, n_b = list(WEIGHT_NUMS), list(BIAS_NUMS)
        offsets = torch.tensor([0, *n_w, *n_b]).cumsum(0).tolist()
        for i in range(3):
            out_ch = n_b[i]
            weight = params[:, offsets[i]:offsets[i + 1]].reshape(m, out_ch, -1)
            bias = params[:, offsets[3 + i]:offsets[4 + i]].reshape(m, out_ch, 1)
            x = torch.bmm(weight, x) + bias
            if i < 2:
                x = F.relu(x)
        return self.convex_upsample(x.reshape(m, 1, h, w), up_weights).sigmoid()

    def convex_upsample(self, logits: torch.Tensor, up_weights: torch.Tensor) -> torch.Tensor:
        """As :func:`~unicorn.models.heads.mask.convex_upsample`, with slices instead of ``unfold``."""
        r = self.up_rate
        _, _, h, w = logits.shape
        weights = torch.softmax(up_weights.reshape(1, 1, 9, r, r, h, w), dim=2)
        padded = F.pad(logits, (1, 1, 1, 1))
        neigh = torch.stack([padded[:, :, dy:dy + h, dx:dx + w] for dy in range(3) for dx in range(3)], 2)
        up = (weights * neigh.reshape(-1, 1, 9, 1, 1, h, w)).sum(2).permute(0, 1, 4, 2, 5, 3)
        return up.reshape(-1, 1, r * h, r * w)
