"""Label propagation over a memory of frames: the target prior of ``unicorn-lite``.

Every current pixel looks up its ``topk`` most similar pixels among the memory frames (the prompt
frame and a few recent ones), takes a softmax of those similarities at ``temperature`` and carries
their soft labels over. This is the same attention as :func:`~unicorn.models.interaction.prior.
propagate_prior` (query = current pixels, key = memory pixels, value = their maps), made sparse and
sharpened; recent frames are looked up only within ``radius`` cells of the query, so a look-alike far
away cannot take a target over between two frames.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def normalized_features(c3: torch.Tensor, c4: torch.Tensor) -> torch.Tensor:
    """ImageNet features made comparable by a dot product: L2-normalised C3 and upsampled C4, joined.

    Args:
        c3: (B, C3, h, w) stride-8 backbone features.
        c4: (B, C4, h/2, w/2) stride-16 backbone features.

    Returns:
        (B, C3 + C4, h, w) unit-length features (each half carries half the norm).
    """
    up = F.interpolate(c4, size=c3.shape[-2:], mode="bilinear", align_corners=False)
    return torch.cat([F.normalize(c3, dim=1), F.normalize(up, dim=1)], 1) * (0.5 ** 0.5)


def local_window(height: int, width: int, radius: float, device: torch.device | None = None) -> torch.Tensor:
    """(h*w, h*w) bool: True where two cells of an (h, w) grid are at most ``radius`` cells apart."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    pos = torch.stack([ys.flatten(), xs.flatten()], 1).float()
    return torch.cdist(pos, pos) <= radius


UNREACHABLE = -1e30  # a similarity bias no softmax weight survives (exp underflows to 0), cheaper than -inf


def reach_bias(allowed: torch.Tensor) -> torch.Tensor:
    """A bool mask as a similarity bias: 0 where True, :data:`UNREACHABLE` where False (see
    :func:`propagate_blocks`; float arithmetic here is several times faster than ``where`` or
    ``masked_fill`` on a bool mask)."""
    return (allowed.float() - 1) * -UNREACHABLE


def propagate_labels(query: torch.Tensor, keys: torch.Tensor, labels: torch.Tensor, topk: int,
                     temperature: float, allowed: torch.Tensor | None = None,
                     bias: torch.Tensor | None = None) -> torch.Tensor:
    """Soft labels of the query pixels from their ``topk`` most similar key pixels.

    Args:
        query: (C, Nq) current-frame embedding (one column per pixel).
        keys: (C, Nk) memory embeddings.
        labels: (K, Nk) soft labels of the memory pixels (e.g. background + one row per object).
        topk: neighbours per query pixel.
        temperature: softmax temperature on the dot products.
        allowed: optional (Nq, Nk) bool; False pairs are never chosen.
        bias: optional (Nq, Nk) float added to the similarities (``-inf``: never chosen; cheaper than
            ``allowed`` when it is reused).

    Returns:
        (K, Nq) propagated labels; each column is a convex combination of memory labels.
    """
    sim = query.t() @ keys  # (Nq, Nk)
    if bias is not None:
        sim += bias
    if allowed is not None:
        sim = sim.masked_fill(~allowed, float("-inf"))
    k = min(topk, keys.shape[1])
    top, idx = sim.topk(k, dim=1)  # (Nq, k)
    weights = torch.softmax(top / temperature, dim=1)
    weights = torch.nan_to_num(weights, nan=0.0)  # a query with no allowed key gets nothing
    gathered = labels[:, idx]  # (K, Nq, k)
    return (gathered * weights.unsqueeze(0)).sum(-1)


def propagate_blocks(query: torch.Tensor, blocks: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]],
                     topk: int, temperature: float) -> torch.Tensor:
    """:func:`propagate_labels` over a memory held in blocks (the prompt frames; the recent frames), each with
    its own optional bias: the same labels (up to the order of equal similarities) without one
    (Nq, sum of Nk) matrix: each block keeps its ``topk`` best, and the best ``topk`` of those are taken.

    Args:
        query: (C, Nq) current-frame embedding.
        blocks: (keys (C, Nk), labels (K, Nk), bias (Nq, Nk) or None) per block; a bias is added to the
            similarities: :func:`reach_bias`, :data:`UNREACHABLE` where a query pixel may not read a key pixel
            (an addition is far cheaper than ``masked_fill`` on a CPU). Give at least one block without a
            bias (the prompt frames): a query that reaches no key of any block would average them all.
        topk, temperature: as :func:`propagate_labels`.

    Returns:
        (K, Nq) propagated labels.
    """
    q = query.t()
    tops, picked = [], []
    for keys, labels, bias in blocks:
        if keys.shape[1] == 0:
            continue
        sim = q @ keys  # (Nq, Nk)
        if bias is not None:
            sim += bias
        top, idx = sim.topk(min(topk, keys.shape[1]), dim=1)
        tops.append(top)
        picked.append(labels[:, idx])  # (K, Nq, k)
    top, labels = torch.cat(tops, 1), torch.cat(picked, 2)
    if top.shape[1] > topk:
        top, idx = top.topk(topk, dim=1)
        labels = labels.gather(2, idx.unsqueeze(0).expand(labels.shape[0], -1, -1))
    weights = torch.nan_to_num(torch.softmax(top / temperature, dim=1), nan=0.0)  # no allowed key: nothing
    return (labels * weights.unsqueeze(0)).sum(-1)


class MemoryEmbedding(nn.Module):
    """``unicorn-lite``'s unified embedding: frozen ImageNet features, projected and refined per frame.

    ``E = normalize(P f + R(f))`` with ``f`` = :func:`normalized_features` (C3 and upsampled C4 of the
    backbone). ``P`` is a 1x1 projection to ``dim`` channels (initialised from the features' principal
    axes, so that training starts from what ImageNet already knows) and ``R`` a small residual of
    3x3 context whose last layer starts at zero. Each frame is embedded on its own, so a memory frame
    is embedded once and kept.

    Args:
        c3_channels, c4_channels: backbone channels at strides 8 and 16.
        dim: embedding channels.
        hidden: width of the residual branch.
    """

    def __init__(self, c3_channels: int, c4_channels: int, dim: int = 64, hidden: int = 64) -> None:
        super().__init__()
        joined = c3_channels + c4_channels
        self.dim = dim
        self.project = nn.Conv2d(joined, dim, 1, bias=False)
        self.refine = nn.Sequential(
            nn.Conv2d(joined, hidden, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(hidden, dim, 1))
        nn.init.zeros_(self.refine[2].weight)
        nn.init.zeros_(self.refine[2].bias)
        # log of the softmax temperature of the label propagation (learned; 0.05 at the start)
        self.log_temperature = nn.Parameter(torch.tensor(math.log(0.05)))
        # 1 once ``project`` holds principal axes (set by the first training batch, kept in checkpoints)
        self.register_buffer("projection_ready", torch.zeros((), dtype=torch.uint8))

    @property
    def temperature(self) -> float:
        return float(self.log_temperature.detach().exp())

    def init_projection(self, c3: torch.Tensor, c4: torch.Tensor) -> None:
        """Set ``P`` to the top principal axes of the normalised features of these frames (once)."""
        with torch.no_grad():
            f = normalized_features(c3, c4).permute(0, 2, 3, 1).reshape(-1, self.project.in_channels).float()
            _, _, v = torch.linalg.svd(f - f.mean(0, keepdim=True), full_matrices=False)
            self.project.weight.copy_(v[:self.dim].reshape(self.dim, -1, 1, 1))
            self.projection_ready.fill_(1)

    def forward(self, c3: torch.Tensor, c4: torch.Tensor) -> torch.Tensor:
        """Args: c3 (B, C3, h, w), c4 (B, C4, h/2, w/2). Returns (B, dim, h, w) unit-length embeddings."""
        f = normalized_features(c3, c4)
        return F.normalize(self.project(f) + self.refine(f), dim=1)
