"""Frame-to-frame association: ByteTrack (IoU + Kalman) and the QDTrack-style embedding matcher."""

from .base import Tracks
from .bytetrack import ByteTrack, ByteTrackConfig
from .embedding import EmbeddingMatcher, EmbeddingMatcherConfig, match_scores
from .kalman import KalmanFilterXYAH
from .matching import fuse_score, iou_matrix, linear_assignment

__all__ = [
    "ByteTrack",
    "ByteTrackConfig",
    "EmbeddingMatcher",
    "EmbeddingMatcherConfig",
    "KalmanFilterXYAH",
    "Tracks",
    "fuse_score",
    "iou_matrix",
    "linear_assignment",
    "match_scores",
]
