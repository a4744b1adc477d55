"""Quasi-dense embedding matcher (QDTrack's ``QuasiDenseEmbedTracker``), as Unicorn uses it.

Each frame (``UPSTREAM_UNICORN.md`` §2.2b):

1. sort detections by score (descending);
2. drop a detection that overlaps any higher-scoring one by IoU > 0.3 (if its score is below
   ``obj_score_thr``) or > 0.7 (otherwise);
3. compare embeddings with the memory, i.e. the tracklets plus the *backdrops* (the
   unmatched, non-duplicate detections of the last ``memo_backdrop_frames`` frames, kept
   as negatives so that a background box does not steal a track):
   ``S = (softmax_over_memory(D Mᵀ) + softmax_over_detections(D Mᵀ)) / 2``,
   times a same-class mask when ``with_cats``;
4. greedy in score order: a detection takes its best memory entry if ``S > match_score_thr``,
   that entry is a tracklet and the detection score > ``obj_score_thr`` (the tracklet's column
   is then zeroed for everyone else); a low-score detection whose best tracklet scores above
   ``nms_conf_thr`` is suppressed instead (neither a track nor a backdrop);
5. an unmatched detection with score > ``init_score_thr`` starts a new id;
6. memory update ``embed = (1 - m) * old + m * new``; tracklets unseen for
   ``memo_tracklet_frames`` frames are dropped; unmatched detections become backdrops unless
   they overlap (IoU > 0.3) a higher-scoring detection.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ...checks import FLAG, at_least, check_fields, one_of, unit
from .base import Tracks, check_detections
from .matching import iou_matrix

_MATCH_METRICS = ("bisoftmax", "softmax", "cosine")
_SUPPRESSED = -2  # a low-score duplicate of a tracklet: not reported, not a backdrop
_UNMATCHED = -1


EMBEDDING_SETTINGS = {
    "init_score_thr": unit(example=0.8), "obj_score_thr": unit(example=0.5), "match_score_thr": unit(example=0.5),
    "memo_tracklet_frames": at_least(0, int, example=30), "memo_backdrop_frames": at_least(0, int, example=1),
    "memo_momentum": unit(example=0.8), "nms_conf_thr": unit(example=0.5), "nms_backdrop_iou_thr": unit(example=0.3),
    "nms_class_iou_thr": unit(example=0.7), "with_cats": FLAG, "match_metric": one_of(*_MATCH_METRICS)}


@dataclass(frozen=True)
class EmbeddingMatcherConfig:
    """Thresholds of the embedding matcher; defaults are upstream's MOT17 / MOTS20 values."""

    init_score_thr: float = 0.8
    obj_score_thr: float = 0.5
    match_score_thr: float = 0.5
    memo_tracklet_frames: int = 30
    memo_backdrop_frames: int = 1
    memo_momentum: float = 0.8
    nms_conf_thr: float = 0.5
    nms_backdrop_iou_thr: float = 0.3
    nms_class_iou_thr: float = 0.7
    with_cats: bool = True
    match_metric: str = "bisoftmax"

    def __post_init__(self) -> None:
        check_fields(self, EMBEDDING_SETTINGS)

    @classmethod
    def mot17(cls) -> EmbeddingMatcherConfig:
        """Upstream defaults (MOT17 "omni" evaluation and MOTS20)."""
        return cls()

    @classmethod
    def bdd100k(cls) -> EmbeddingMatcherConfig:
        """BDD100K box tracking (``external/qdtrack/configs/bdd100k/unicorn.py``)."""
        return cls(init_score_thr=0.4, obj_score_thr=0.2, memo_tracklet_frames=10, memo_momentum=1.0)

    @classmethod
    def bdd100k_mots(cls) -> EmbeddingMatcherConfig:
        """BDD100K MOTS (``configs/bdd100k_mots/segtrack-..._pcan.py``)."""
        return cls(init_score_thr=0.5, obj_score_thr=0.3, memo_tracklet_frames=10, memo_momentum=1.0)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def match_scores(det_embeds: np.ndarray, memo_embeds: np.ndarray, metric: str = "bisoftmax") -> np.ndarray:
    """Similarity between detections and memory entries.

    Args:
        det_embeds: (N, C) detection embeddings (raw, not normalised).
        memo_embeds: (M, C) memory embeddings.
        metric: "bisoftmax" (mean of the softmax over memory and over detections of the raw
            dot products), "softmax" (over memory only) or "cosine".

    Returns:
        (N, M) float64 scores.
    """
    d = np.asarray(det_embeds, dtype=np.float64)
    m = np.asarray(memo_embeds, dtype=np.float64)
    if metric == "cosine":
        dn = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
        mn = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
        return dn @ mn.T
    logits = d @ m.T
    if metric == "softmax":
        return _softmax(logits, axis=1)
    if metric == "bisoftmax":
        return (_softmax(logits, axis=1) + _softmax(logits, axis=0)) / 2.0
    raise ValueError(f"metric must be one of {_MATCH_METRICS}; got {metric!r}")


@dataclass
class _Tracklet:
    box_xyxy: np.ndarray
    embed: np.ndarray
    class_id: int
    last_frame: int


@dataclass
class _Backdrops:
    embeds: np.ndarray  # (K, C)
    class_ids: np.ndarray  # (K,)


class EmbeddingMatcher:
    """Appearance-based associator with a bi-softmax memory (QDTrack-style).

    Args:
        config: thresholds; defaults to ``EmbeddingMatcherConfig.mot17()``.
    """

    def __init__(self, config: EmbeddingMatcherConfig | None = None) -> None:
        self.config = config or EmbeddingMatcherConfig()
        self.reset()

    def reset(self) -> None:
        """Forget the memory and restart ids at 1 and the frame counter at 0."""
        self._tracklets: dict[int, _Tracklet] = {}
        self._backdrops: deque[_Backdrops] = deque()
        self._frame_id = 0
        self._next_id = 1

    @property
    def num_tracklets(self) -> int:
        """Tracklets currently held in memory."""
        return len(self._tracklets)

    def update(
        self,
        boxes_xyxy: np.ndarray,
        scores: np.ndarray,
        embeddings: np.ndarray,
        class_ids: np.ndarray | None = None,
    ) -> Tracks:
        """Match one frame of detections against the memory.

        Args:
            boxes_xyxy: (N, 4) detection boxes.
            scores: (N,) detection scores.
            embeddings: (N, C) appearance embeddings (128-d for Unicorn).
            class_ids: (N,) classes (None: all class 0).

        Returns:
            Detections that carry an id in this frame, in descending score order.

        Note:
            A frame without detections still counts: it ages the tracklets and replaces the
            backdrops with an empty set (upstream skips such frames only when the detector
            returns nothing at all, which the caller can reproduce by not calling ``update``).
        """
        boxes, scores, classes = check_detections(boxes_xyxy, scores, class_ids)
        embeds = np.asarray(embeddings, dtype=np.float32)
        if embeds.ndim != 2 or len(embeds) != len(boxes):
            if len(boxes) == 0 and embeds.size == 0:
                embeds = embeds.reshape(0, 0)
            else:
                raise ValueError(f"embeddings must have shape ({len(boxes)}, C); got {embeds.shape}")
        self._frame_id += 1

        order = np.argsort(-scores, kind="stable")
        order = order[self._keep_non_duplicates(boxes[order], scores[order])]
        boxes, scores, classes, embeds = boxes[order], scores[order], classes[order], embeds[order]

        ids = np.full(len(order), _UNMATCHED, dtype=np.int64)
        if len(order) and self._tracklets:
            self._assign(ids, scores, classes, embeds)
        for i in np.flatnonzero((ids == _UNMATCHED) & (scores > self.config.init_score_thr)):
            ids[i] = self._next_id
            self._next_id += 1

        self._update_memory(ids, boxes, scores, classes, embeds)
        hit = np.flatnonzero(ids > 0)
        return Tracks.build(ids[hit].tolist(), list(boxes[hit]), scores[hit].tolist(),
                            classes[hit].tolist(), order[hit].tolist())

    def _keep_non_duplicates(self, boxes: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """(N,) bool: False for a box overlapping any higher-scoring box (boxes sorted by score).

        As upstream, the comparison is with every higher-scoring box, dropped or not.
        """
        cfg = self.config
        ious = iou_matrix(boxes, boxes)
        keep = np.ones(len(boxes), dtype=bool)
        for i in range(1, len(boxes)):
            thr = cfg.nms_backdrop_iou_thr if scores[i] < cfg.obj_score_thr else cfg.nms_class_iou_thr
            keep[i] = not (ious[i, :i] > thr).any()
        return keep

    def _memory(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Memory embeddings (M, C), ids (M,) (-1 for backdrops) and classes (M,)."""
        embeds = [t.embed[None] for t in self._tracklets.values()]
        ids = [np.fromiter(self._tracklets.keys(), dtype=np.int64)]
        classes = [np.array([t.class_id for t in self._tracklets.values()], dtype=np.int64)]
        for b in self._backdrops:
            if len(b.embeds) == 0:
                continue
            embeds.append(b.embeds)
            ids.append(np.full(len(b.embeds), _UNMATCHED, dtype=np.int64))
            classes.append(b.class_ids)
        return np.concatenate(embeds), np.concatenate(ids), np.concatenate(classes)

    def _assign(self, ids: np.ndarray, scores: np.ndarray, classes: np.ndarray, embeds: np.ndarray) -> None:
        cfg = self.config
        memo_embeds, memo_ids, memo_classes = self._memory()
        sim = match_scores(embeds, memo_embeds, cfg.match_metric)
        if cfg.with_cats:
            sim = sim * (classes[:, None] == memo_classes[None, :])
        for i in range(len(ids)):
            j = int(np.argmax(sim[i]))
            conf = sim[i, j]
            if conf <= cfg.match_score_thr or memo_ids[j] == _UNMATCHED:
                continue
            if scores[i] > cfg.obj_score_thr:
                ids[i] = memo_ids[j]
                sim[:i, j] = 0.0
                sim[i + 1 :, j] = 0.0
            elif conf > cfg.nms_conf_thr:
                ids[i] = _SUPPRESSED

    def _update_memory(self, ids, boxes, scores, classes, embeds) -> None:
        cfg, fid = self.config, self._frame_id
        m = cfg.memo_momentum
        for i in np.flatnonzero(ids > 0):
            tid = int(ids[i])
            old = self._tracklets.get(tid)
            if old is None:
                self._tracklets[tid] = _Tracklet(boxes[i], embeds[i].copy(), int(classes[i]), fid)
            else:
                old.embed = (1.0 - m) * old.embed + m * embeds[i]
                old.box_xyxy, old.class_id, old.last_frame = boxes[i], int(classes[i]), fid

        # backdrops: unmatched detections that do not overlap a higher-scoring detection
        cand = np.flatnonzero(ids == _UNMATCHED)
        ious = iou_matrix(boxes[cand], boxes)
        keep = [k for n, k in enumerate(cand) if not (ious[n, :k] > cfg.nms_backdrop_iou_thr).any()]
        self._backdrops.appendleft(_Backdrops(embeds[keep], classes[keep]))
        while len(self._backdrops) > cfg.memo_backdrop_frames:
            self._backdrops.pop()

        expired = [k for k, t in self._tracklets.items() if fid - t.last_frame >= cfg.memo_tracklet_frames]
        for k in expired:
            del self._tracklets[k]
