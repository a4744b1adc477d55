"""A memory of labelled frames for label propagation (``unicorn-lite``'s SOT and VOS).

The memory holds the embeddings of the prompt frames (looked up everywhere: a target that jumps or
comes back is found again) and of the last few frames (looked up only near each pixel), each with
soft labels: row 0 background, row k the k-th object. :meth:`LabelMemory.read` propagates them to a
new frame (:func:`unicorn.models.interaction.memory.propagate_labels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..models.interaction.memory import local_window, propagate_blocks, reach_bias


@dataclass
class _Entry:
    keys: torch.Tensor  # (C, n) embeddings of the kept cells
    labels: torch.Tensor  # (1 + K, n)
    cells: torch.Tensor  # (n,) flat grid index of each kept cell
    bias: torch.Tensor | None = None  # recent frames: (h*w, n) 0 where a cell may read a kept cell, -inf elsewhere


def kept_cells(labels: torch.Tensor, stride: int = 2, min_object: float = 0.02,
               min_confidence: float = 0.0) -> torch.Tensor:
    """Cells of a frame worth remembering: every object cell, and one background cell in
    ``stride`` x ``stride`` (background looks alike nearby, and the prompt frames hold all of theirs);
    cells whose strongest label is below ``min_confidence`` are left out (an uncertain border cell
    remembered as half object would let the object grow into its surroundings frame after frame).

    Args:
        labels: (1 + K, h, w) soft labels.

    Returns:
        (n,) flat indices.
    """
    h, w = labels.shape[-2:]
    keep = labels[1:].amax(0) > min_object if labels.shape[0] > 1 else torch.zeros((h, w), dtype=torch.bool,
                                                                                     device=labels.device)
    keep = keep.clone()
    keep[::stride, ::stride] = True
    if min_confidence > 0:
        keep &= labels.amax(0) >= min_confidence
    return keep.flatten().nonzero()[:, 0]


class LabelMemory:
    """Prompt frames plus a short memory of recent frames, with their soft labels.

    Args:
        topk: neighbours each pixel reads from.
        temperature: softmax temperature of the propagation.
        recent: number of recent frames kept (0: prompt frames only).
        radius: recent frames are read within this many grid cells of a pixel (0: everywhere).
    """

    def __init__(self, topk: int, temperature: float, recent: int, radius: float, confidence: float = 0.0) -> None:
        self.topk, self.temperature, self.recent, self.radius = topk, temperature, recent, radius
        self.confidence = confidence
        self.prompts: list[_Entry] = []
        self.frames: list[_Entry] = []
        self.num_objects = 0
        self._reach: torch.Tensor | None = None  # (h*w, h*w) reach_bias of the local window
        self._grid: tuple[int, int] | None = None

    def _fit(self, labels: torch.Tensor) -> torch.Tensor:
        """Pad (1 + k, N) labels with zero rows up to the current object count."""
        missing = 1 + self.num_objects - labels.shape[0]
        return torch.cat([labels, labels.new_zeros((missing, labels.shape[1]))]) if missing > 0 else labels

    def add_prompt(self, embedding: torch.Tensor, labels: torch.Tensor) -> None:
        """A frame whose labels are given (the first frame, or a frame where objects were added).

        Args:
            embedding: (C, h, w).
            labels: (1 + K, h, w) soft labels; K may grow (new objects take the next rows).
        """
        self._grid = tuple(embedding.shape[-2:])
        self.num_objects = max(self.num_objects, labels.shape[0] - 1)
        cells = kept_cells(labels)
        self.prompts.append(_Entry(embedding.flatten(1)[:, cells], labels.flatten(1)[:, cells], cells))

    def add_frame(self, embedding: torch.Tensor, labels: torch.Tensor) -> None:
        """A tracked frame and its propagated labels (the oldest recent frame is forgotten); only its
        :func:`kept_cells` are remembered."""
        if self.recent <= 0:
            return
        cells = kept_cells(labels, min_confidence=self.confidence)
        entry = _Entry(embedding.flatten(1)[:, cells], labels.flatten(1)[:, cells], cells)
        if self.radius > 0:
            h, w = labels.shape[-2:]
            if self._reach is None or self._reach.shape[0] != h * w:
                self._reach = reach_bias(local_window(h, w, self.radius, labels.device))
            entry.bias = self._reach.index_select(0, cells).t().contiguous()  # the window is symmetric
        self.frames = (self.frames + [entry])[-self.recent:]

    def remove_object(self, row: int) -> None:
        """Forget object row ``row`` (>= 1): its probability goes to the background."""
        for entry in self.prompts + self.frames:
            labels = self._fit(entry.labels)
            entry.labels = torch.cat([labels[:1] + labels[row:row + 1], labels[1:row], labels[row + 1:]])
        self.num_objects -= 1

    def read(self, embedding: torch.Tensor, region: torch.Tensor | None = None) -> torch.Tensor:
        """Propagate the memory to a frame: (C, h, w) -> (1 + K, h, w) soft labels.

        Args:
            embedding: (C, h, w) the frame's embedding.
            region: optional (h, w) bool: only these cells are read; the others are background.
        """
        h, w = embedding.shape[-2:]
        if self._grid != (h, w):
            raise ValueError(f"frame grid {(h, w)} differs from the memory's {self._grid}")
        query = embedding.flatten(1)
        rows = None if region is None else region.flatten().nonzero()[:, 0]
        if rows is not None:
            query = query[:, rows]
        blocks = [(e.keys, self._fit(e.labels), None) for e in self.prompts]
        if self.frames:  # the recent frames, read only within the radius of each pixel
            bias = None
            if self.radius > 0:
                bias = torch.cat([e.bias for e in self.frames], 1)
                bias = bias if rows is None else bias.index_select(0, rows)
            blocks.append((torch.cat([e.keys for e in self.frames], 1),
                           torch.cat([self._fit(e.labels) for e in self.frames], 1), bias))
        out = propagate_blocks(query, blocks, self.topk, self.temperature)
        if rows is None:
            return out.view(-1, h, w)
        full = out.new_zeros((out.shape[0], h * w))
        full[0] = 1.0
        full[:, rows] = out
        return full.view(-1, h, w)
