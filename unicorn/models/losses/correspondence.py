"""Correspondence losses on the unified embedding (upstream ``compute_corr_losses`` and
``compute_loss_mot_corr``).

- SOT/VOS: the propagated stride-8 prior should equal the current frame's box map; one dice
  loss over the whole (sub-)batch: ``1 - 2 sum(pg) / (sum(p^2) + sum(g^2) + 1e-5)``.
- MOT/MOTS: embeddings sampled at the gt centres of both frames form a similarity matrix
  S = e_ref . e_cur^T (M x N); cross-entropy of its rows against the matching current object and
  of its columns against the matching reference object (unmatched ids ignored), 0.5 each,
  averaged over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..features import id_feature_grid

DICE_EPS = 1e-5


def sot_correspondence_loss(prior: torch.Tensor, target_map: torch.Tensor) -> torch.Tensor:
    """Dice loss over every pixel of the batch.

    Args:
        prior: (B, K, h, w) propagated maps (float32 propagation).
        target_map: (B, K, h, w) gt box maps of the current frame at the same stride.

    Returns:
        Scalar loss.
    """
    x = prior.reshape(-1)
    y = target_map.reshape(-1).to(x.dtype)
    return 1.0 - 2 * (x * y).sum() / ((x**2.0).sum() + (y**2.0).sum() + DICE_EPS)


def match_track_ids(ids_ref: torch.Tensor, ids_cur: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-frame targets from track ids, as upstream's double loop.

    Each reference object points at the first current object with its id; each current object
    at the last reference object pointing at it; -1 where nothing matches.

    Args:
        ids_ref: (M,) track ids of the reference objects; ids_cur: (N,) of the current ones.

    Returns:
        rows: (M,) int64 current index per reference object; cols: (N,) reference index per current one.
    """
    rows = torch.full((ids_ref.numel(),), -1, dtype=torch.long, device=ids_ref.device)
    cols = torch.full((ids_cur.numel(),), -1, dtype=torch.long, device=ids_ref.device)
    equal = (ids_ref[:, None] == ids_cur[None, :]).cpu()
    for i in range(ids_ref.numel()):
        hits = equal[i].nonzero()
        if hits.numel():
            j = int(hits[0, 0])
            rows[i], cols[j] = j, i
    return rows, cols


def sample_embeddings(embed: torch.Tensor, centers_xy: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of one image's embedding at box centres (upstream grid formula, border padding).

    Args:
        embed: (1, C, h, w) stride-8 embedding; centers_xy: (K, 2) centres in input pixels.

    Returns:
        (K, C).
    """
    grid = id_feature_grid(centers_xy, embed.shape[-2:]).view(1, 1, -1, 2)
    return F.grid_sample(embed, grid, mode="bilinear", padding_mode="border", align_corners=False)[0, :, 0].t()


def mot_correspondence_loss(embed_ref: torch.Tensor, embed_cur: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Bidirectional ID cross-entropy on gt-centre embeddings, averaged over the batch.

    Args:
        embed_ref, embed_cur: (B, C, H/8, W/8) embeddings of the reference and current frames.
        labels: (B, 2, M, 6) rows ``[cls, cx, cy, w, h, track_id]``, valid rows (track id != 0) first.

    Returns:
        Scalar loss. A sample with no object matched across the frames contributes 0 (upstream
        would produce NaN or fail there).
    """
    track_ids = labels[..., 5]
    counts = (track_ids != 0).sum(dim=-1).tolist()  # (B, 2)
    per_sample = []
    for b, (n0, n1) in enumerate(counts):
        rows, cols = match_track_ids(track_ids[b, 0, :n0], track_ids[b, 1, :n1])
        if n0 == 0 or n1 == 0 or not bool((rows >= 0).any()):
            per_sample.append(embed_cur.new_zeros(()))
            continue
        e0 = sample_embeddings(embed_ref[b:b + 1], labels[b, 0, :n0, 1:3])
        e1 = sample_embeddings(embed_cur[b:b + 1], labels[b, 1, :n1, 1:3])
        sim = e0 @ e1.t()  # (M, N)
        per_sample.append(0.5 * (F.cross_entropy(sim, rows, ignore_index=-1)
                                 + F.cross_entropy(sim.t(), cols, ignore_index=-1)))
    return torch.stack(per_sample).mean()
