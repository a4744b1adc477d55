"""The Unicorn training loss for a batch of frame pairs (upstream ``UnicornActor`` + ``forward(mode="loss")``).

Per pair [reference, current]:

- **SOT** (task 1, no masks): the reference box map (first label row) is propagated to the
  current frame with the float32 correspondence; the head runs in SOT mode with that prior;
  loss = head loss + dice(prior, current box map) over the SOT sub-batch.
- **VOS** (task 1, masks): the same for every object found in both frames (each with its own
  prior), plus the dice mask loss; averaged over all those objects of the sub-batch.
- **MOT/MOTS** (task 2): the head runs in MOT mode with a zero prior; loss = head loss (+ mask
  loss) + bidirectional ID cross-entropy; multiplied by ``mot_weight``.
- **mhs**: on MOT samples, the first reference object also present in the current frame becomes
  an SOT target and ``mhs_weight`` x its SOT loss is added.

``total = (n_sot * L_sot + n_mot * mot_weight * L_mot) / B + mhs_weight * L_mhs``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..features import EMBED_STRIDE, FrameFeatures
from ..heads.detection import HeadOutput
from ..interaction.prior import box_label_map, downsample_label_map
from .correspondence import mot_correspondence_loss, sot_correspondence_loss
from .detection import detection_loss
from .simota import Assignment

if TYPE_CHECKING:
    from ..unicorn import Unicorn

TASK_ID_SOT = 1  # SOT in the box stage, VOS in the mask stage
TASK_ID_MOT = 2  # MOT in the box stage, MOTS in the mask stage
TERMS = ("iou_loss", "l1_loss", "conf_loss", "cls_loss", "corr_loss", "num_fg")
Record = list[tuple[str, Assignment]]


def box_maps(boxes_cxcywh: torch.Tensor, image_hw: tuple[int, int]) -> torch.Tensor:
    """Box-filled maps at stride 8, as upstream's ``get_label_map`` + bilinear x1/8.

    Args:
        boxes_cxcywh: (K, 4) boxes in input pixels.
        image_hw: input (H, W).

    Returns:
        (K, 1, H/8, W/8).
    """
    cx, cy, w, h = boxes_cxcywh.unbind(-1)
    xyxy = torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], -1)
    return downsample_label_map(box_label_map(xyxy, *image_hw), EMBED_STRIDE)


def _detect_loss(model: Unicorn, head_out: HeadOutput, labels: torch.Tensor, image_hw: tuple[int, int],
                 task: str, record: Record | None, **kwargs) -> dict[str, torch.Tensor]:
    found: list[Assignment] = []
    out = detection_loss(model, head_out, labels, image_hw, assignments=found, **kwargs)
    if record is not None:
        record.extend((task, a) for a in found)
    return out


def sot_loss(model: Unicorn, embed_ref: torch.Tensor, embed_cur: torch.Tensor, cur: FrameFeatures,
             labels: torch.Tensor, image_hw: tuple[int, int], record: Record | None = None) -> dict[str, torch.Tensor]:
    """SOT loss of a sub-batch: propagated prior of the first label row, SOT head, dice correspondence.

    Args:
        embed_ref, embed_cur: (B, C, H/8, W/8) embeddings.
        cur: current-frame features of the B samples.
        labels: (B, 2, M, 6); row 0 of each frame is the target.
        image_hw: input (H, W).
        record: collects ``("sot", Assignment)`` per image.
    """
    priors = model.propagate(embed_ref, embed_cur, box_maps(labels[:, 0, 0, 1:5], image_hw))
    head_out = model.detect_targets(cur, priors)
    out = _detect_loss(model, head_out, labels[:, 1, :, :5], image_hw, "sot", record)
    out["corr_loss"] = sot_correspondence_loss(priors[0], box_maps(labels[:, 1, 0, 1:5], image_hw))
    out["total_loss"] = out["total_loss"] + out["corr_loss"]
    return out


def matched_objects(labels: torch.Tensor) -> list[tuple[int, int]]:
    """(reference row, current row) of every valid reference object found in the current frame.

    Args:
        labels: (2, M, 6) labels of one pair; the track id is column 5 (0 = padding).
    """
    ids_ref, ids_cur = labels[0, :, 5].tolist(), labels[1, :, 5].tolist()
    pairs = []
    for i, id_r in enumerate(ids_ref):
        if id_r == 0:
            continue
        j = next((j for j, id_c in enumerate(ids_cur) if id_c != 0 and id_c == id_r), None)
        if j is not None:
            pairs.append((i, j))
    return pairs


def _slice(head_out: HeadOutput, k: int) -> HeadOutput:
    return HeadOutput([r[k:k + 1] for r in head_out.raw], [f[k:k + 1] for f in head_out.reg_feats],
                      head_out.strides)


def vos_loss(model: Unicorn, embed_ref: torch.Tensor, embed_cur: torch.Tensor, cur: FrameFeatures,
             labels: torch.Tensor, masks: torch.Tensor, image_hw: tuple[int, int],
             record: Record | None = None) -> dict[str, torch.Tensor] | None:
    """VOS loss: one SOT pass with masks per object present in both frames, averaged over objects.

    Args as :func:`sot_loss`, plus masks: (B, 2, M, H/2, W/2) gt masks of the label rows.

    Returns:
        The averaged terms, or None when no object appears in both frames.
    """
    per_object: list[dict[str, torch.Tensor]] = []
    for b in range(labels.shape[0]):
        pairs = matched_objects(labels[b])
        if not pairs:
            continue
        rows_ref, rows_cur = [i for i, _ in pairs], [j for _, j in pairs]
        cur_boxes = labels[b, 1, rows_cur, 1:5]
        ref_maps = box_maps(labels[b, 0, rows_ref, 1:5], image_hw).transpose(0, 1)  # (1, K, h, w)
        priors = [p.transpose(0, 1) for p in model.propagate(embed_ref[b:b + 1], embed_cur[b:b + 1], ref_maps)]
        feats_b = _rows(cur, slice(b, b + 1))
        head_out = model.detect_targets(feats_b, priors)  # one pass of the head per object
        mask_outputs = model.segment(feats_b)
        cur_maps = box_maps(cur_boxes, image_hw)
        for k, j in enumerate(rows_cur):
            target = cur_boxes.new_zeros((1, 1, 5))
            target[0, 0, 1:5] = cur_boxes[k]
            out = _detect_loss(model, _slice(head_out, k), target, image_hw, "sot", record,
                               masks=masks[b:b + 1, 1, j:j + 1], mask_outputs=mask_outputs)
            out["corr_loss"] = sot_correspondence_loss(priors[0][k:k + 1], cur_maps[k:k + 1])
            out["total_loss"] = out["total_loss"] + out["corr_loss"]
            per_object.append(out)
    if not per_object:
        return None
    return {key: sum(d[key] for d in per_object) * (1 / len(per_object)) for key in per_object[0]}


def mot_loss(model: Unicorn, embed_ref: torch.Tensor, embed_cur: torch.Tensor, cur: FrameFeatures,
             labels: torch.Tensor, image_hw: tuple[int, int], masks: torch.Tensor | None = None,
             record: Record | None = None) -> dict[str, torch.Tensor]:
    """MOT(S) loss of a sub-batch: zero-prior MOT head (+ masks) and ID correspondence (before ``mot_weight``).

    Args as :func:`vos_loss`; masks may be None (box stage).
    """
    head_out = model.detect_objects(cur)
    kwargs = {}
    if masks is not None:
        kwargs = {"masks": masks[:, 1], "mask_outputs": model.segment(cur)}
    out = _detect_loss(model, head_out, labels[:, 1], image_hw, "mot", record, **kwargs)
    out["corr_loss"] = mot_correspondence_loss(embed_ref, embed_cur, labels)
    out["total_loss"] = out["total_loss"] + out["corr_loss"]
    return out


def mhs_labels(labels: torch.Tensor) -> torch.Tensor:
    """SOT labels from MOT labels: the first reference row whose id is in the current frame.

    Args:
        labels: (B, 2, M, 6) MOT labels.

    Returns:
        (B, 2, M, 6) with only row 0 filled (class 0); all zeros where nothing matches.
    """
    out = torch.zeros_like(labels)
    for b in range(labels.shape[0]):
        ids_ref, ids_cur = labels[b, 0, :, 5].tolist(), labels[b, 1, :, 5].tolist()
        match = next(((i, j) for i, id_r in enumerate(ids_ref) for j, id_c in enumerate(ids_cur)
                      if id_r == id_c), None)
        if match is not None:  # upstream also matches padding rows to padding: the same all-zero label
            out[b, 0, 0, 1:6] = labels[b, 0, match[0], 1:6]
            out[b, 1, 0, 1:6] = labels[b, 1, match[1], 1:6]
    return out


def _rows(feats: FrameFeatures, sel) -> FrameFeatures:
    """The samples ``sel`` (a slice or a boolean mask) of batched frame features."""
    return FrameFeatures([p[sel] for p in feats.fpn], feats.c4[sel], c3=None if feats.c3 is None else feats.c3[sel])


def _check_inputs(images: torch.Tensor, labels: torch.Tensor, task_ids: torch.Tensor,
                  masks: torch.Tensor | None) -> None:
    if images.ndim != 5 or images.shape[1] != 2 or images.shape[2] != 3:
        raise ValueError(f"images must be (B, 2, 3, H, W) [reference, current], got {tuple(images.shape)}")
    b, _, _, h, w = images.shape
    if labels.ndim != 4 or labels.shape[:2] != (b, 2) or labels.shape[3] != 6:
        raise ValueError(f"labels must be (B, 2, M, 6) = [cls, cx, cy, w, h, track_id] with B={b}, "
                         f"got {tuple(labels.shape)}")
    if task_ids.numel() != b or not bool(((task_ids == TASK_ID_SOT) | (task_ids == TASK_ID_MOT)).all()):
        raise ValueError(f"task_ids must hold B={b} values, each {TASK_ID_SOT} (SOT/VOS) or "
                         f"{TASK_ID_MOT} (MOT/MOTS); got {task_ids.reshape(-1).tolist()}")
    if masks is not None and tuple(masks.shape) != (b, 2, labels.shape[2], h // 2, w // 2):
        raise ValueError(f"masks must be (B, 2, M, H/2, W/2) = {(b, 2, labels.shape[2], h // 2, w // 2)}, "
                         f"got {tuple(masks.shape)}")


def _zero_terms(like: torch.Tensor, with_masks: bool) -> dict[str, torch.Tensor]:
    keys = ("total_loss",) + TERMS + (("condinst_loss",) if with_masks else ())
    return {k: like.new_zeros(()) for k in keys}


def _keep_parameters_used(model: Unicorn) -> torch.Tensor:
    """``0 * sum(p)`` over the task-specific parameters, so each receives a (zero) gradient.

    A batch holds one task, so the other task's predictors (and the mask parts, without masks)
    take no part in the loss. Giving them an exact zero gradient keeps
    ``DistributedDataParallel(find_unused_parameters=False)`` working and, like upstream, lets
    the optimizer still apply weight decay to them. It adds exactly 0 to the loss and to every
    other gradient.
    """
    head = model.head
    groups = [head.cls_preds, head.reg_preds, head.obj_preds]
    if head.with_sot:
        groups += [head.cls_preds_sot, head.reg_preds_sot, head.obj_preds_sot, head.betas]
    if head.controllers is not None:
        groups.append(head.controllers)
    if model.mask_branch is not None:
        groups.append(model.mask_branch)
    params = [p for g in groups for p in g.parameters() if p.requires_grad]
    if not params:
        return next(model.parameters()).new_zeros(())
    return torch.stack([p.sum() for p in params]).sum() * 0.0


def unicorn_loss(model: Unicorn, images: torch.Tensor, labels: torch.Tensor, task_ids: torch.Tensor,
                 masks: torch.Tensor | None = None, *, mot_weight: float = 3.0, mhs: bool = True,
                 mhs_weight: float = 0.5, assignments: Record | None = None) -> dict[str, torch.Tensor]:
    """Training loss of a batch of frame pairs (each sample one task; upstream alternates batches).

    Args:
        model: the Unicorn model (in train mode).
        images: (B, 2, 3, H, W) [reference, current] letterboxed BGR 0..255.
        labels: (B, 2, M, 6) rows ``[cls, cx, cy, w, h, track_id]`` in input pixels, valid rows
            first, zero rows as padding. SOT samples: row 0 is the target in both frames.
        task_ids: (B,) or (B, 1): 1 = SOT (VOS with masks), 2 = MOT (MOTS with masks).
        masks: (B, 2, M, H/2, W/2) gt masks of the label rows (mask stage), or None (box stage).
        mot_weight: factor on the MOT total (3 upstream).
        mhs: add the SOT loss of one matched object of every MOT sample (upstream BDD box stage).
        mhs_weight: its factor (0.5).
        assignments: if given, ``(task, Assignment)`` of every SimOTA call is appended.

    Returns:
        ``total_loss`` plus, for ``t`` in (sot, mot): ``iou_loss_t`` (x5 included), ``l1_loss_t``,
        ``conf_loss_t``, ``cls_loss_t``, ``corr_loss_t``, ``num_fg_t`` and, with masks,
        ``condinst_loss_t`` (zeros for a task absent from the batch). Task terms are before
        ``mot_weight``; ``total_loss`` includes it.
    """
    task_ids = task_ids.reshape(-1)
    _check_inputs(images, labels, task_ids, masks)
    if model.embedding is None or not model.head.with_sot:
        raise ValueError("this model is a plain detector; tracking losses need the unified embedding")
    if masks is not None and model.mask_branch is None:
        raise ValueError("masks were given but this model has no mask branch; use a *_mask variant")
    labels = labels.float()
    b, _, _, h, w = images.shape
    image_hw = (h, w)
    both = model.extract_features(images.transpose(0, 1).reshape(2 * b, 3, h, w))  # [all refs, all curs]
    ref, cur = _rows(both, slice(0, b)), _rows(both, slice(b, 2 * b))
    embed_ref, embed_cur = model.interact(ref, cur)
    is_sot, is_mot = task_ids == TASK_ID_SOT, task_ids == TASK_ID_MOT
    n_sot, n_mot = int(is_sot.sum()), int(is_mot.sum())
    with_masks = masks is not None
    sot, mot = _zero_terms(embed_cur, with_masks), _zero_terms(embed_cur, with_masks)
    aux = embed_cur.new_zeros(())

    def subset(sel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, FrameFeatures]:
        return embed_ref[sel], embed_cur[sel], _rows(cur, sel)

    if n_sot:
        e_ref, e_cur, feats = subset(is_sot)
        if with_masks:
            sot = vos_loss(model, e_ref, e_cur, feats, labels[is_sot], masks[is_sot], image_hw,
                           assignments) or sot
        else:
            sot = sot_loss(model, e_ref, e_cur, feats, labels[is_sot], image_hw, assignments)
    if n_mot:
        e_ref, e_cur, feats = subset(is_mot)
        mot = mot_loss(model, e_ref, e_cur, feats, labels[is_mot], image_hw,
                       masks[is_mot] if with_masks else None, assignments)
        if mhs:
            aux = sot_loss(model, e_ref, e_cur, feats, mhs_labels(labels[is_mot]), image_hw,
                           assignments)["total_loss"] * mhs_weight
    mot["total_loss"] = mot_weight * mot["total_loss"]
    total = (n_sot * sot["total_loss"] + n_mot * mot["total_loss"]) / b + aux
    out = {"total_loss": total + _keep_parameters_used(model)}
    for suffix, terms in (("sot", sot), ("mot", mot)):
        out.update({f"{k}_{suffix}": v for k, v in terms.items() if k != "total_loss"})
    return out
