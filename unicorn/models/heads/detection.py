"""Unified anchor-free detection head (YOLOX style) with the target prior fused at each level."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..layers import ConvNeXtBlock, ConvNormAct


@dataclass
class HeadOutput:
    """Raw per-level head outputs (logits) plus what the mask head needs.

    Attributes:
        raw: list per level of (B, 5 + C, h, w): reg (4), obj logit, class logits.
        reg_feats: list per level of (B, width, h, w) features of the regression branch.
        strides: stride of each level.
    """

    raw: list[torch.Tensor]
    reg_feats: list[torch.Tensor]
    strides: tuple[int, ...]


def anchor_grid(sizes: list[tuple[int, int]], strides: tuple[int, ...], device: torch.device,
                dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Anchor cell indices and strides, level by level, row-major.

    Returns:
        grids: (N, 2) float (x, y) cell indices; strides: (N, 1) float.
    """
    grids, strides_out = [], []
    for (h, w), s in zip(sizes, strides):
        yy, xx = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
        grids.append(torch.stack([xx, yy], -1).view(-1, 2))
        strides_out.append(torch.full((h * w, 1), s, device=device))
    return torch.cat(grids).to(dtype), torch.cat(strides_out).to(dtype)


def flatten_levels(raw: list[torch.Tensor]) -> torch.Tensor:
    """[(B, C, h, w)] -> (B, N, C) with anchors ordered by level then row-major."""
    return torch.cat([r.flatten(2) for r in raw], dim=2).transpose(1, 2)


def decode_outputs(head_out: HeadOutput) -> tuple[torch.Tensor, torch.Tensor]:
    """YOLOX decoding of raw outputs to boxes and probabilities.

    Returns:
        decoded: (B, N, 5 + C) as cx, cy, w, h (input pixels), sigmoid(obj), sigmoid(cls...).
        locations: (N, 2) anchor centres ``(grid + 0.5) * stride`` in input pixels.
    """
    out = flatten_levels(head_out.raw)
    sizes = [tuple(r.shape[-2:]) for r in head_out.raw]
    grids, strides = anchor_grid(sizes, head_out.strides, out.device, out.dtype)
    xy = (out[..., :2] + grids) * strides
    wh = torch.exp(out[..., 2:4]) * strides
    decoded = torch.cat([xy, wh, out[..., 4:].sigmoid()], dim=-1)
    return decoded, (grids + 0.5) * strides


class UnicornHead(nn.Module):
    """Per level: 1x1 stem, ``+ beta * prior``, ConvNeXt blocks, cls/reg conv towers, 1x1 predictors.

    Two sets of predictors share the towers: :meth:`detect_targets` (SOT/VOS, one class, with the target
    prior) and :meth:`detect_objects` (MOT/MOTS, the classes, zero prior).

    Args:
        in_channels: channels of P3..P5.
        num_classes: MOT classes (8 for BDD100K, 1 for MOT17, 80 for COCO detectors).
        width: head width (256).
        n_blocks: ConvNeXt blocks per level (3).
        n_convs: conv layers per branch (4).
        with_sot: build the SOT predictors and prior scales (False for plain detectors).
        num_dynamic_params: controller outputs per anchor for masks (169), or 0 for box-only.
        strides: strides of the levels.
        norm: ``"gn"`` as upstream.
    """

    def __init__(self, in_channels: tuple[int, ...], num_classes: int, width: int = 256, n_blocks: int = 3,
                 n_convs: int = 4, with_sot: bool = True, num_dynamic_params: int = 0,
                 strides: tuple[int, ...] = (8, 16, 32), norm: str = "gn") -> None:
        super().__init__()
        self.num_classes = num_classes
        self.strides = tuple(strides)
        self.with_sot = with_sot
        levels = range(len(in_channels))
        self.stems = nn.ModuleList([ConvNormAct(c, width, 1, norm=norm) for c in in_channels])
        self.blocks = nn.ModuleList(
            [nn.Sequential(*[ConvNeXtBlock(width, 0.0, 1.0, pointwise_as_conv=True) for _ in range(n_blocks)])
             for _ in levels])
        self.cls_convs = nn.ModuleList(
            [nn.Sequential(*[ConvNormAct(width, width, 3, norm=norm) for _ in range(n_convs)]) for _ in levels])
        self.reg_convs = nn.ModuleList(
            [nn.Sequential(*[ConvNormAct(width, width, 3, norm=norm) for _ in range(n_convs)]) for _ in levels])
        self.cls_preds = nn.ModuleList([nn.Conv2d(width, num_classes, 1) for _ in levels])
        self.reg_preds = nn.ModuleList([nn.Conv2d(width, 4, 1) for _ in levels])
        self.obj_preds = nn.ModuleList([nn.Conv2d(width, 1, 1) for _ in levels])
        if with_sot:
            self.cls_preds_sot = nn.ModuleList([nn.Conv2d(width, 1, 1) for _ in levels])
            self.reg_preds_sot = nn.ModuleList([nn.Conv2d(width, 4, 1) for _ in levels])
            self.obj_preds_sot = nn.ModuleList([nn.Conv2d(width, 1, 1) for _ in levels])
            self.betas = nn.ParameterList([nn.Parameter(torch.ones(width, 1, 1)) for _ in levels])
        self.controllers = None
        if num_dynamic_params:
            self.controllers = nn.ModuleList([nn.Conv2d(width, num_dynamic_params, 3, padding=1) for _ in levels])
            for conv in self.controllers:
                nn.init.normal_(conv.weight, std=0.01)
                nn.init.zeros_(conv.bias)
        self.initialize_biases(0.01)

    def initialize_biases(self, prior_prob: float) -> None:
        """Set classification and objectness biases to ``logit(prior_prob)`` (YOLOX init)."""
        value = -math.log((1 - prior_prob) / prior_prob)
        preds = [self.cls_preds, self.obj_preds]
        if self.with_sot:
            preds += [self.cls_preds_sot, self.obj_preds_sot]
        for group in preds:
            for conv in group:
                nn.init.constant_(conv.bias, value)

    def detect_targets(self, feats: list[torch.Tensor], priors: list[torch.Tensor]) -> HeadOutput:
        """SOT/VOS: the one-class target predictors, each level's stem output raised by ``beta * prior``.

        Args:
            feats: [P3, P4, P5], each (B, C_k, h_k, w_k).
            priors: per level (B, 1, h_k, w_k) target priors.
        """
        if not self.with_sot:
            raise ValueError("this head was built without SOT predictors (a plain detector)")
        return self._run(feats, priors, self.reg_preds_sot, self.obj_preds_sot, self.cls_preds_sot)

    def detect_objects(self, feats: list[torch.Tensor]) -> HeadOutput:
        """MOT/MOTS: the class predictors with a zero prior.

        Args:
            feats: [P3, P4, P5], each (B, C_k, h_k, w_k).
        """
        return self._run(feats, None, self.reg_preds, self.obj_preds, self.cls_preds)

    def _run(self, feats: list[torch.Tensor], priors: list[torch.Tensor] | None, reg_preds: nn.ModuleList,
             obj_preds: nn.ModuleList, cls_preds: nn.ModuleList) -> HeadOutput:
        raw, reg_feats = [], []
        for k, x in enumerate(feats):
            x = self.stems[k](x)
            if priors is not None:
                x = x + self.betas[k] * priors[k]
            x = self.blocks[k](x)
            cls_feat = self.cls_convs[k](x)
            reg_feat = self.reg_convs[k](x)
            raw.append(torch.cat([reg_preds[k](reg_feat), obj_preds[k](reg_feat), cls_preds[k](cls_feat)], 1))
            reg_feats.append(reg_feat)
        return HeadOutput(raw, reg_feats, self.strides)

    def dynamic_params(self, head_out: HeadOutput, anchor_idx: torch.Tensor, batch_idx: int = 0) -> torch.Tensor:
        """Controller outputs (CondInst parameters) at chosen anchors only.

        Args:
            head_out: output of :meth:`detect_objects` or :meth:`detect_targets`.
            anchor_idx: (M,) int64 indices into the flattened anchors.
            batch_idx: which image of the batch.

        Returns:
            (M, num_dynamic_params).
        """
        if self.controllers is None:
            raise ValueError("this head has no mask controllers (a box-only variant)")
        sizes = [f.shape[-2:] for f in head_out.reg_feats]
        starts = [0]
        for h, w in sizes:
            starts.append(starts[-1] + h * w)
        n_params = self.controllers[0].out_channels
        out = head_out.reg_feats[0].new_zeros((anchor_idx.numel(), n_params))
        for k, (_, w) in enumerate(sizes):
            sel = (anchor_idx >= starts[k]) & (anchor_idx < starts[k + 1])
            if not bool(sel.any()):
                continue
            local = anchor_idx[sel] - starts[k]
            ys, xs = local // w, local % w
            conv = self.controllers[k]
            padded = torch.nn.functional.pad(head_out.reg_feats[k][batch_idx:batch_idx + 1], (1, 1, 1, 1))
            patches = torch.stack([padded[0, :, y:y + 3, x:x + 3] for y, x in zip(ys.tolist(), xs.tolist())])
            out[sel] = (torch.einsum("mcij,ocij->mo", patches, conv.weight) + conv.bias).to(out.dtype)
        return out

    def dense_dynamic_params(self, head_out: HeadOutput) -> torch.Tensor:
        """Controller outputs at every anchor (training). Returns (B, N, num_dynamic_params)."""
        if self.controllers is None:
            raise ValueError("this head has no mask controllers (a box-only variant)")
        return flatten_levels([c(f) for c, f in zip(self.controllers, head_out.reg_feats)])
