"""Reference/current-frame interaction: the unified embedding and the target prior."""

from .deformable import DeformableEncoderLayer, ms_deform_attn
from .embedding import UnifiedEmbedding
from .position import LearnedPositionEmbedding
from .prior import box_label_map, propagate_prior, propagate_prior_fp16

__all__ = ["DeformableEncoderLayer", "LearnedPositionEmbedding", "UnifiedEmbedding", "box_label_map",
           "ms_deform_attn", "propagate_prior", "propagate_prior_fp16"]
