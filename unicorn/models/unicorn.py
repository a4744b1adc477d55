"""The Unicorn model: one network, named steps for every task.

Data flows top to bottom::

    image -> backbone (C3, C4, C5) -> neck (P3, P4, P5)                 extract_features
    C4 of reference + current -> deformable interaction -> embeddings    interact
    reference map @ softmax(E_ref . E_cur) -> target prior               propagate
    (P3..P5, prior) -> detection head: SOT predictors                    detect_targets
    P3..P5, zero prior -> detection head: MOT predictors                 detect_objects
    P3..P5 -> mask branch; dynamic params -> per-instance masks          segment / instance_masks
    C3, C4 -> memory embedding of one frame (label propagation)          memory_features
    embedding sampled at box centres -> ID features                      id_features

``forward`` computes the training loss (see :mod:`unicorn.models.losses`).
"""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ModelConfig
from .features import EMBED_STRIDE, FrameFeatures, id_feature_grid
from .heads.detection import HeadOutput, UnicornHead, decode_outputs
from .heads.mask import MaskBranch, convex_upsample, dynamic_mask_logits
from .interaction.embedding import FrameTokens, UnifiedEmbedding
from .interaction.memory import MemoryEmbedding, normalized_features
from .interaction.prior import multiscale_priors, propagate_prior, propagate_prior_fp16
from .layers import aligned_bilinear
from .losses.unicorn_loss import unicorn_loss


class Unicorn(nn.Module):
    """Backbone + neck + unified embedding + unified head (+ mask branch).

    Args:
        backbone: module returning [C3, C4, C5] with ``out_channels``.
        neck: module mapping [C3, C4, C5] to [P3, P4, P5] with ``out_channels``.
        head: the unified detection head.
        embedding: the unified embedding, or None for plain detectors.
        mask_branch: the CondInst mask branch, or None for box-only variants.
        config: the resolved model config (kept for saving; modules never read it).

    Attributes:
        variant: the variant name when the model was built or loaded by name (``unicorn.load("unicorn-lite")``),
            None when it came from a file; it picks the variant's default MOT detector.
        memory_runtime: what runs :meth:`memory_features` in inference instead of torch, or None.
    """

    def __init__(self, backbone: nn.Module, neck: nn.Module, head: UnicornHead,
                 embedding: UnifiedEmbedding | MemoryEmbedding | None = None, mask_branch: MaskBranch | None = None,
                 config: ModelConfig | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck
        self.embedding = embedding
        self.head = head
        self.mask_branch = mask_branch
        self.config = config
        self.variant: str | None = None
        # Runs :meth:`memory_features` in inference instead of torch when set (``unicorn.load`` sets the
        # ONNX Runtime one, :class:`unicorn.backends.onnxruntime.MemoryRuntime`); None: torch.
        self.memory_runtime = None

    @property
    def num_classes(self) -> int:
        return self.head.num_classes

    @property
    def has_masks(self) -> bool:
        return self.mask_branch is not None

    def use_fast_pointwise(self, enabled: bool = True) -> None:
        """Run every ConvNeXt MLP as 1x1 convolutions, the last stage's too (by default that stage keeps
        Linear layers, see ``EXACT_LINEAR_STAGE``). Same maths, faster on CPU, different rounding
        (see :func:`unicorn.load`)."""
        if hasattr(self.backbone, "set_fast_pointwise"):
            self.backbone.set_fast_pointwise(enabled)

    # ------------------------------------------------------------------ steps
    def extract_features(self, images: torch.Tensor) -> FrameFeatures:
        """Args: images: (B, 3, H, W) BGR 0..255, H and W multiples of 32."""
        c3, c4, c5 = self.backbone(images)
        return FrameFeatures(self.neck([c3, c4, c5]), c4, c3=c3 if self.has_memory_embedding else None)

    @property
    def has_memory_embedding(self) -> bool:
        """True when the embedding embeds each frame on its own (``ModelConfig.embedding="memory"``)."""
        return isinstance(self.embedding, MemoryEmbedding)

    @property
    def memory_temperature(self) -> float | None:
        """Softmax temperature of label propagation over the memory embedding (learned); None without one."""
        return self.embedding.temperature if self.has_memory_embedding else None

    def memory_features(self, images: torch.Tensor, trained: bool = True) -> torch.Tensor:
        """The per-frame embedding label propagation reads: (B, 3, H, W) BGR 0..255 (H, W multiples of 32)
        -> (B, C, H/8, W/8), each cell L2-normalised.

        Args:
            trained: the memory embedding (needs :attr:`has_memory_embedding`); False: the frozen backbone's
                C3 and upsampled C4, each normalised (the training-free features, ``features="imagenet"``).
        """
        runtime = self.memory_runtime
        if runtime is not None and not self.training and not torch.is_grad_enabled() and images.device.type == "cpu":
            return runtime(self, images, trained)
        c3, c4, _ = self.backbone(images)
        return self.embedding(c3, c4) if trained else normalized_features(c3, c4)

    def tokens(self, feats: FrameFeatures) -> FrameTokens | None:
        """Interaction tokens of a frame: those kept on ``feats`` (see :meth:`with_tokens`), else computed now
        and not kept; None for a memory embedding, which needs none."""
        if self.embedding is None:
            raise ValueError("this variant is a plain detector without the unified embedding")
        if self.has_memory_embedding:
            return None  # nothing to prepare: a memory embedding embeds each frame on its own
        return feats.tokens if feats.tokens is not None else self.embedding.tokens(feats.c4)

    def with_tokens(self, feats: FrameFeatures) -> FrameFeatures:
        """``feats`` with its interaction tokens computed and kept, for a frame that meets several others
        (a reference frame, or a current frame with several references)."""
        return replace(feats, tokens=self.tokens(feats))

    def _memory_embed(self, feats: FrameFeatures) -> torch.Tensor:
        """A memory embedding scaled so that the prior's softmax (scale 1) runs at its temperature."""
        if feats.c3 is None:
            raise ValueError("a memory embedding needs the frame's C3; use extract_features")
        return self.embedding(feats.c3, feats.c4) * (-0.5 * self.embedding.log_temperature).exp()

    def interact(self, ref: FrameFeatures, cur: FrameFeatures) -> tuple[torch.Tensor, torch.Tensor]:
        """Joint interaction of two frames. Returns (E_ref, E_cur), each (B, 128, H/8, W/8)."""
        if self.has_memory_embedding:
            return self._memory_embed(ref), self._memory_embed(cur)
        f_ref, f_cur = self.embedding.interact(self.tokens(ref), self.tokens(cur))
        return self.embedding.embed(f_ref), self.embedding.embed(f_cur)

    def embed_current(self, ref: FrameFeatures, cur: FrameFeatures) -> torch.Tensor:
        """Only the current frame's embedding (ID features need nothing else). (B, 128, H/8, W/8)."""
        if self.has_memory_embedding:
            return self._memory_embed(cur)
        _, f_cur = self.embedding.interact(self.tokens(ref), self.tokens(cur))
        return self.embedding.embed(f_cur)

    @staticmethod
    def propagate(embed_ref: torch.Tensor, embed_cur: torch.Tensor, ref_maps: torch.Tensor,
                  upstream_fp16: bool = False) -> list[torch.Tensor]:
        """Propagate stride-8 reference maps; returns priors at strides 8/16/32, each (B, K, h, w).

        Args:
            embed_ref, embed_cur: (B, C, h, w) embeddings.
            ref_maps: (B, K, h, w) reference maps at stride 8.
            upstream_fp16: round like upstream's float16 propagation instead of exact float32.
        """
        fn = propagate_prior_fp16 if upstream_fp16 else propagate_prior
        return multiscale_priors(fn(embed_ref, embed_cur, ref_maps))

    def detect_targets(self, feats: FrameFeatures, priors: list[torch.Tensor]) -> HeadOutput:
        """The head's SOT/VOS predictors on a frame, with the target priors of :meth:`propagate`.

        Args:
            feats: the frame's features (one image, or one per target).
            priors: per level (K, 1, h, w): K targets in the batch axis. When ``feats`` holds one image,
                it is repeated so that every target gets its own pass of the head.
        """
        fpn = feats.fpn
        if priors[0].shape[0] != fpn[0].shape[0]:
            fpn = [f.expand(priors[0].shape[0], -1, -1, -1) for f in fpn]
        return self.head.detect_targets(fpn, priors)

    def detect_objects(self, feats: FrameFeatures) -> HeadOutput:
        """The head's MOT/MOTS predictors (every object of the model's classes) with a zero prior."""
        return self.head.detect_objects(feats.fpn)

    @staticmethod
    def decode(head_out: HeadOutput) -> tuple[torch.Tensor, torch.Tensor]:
        """Decoded boxes/probabilities (B, N, 5+C) and anchor centres (N, 2)."""
        return decode_outputs(head_out)

    def segment(self, feats: FrameFeatures) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask features (B, 8, H/8, W/8) and convex-upsampling weights (B, 144, H/8, W/8)."""
        if self.mask_branch is None:
            raise ValueError("this variant has no mask head; use a *_mask variant for VOS or MOTS")
        return self.mask_branch(feats.fpn)

    def instance_masks(self, head_out: HeadOutput, mask_feats: torch.Tensor, up_weights: torch.Tensor,
                       anchor_idx: torch.Tensor, locations: torch.Tensor, batch_idx: int = 0,
                       mask_batch_idx: int = 0, final_rate: int = 2) -> torch.Tensor:
        """Mask probabilities at input resolution for chosen anchors.

        Args:
            head_out: head output holding the regression features.
            mask_feats, up_weights: outputs of :meth:`segment`.
            anchor_idx: (M,) anchors (indices into the flattened levels).
            locations: (N, 2) anchor centres from :meth:`decode`.
            batch_idx: image of ``head_out`` the anchors belong to.
            mask_batch_idx: image of ``mask_feats`` to use.
            final_rate: upsampling after the convex x4 (upstream ``d_rate`` = 2).

        Returns:
            (M, 1, H, W) probabilities.
        """
        params = self.head.dynamic_params(head_out, anchor_idx, batch_idx)
        levels = self.anchor_levels(head_out)[anchor_idx]
        logits = dynamic_mask_logits(mask_feats[mask_batch_idx:mask_batch_idx + 1], params,
                                     locations[anchor_idx], levels, EMBED_STRIDE)
        up = self.mask_branch.up_rate
        probs = convex_upsample(logits, up_weights[mask_batch_idx:mask_batch_idx + 1], up).sigmoid()
        return aligned_bilinear(probs, final_rate)

    @staticmethod
    def anchor_levels(head_out: HeadOutput) -> torch.Tensor:
        """(N,) level index of every flattened anchor."""
        device = head_out.raw[0].device
        return torch.cat([torch.full((r.shape[-2] * r.shape[-1],), k, dtype=torch.long, device=device)
                          for k, r in enumerate(head_out.raw)])

    @staticmethod
    def id_features(embed_cur: torch.Tensor, centers_xy: torch.Tensor) -> torch.Tensor:
        """Sample the embedding at box centres (upstream's grid formula, bilinear, border padding).

        Args:
            embed_cur: (1, C, h, w) current-frame embedding at stride 8.
            centers_xy: (N, 2) centres in input pixels.

        Returns:
            (N, C) ID features.
        """
        grid = id_feature_grid(centers_xy, embed_cur.shape[-2:])
        out = F.grid_sample(embed_cur, grid.view(1, 1, -1, 2), mode="bilinear", padding_mode="border",
                            align_corners=False)
        return out[0, :, 0].t()

    def forward(self, *args, **kwargs):  # noqa: D401 - documented in losses
        """Training loss; see :func:`unicorn.models.losses.unicorn_loss`."""
        return unicorn_loss(self, *args, **kwargs)


__all__ = ["Unicorn"]
