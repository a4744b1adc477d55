"""Corrections of a whole-video run: at frame k the user's boxes or masks replace what the tracker found.

``track_to_folder(..., corrections={k: value})`` calls the tracker's ``correct`` on frame k (0-based)
instead of ``step``; frames before k come out as without the correction, and from k on the corrected
frame is an extra reference of its targets. A value is one of:

- boxes: one x, y, w, h or a list of them, for the targets in order (SOT, and VOS objects, each box
  made into a mask as on the first frame);
- VOS masks: an (H, W) map of object ids or (K, H, W) binary masks for the objects in order;
- a dict ``{target_id: box_or_mask}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import UserError
from .geometry import mask_boxes_xyxy, xyxy_to_xywh
from .inputs import check_boxes_xywh, check_masks, check_prompt_ids, mask_ids


def prompt_ids(prompts: dict[str, Any], size: tuple[int, int]) -> list[int]:
    """The target ids a run's first-frame prompts (``boxes=`` or ``masks=``, no ``ids=``) give."""
    if "masks" in prompts:
        arr = np.asarray(prompts["masks"])
        if arr.ndim == 2:
            return [v for v in mask_ids(arr) if v != 0]
        return list(range(1, len(check_masks(arr, size)) + 1))
    return list(range(1, len(check_boxes_xywh(prompts.get("boxes"), size)) + 1))


def _one(task: str, value: Any, size: tuple[int, int], ids: list[int] | None) -> dict[str, Any]:
    arr = np.asarray(value)
    if task == "vos" and arr.ndim >= 2 and arr.shape[-2:] == tuple(size):
        masks = check_masks(arr, size)
        if ids is None and arr.ndim == 2:
            ids = [v for v in mask_ids(arr) if v != 0]
        return {"masks": masks, "ids": ids}
    return {"boxes": check_boxes_xywh(value, size), "ids": ids}


def check_corrections(task: str, corrections: dict[int, Any] | None, known_ids: list[int],
                      size: tuple[int, int], frame_count: int | None = None) -> dict[int, dict[str, Any]]:
    """``correct`` arguments per frame, every frame index, box, mask and id checked before any work.

    Args:
        task: ``"sot"`` or ``"vos"`` (other tasks take no corrections).
        corrections: frame index (0-based, >= 1) -> boxes, masks or ``{target_id: box_or_mask}``.
        known_ids: the ids the first frame's prompts give.
        size: (H, W) of the video's frames.
        frame_count: the video's frames (None: unknown, e.g. a stream), or fewer with ``max_frames``.

    Raises:
        UserError: one line saying which correction is wrong and why.
    """
    if not corrections:
        return {}
    if task not in ("sot", "vos"):
        raise UserError(f"corrections are for SOT and VOS; {task.upper()} finds its objects itself")
    out = {}
    for k, value in sorted(corrections.items(), key=lambda kv: str(kv[0])):
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise UserError(f"correction frame {k!r} must be a whole number >= 1 (0-based; frame 0 is the "
                            "first-frame prompt)")
        if frame_count is not None and k >= frame_count:
            raise UserError(f"correction at frame {k}, but the run has frames 0 to {frame_count - 1}")
        if isinstance(value, dict):
            ids = check_prompt_ids(list(value), len(value))
            parts = [_one(task, v, size, None) for v in value.values()]
            key = "masks" if all("masks" in p for p in parts) else "boxes"
            if any(key not in p for p in parts):
                raise UserError(f"correction at frame {k} mixes boxes and masks; give one kind")
            rows = [p[key] for p in parts]
            if any(len(r) != 1 for r in rows):
                raise UserError(f"correction at frame {k}: give one box or one mask per target id")
            out[int(k)] = {key: np.concatenate(rows), "ids": ids}
        else:
            out[int(k)] = _one(task, value, size, None)
        c = out[int(k)]
        count = len(c.get("boxes", c.get("masks")))
        ids = c["ids"] if c["ids"] is not None else known_ids if count == len(known_ids) else None
        if ids is None:
            raise UserError(f"correction at frame {k} has {count} boxes/masks for {len(known_ids)} targets "
                            f"{known_ids}; give one per target, or say which targets ({{id: box}})")
        unknown = sorted(set(ids) - set(known_ids))
        if unknown:
            raise UserError(f"correction at frame {k} is for target ids {unknown}, which are not tracked "
                            f"(the targets are {known_ids})")
        c["ids"] = list(ids)
    return out


def describe_corrections(corrections: dict[int, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What ``summary.json`` records: per frame, per target id, the box x, y, w, h (a mask's bounding box,
    with its pixel count)."""
    out = {}
    for k, c in sorted(corrections.items()):
        entry = {}
        if "masks" in c:
            boxes = xyxy_to_xywh(mask_boxes_xyxy(c["masks"]))
            for i, box, mask in zip(c["ids"], boxes, c["masks"]):
                entry[str(i)] = {"mask_box_xywh": [round(float(v), 2) for v in box], "mask_pixels": int(mask.sum())}
        else:
            for i, box in zip(c["ids"], c["boxes"]):
                entry[str(i)] = {"box_xywh": [round(float(v), 2) for v in box]}
        out[str(k)] = entry
    return out
