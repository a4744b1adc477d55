"""One training sample (a reference/current frame pair) and the batch collation the loss expects."""

from __future__ import annotations

from dataclasses import dataclass

import torch

TASK_SOT = 1  # SOT in the box stage, VOS in the mask stage (``unicorn_loss`` task id)
TASK_MOT = 2  # MOT in the box stage, MOTS in the mask stage
TASK_IDS = {"sot": TASK_SOT, "vos": TASK_SOT, "mot": TASK_MOT, "mots": TASK_MOT}


@dataclass
class PairSample:
    """A reference/current frame pair ready for ``unicorn_loss``.

    Attributes:
        images: (2, 3, H, W) float32 BGR 0..255, letterboxed top-left, padded with 114.
        labels: (2, M, 6) float32 rows ``[cls, cx, cy, w, h, track_id]`` in input pixels; valid
            rows first, zero rows as padding; ``track_id >= 1`` on valid rows. SOT: M = 1.
        task: 1 (SOT / VOS) or 2 (MOT / MOTS).
        masks: (2, M, H/2, W/2) uint8 0/1 instance masks of the label rows (mask stage), or None.
    """

    images: torch.Tensor
    labels: torch.Tensor
    task: int
    masks: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.ndim != 4 or self.images.shape[:2] != (2, 3):
            raise ValueError(f"images must be (2, 3, H, W), got {tuple(self.images.shape)}")
        if self.labels.ndim != 3 or self.labels.shape[0] != 2 or self.labels.shape[2] != 6:
            raise ValueError(f"labels must be (2, M, 6), got {tuple(self.labels.shape)}")
        if self.task not in (TASK_SOT, TASK_MOT):
            raise ValueError(f"task must be {TASK_SOT} (SOT/VOS) or {TASK_MOT} (MOT/MOTS), got {self.task}")
        h, w = self.images.shape[-2:]
        expected = (2, self.labels.shape[1], h // 2, w // 2)
        if self.masks is not None and tuple(self.masks.shape) != expected:
            raise ValueError(f"masks must be (2, M, H/2, W/2) = {expected}, got {tuple(self.masks.shape)}")


def collate_pairs(samples: list[PairSample]) -> dict:
    """Stack pair samples into the batch format of ``unicorn_loss``.

    Label rows (and masks) are padded with zeros to the largest M of the batch.

    Args:
        samples: B samples with the same image size; either all or none carry masks.

    Returns:
        ``{"images": (B, 2, 3, H, W) float32, "labels": (B, 2, M, 6) float32, "task_ids": (B,) int64,
        "masks": (B, 2, M, H/2, W/2) uint8 or None}``.

    Raises:
        ValueError: an empty list, mixed image sizes, or masks on only some samples.
    """
    if not samples:
        raise ValueError("collate_pairs needs at least one sample")
    sizes = {tuple(s.images.shape[-2:]) for s in samples}
    if len(sizes) > 1:
        raise ValueError(f"all samples of a batch need one input size; got {sorted(sizes)}")
    with_masks = [s.masks is not None for s in samples]
    if any(with_masks) and not all(with_masks):
        raise ValueError(f"{sum(with_masks)} of {len(samples)} samples carry masks; a batch needs all or none "
                         "(keep box-stage and mask-stage datasets in separate batches)")
    m = max(1, max(s.labels.shape[1] for s in samples))
    labels = torch.zeros((len(samples), 2, m, 6), dtype=torch.float32)
    for k, s in enumerate(samples):
        labels[k, :, :s.labels.shape[1]] = s.labels
    masks = None
    if all(with_masks):
        h, w = samples[0].masks.shape[-2:]
        masks = torch.zeros((len(samples), 2, m, h, w), dtype=torch.uint8)
        for k, s in enumerate(samples):
            masks[k, :, :s.masks.shape[1]] = s.masks
    return {
        "images": torch.stack([s.images for s in samples]).float(),
        "labels": labels,
        "task_ids": torch.tensor([s.task for s in samples], dtype=torch.int64),
        "masks": masks,
    }
