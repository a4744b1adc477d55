"""The target prior: a reference-frame map propagated to the current frame by pixel correspondence.

``prior[cur] = sum_ref softmax_ref(E_ref . E_cur) * map[ref]`` is attention with query = current
pixels, key = reference pixels, value = the reference map and scale 1; computing it with
``scaled_dot_product_attention`` never materialises the (HW x HW) similarity matrix.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def box_label_map(boxes_xyxy: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Binary box-filled maps at input resolution, as upstream's ``get_label_map``.

    Coordinates are rounded half-to-even (``torch.round``) and clamped to the canvas; the box
    covers rows ``y1:y2`` and columns ``x1:x2``.

    Args:
        boxes_xyxy: (K, 4) boxes in input (letterboxed) pixels.
        height, width: input size.

    Returns:
        (K, 1, height, width) float maps.
    """
    out = torch.zeros((boxes_xyxy.shape[0], 1, height, width), dtype=torch.float32, device=boxes_xyxy.device)
    coords = torch.round(boxes_xyxy.float()).long().tolist()
    for k, (x1, y1, x2, y2) in enumerate(coords):
        x1, x2 = min(max(x1, 0), width), min(max(x2, 0), width)
        y1, y2 = min(max(y1, 0), height), min(max(y2, 0), height)
        out[k, 0, y1:y2, x1:x2] = 1.0
    return out


def downsample_label_map(label_map: torch.Tensor, stride: int = 8) -> torch.Tensor:
    """Bilinear x1/stride resize (scale-factor convention, as upstream). (K,1,H,W) -> (K,1,H/s,W/s)."""
    return F.interpolate(label_map, scale_factor=1.0 / stride, mode="bilinear", align_corners=False)


def propagate_prior(embed_ref: torch.Tensor, embed_cur: torch.Tensor, ref_maps: torch.Tensor) -> torch.Tensor:
    """Propagate reference maps to the current frame through embedding correspondence.

    The maps ride in the value of ``scaled_dot_product_attention``; they are zero-padded to the
    embedding width because PyTorch's memory-efficient (flash) CPU kernel needs equal head sizes.
    Up to ``C`` targets therefore cost the same as one.

    Args:
        embed_ref: (B, C, h, w) reference-frame embedding (B = 1 or K).
        embed_cur: (B, C, h, w) current-frame embedding.
        ref_maps: (B, K, h, w) maps on the reference grid; several targets share one pass.

    Returns:
        (B, K, h, w) propagated maps.
    """
    b, c, h, w = embed_cur.shape
    k = ref_maps.shape[1]
    # The flash kernel also needs unit stride on the last axis: make (HW, C) row-major copies.
    query = embed_cur.flatten(2).transpose(1, 2).unsqueeze(1).contiguous()  # (B, 1, HWc, C)
    key = embed_ref.flatten(2).transpose(1, 2).unsqueeze(1).contiguous().expand(b, -1, -1, -1)  # (B, 1, HWr, C)
    maps = ref_maps.flatten(2).transpose(1, 2).unsqueeze(1).to(query.dtype)  # (B, 1, HWr, K)
    outs = []
    for start in range(0, k, c):
        value = maps[..., start:start + c]
        width = value.shape[-1]
        if width < c:
            value = torch.nn.functional.pad(value, (0, c - width))
        value = value.expand(b, -1, -1, -1).contiguous()
        out = F.scaled_dot_product_attention(query, key, value, scale=1.0)
        outs.append(out[..., :width])
    out = torch.cat(outs, -1)  # (B, 1, HWc, K)
    return out.squeeze(1).transpose(1, 2).reshape(b, k, h, w)


def propagate_prior_fp16(embed_ref: torch.Tensor, embed_cur: torch.Tensor, ref_maps: torch.Tensor,
                         chunk: int = 2048) -> torch.Tensor:
    """Upstream's float16 propagation, reproduced rounding step by rounding step.

    Upstream casts both embeddings to float16, then computes ``S = E_ref^T E_cur``,
    ``softmax(S, dim=ref)`` and ``map @ T`` in float16. This function rounds at the same places,
    in chunks of current pixels (the softmax runs
    over the reference axis, so chunks are independent): memory is O(HW_ref * chunk), never
    the full matrix. Use it to reproduce upstream outputs bit for bit in spirit; the default
    :func:`propagate_prior` is the exact float32 computation.

    Args and returns as :func:`propagate_prior`.
    """
    b, c, h, w = embed_cur.shape
    k = ref_maps.shape[1]
    out = embed_cur.new_empty((b, k, h * w))
    for i in range(b):
        e_ref = embed_ref[min(i, embed_ref.shape[0] - 1)].flatten(1).half().float()  # (C, HWr)
        e_cur = embed_cur[i].flatten(1).half().float()  # (C, HWc)
        maps = ref_maps[i].flatten(1).half().float()  # (K, HWr)
        for start in range(0, h * w, chunk):
            sim = (e_ref.t() @ e_cur[:, start:start + chunk]).half().float()
            trans = torch.softmax(sim, dim=0).half().float()
            out[i, :, start:start + chunk] = (maps @ trans).half().float()
    return out.view(b, k, h, w)


def multiscale_priors(prior_s8: torch.Tensor) -> list[torch.Tensor]:
    """Stride-8 prior -> [s8, s16, s32] by bilinear x1/2 and x1/4 (scale-factor convention)."""
    return [
        prior_s8,
        F.interpolate(prior_s8, scale_factor=0.5, mode="bilinear", align_corners=False),
        F.interpolate(prior_s8, scale_factor=0.25, mode="bilinear", align_corners=False),
    ]
