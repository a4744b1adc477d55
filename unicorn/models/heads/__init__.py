"""Heads: the unified detection head (SOT and MOT predictors) and the CondInst mask head."""

from .detection import HeadOutput, UnicornHead, decode_outputs
from .mask import MaskBranch, convex_upsample, dynamic_mask_logits

__all__ = ["HeadOutput", "MaskBranch", "UnicornHead", "convex_upsample", "decode_outputs",
           "dynamic_mask_logits"]
