"""Start a run from earlier weights: a stage-1 run, a detector (upstream's stage-1 initialisation), or ours.

Upstream stage 1 starts from the COCO detector: ``cls_preds`` rows are picked from the COCO
classes (BDD100K: ``[0, 0, 2, 7, 5, 6, 3, 1]``, MOT17: ``[0]``), ``obj_preds`` and ``reg_preds``
are copied into ``obj_preds_sot`` / ``reg_preds_sot``, and the embedding starts random. Stage 2
starts from stage 1 (box-only weights into a model with masks: the mask parts start random).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import UserError

_SOT_COPIES = {"head.obj_preds_sot.": "head.obj_preds.", "head.reg_preds_sot.": "head.reg_preds."}


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Weights of a file in our key layout: a training checkpoint (EMA if any), our safetensors, or upstream."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"init_checkpoint {path} does not exist")
    if path.suffix == ".pt":
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        if isinstance(state, dict) and "model" in state and "format" in state:
            return state["ema"]["module"] if state.get("ema") else state["model"]
    from ..hub import load_checkpoint_file

    return load_checkpoint_file(path).state_dict()


def load_initial_weights(model: nn.Module, path: str | Path,
                         class_map: tuple[int, ...] = ()) -> dict[str, list[str]]:
    """Copy matching weights from ``path`` into ``model``; the rest keeps its fresh initialisation.

    Args:
        model: the freshly built model.
        path: see :func:`read_state_dict`.
        class_map: for each class of ``model``, the source class whose ``cls_preds`` row it takes
            (when the class counts differ, e.g. COCO -> BDD100K).

    Returns:
        ``{"loaded": [...], "copied_to_sot": [...], "remapped": [...], "fresh": [...]}`` key lists.

    Raises:
        UserError: a shape mismatch that ``class_map`` does not explain.
    """
    source = read_state_dict(path)
    target = model.state_dict()
    report: dict[str, list[str]] = {"loaded": [], "copied_to_sot": [], "remapped": [], "fresh": []}
    new_state = {}
    for key, value in target.items():
        src_key = key
        if key not in source:
            src_key = next((key.replace(a, b) for a, b in _SOT_COPIES.items() if key.startswith(a)), key)
        if src_key not in source:
            report["fresh"].append(key)
            continue
        src = source[src_key]
        if src.shape == value.shape:
            new_state[key] = src.to(value.dtype)
            report["loaded" if src_key == key else "copied_to_sot"].append(key)
        elif key.startswith("head.cls_preds.") and class_map:
            if len(class_map) != value.shape[0] or max(class_map) >= src.shape[0]:
                raise UserError(f"init_class_map {list(class_map)} must give one source class (< {src.shape[0]}) "
                                f"for each of the model's {value.shape[0]} classes")
            new_state[key] = src[list(class_map)].to(value.dtype)
            report["remapped"].append(key)
        else:
            hint = " (set init_class_map to pick the source classes)" if key.startswith("head.cls_preds.") else ""
            raise UserError(f"{path}: {src_key} has shape {tuple(src.shape)} but the model needs "
                            f"{tuple(value.shape)}{hint}; is model/model_overrides the right architecture?")
    model.load_state_dict(new_state, strict=False)
    return report


def summarize(report: dict[str, list[str]]) -> str:
    """One line: how many tensors were loaded, copied, remapped or left fresh (with their top modules)."""
    fresh = sorted({".".join(k.split(".")[:2]) for k in report["fresh"]})
    return (f"loaded {len(report['loaded'])}, copied to SOT predictors {len(report['copied_to_sot'])}, "
            f"class-remapped {len(report['remapped'])}, fresh {len(report['fresh'])}"
            + (f" ({', '.join(fresh)})" if fresh else ""))


__all__ = ["load_initial_weights", "read_state_dict", "summarize"]
