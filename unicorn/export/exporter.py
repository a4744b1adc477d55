"""Write a model's per-frame network as ONNX (or TorchScript) graphs plus ``unicorn_export.json``.

Graphs (each for one input size; ``K`` targets and ``M`` anchors are dynamic):

========================  =====================================================================
``features``              images -> P3, P4, P5, C4 (+ interaction tokens)
``interact``              reference and current tokens -> embeddings E_ref, E_cur
``propagate``             E_ref, E_cur, reference maps (1, K, h, w) -> priors at strides 8/16/32
``propagate_fp16``        the same with upstream's float16 rounding
``sot_head``              P3..P5 and K priors -> raw outputs (+ regression features), batch K
``mot_head``              P3..P5 -> raw outputs (+ regression features)
``segment``               P3..P5 -> mask features, convex-upsampling weights
``masks``                 regression features, mask features, weights, anchor indices (M,) -> masks
``memory``                images (any H, W) -> the memory embedding (label propagation, unicorn-lite)
``memory_imagenet``       images (any H, W) -> the normalised ImageNet features (``features="imagenet"``)
========================  =====================================================================

A graph the model cannot give (no mask head, no embedding, an interaction other than upstream's
deformable one) is skipped and the reason recorded in the json; decoding, post-processing and the
ID-feature sampling stay in the host code (see :mod:`unicorn.backends.onnxruntime`).
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import UserError
from ..models.features import EMBED_STRIDE
from ..models.interaction.deformable import DeformableEncoderLayer
from ..models.interaction.embedding import UnifiedEmbedding
from ..models.unicorn import Unicorn
from .formats import FORMATS, MANIFEST, OPSET  # noqa: E402  (re-exported)
from .graphs import (
    FeaturesGraph,
    InteractGraph,
    MasksGraph,
    MemoryGraph,
    ObjectHeadGraph,
    PropagateGraph,
    SegmentGraph,
    TargetHeadGraph,
)

SUFFIX = {"onnx": ".onnx", "torchscript": ".pt"}


@dataclass
class GraphSpec:
    """One graph to export: the module, example inputs and the names of its tensors.

    Attributes:
        module: a module of tensors only.
        inputs: example inputs, in order.
        input_names, output_names: names in the exported graph.
        dynamic: {tensor name: {axis: symbol}} for the axes that vary (``K`` targets, ``M`` anchors).
        description: one line for the json.
    """

    module: nn.Module
    inputs: tuple[torch.Tensor, ...]
    input_names: list[str]
    output_names: list[str]
    dynamic: dict[str, dict[int, str]]
    description: str


def interaction_support(model: Unicorn) -> str | None:
    """None when the model's interaction is upstream's deformable one, else why it cannot be exported."""
    emb = model.embedding
    if emb is None:
        return "the model is a plain detector (no unified embedding)"
    if not isinstance(emb, UnifiedEmbedding) or not isinstance(getattr(emb, "encoder", None), DeformableEncoderLayer):
        return (f"the embedding {type(emb).__name__} is not upstream's deformable interaction; "
                "the exporter knows only that one")
    return None


def graph_specs(model: Unicorn, size: tuple[int, int], targets: int = 2) -> tuple[dict[str, GraphSpec], dict[str, str]]:
    """The graphs of ``model`` at input ``size`` (H, W), and {skipped graph: reason}.

    Example inputs are computed by running the model itself, so every graph is traced on real
    intermediate values (``targets`` targets, 3 anchors spread over the levels).
    """
    h, w = size
    skipped: dict[str, str] = {}
    no_interaction = interaction_support(model)
    with_tokens = no_interaction is None
    with_masks = model.has_masks and model.head.controllers is not None
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (1, 3, h, w), generator=gen).float()
    specs: dict[str, GraphSpec] = {}
    fpn_names = ["p3", "p4", "p5"]
    feat_out = [*fpn_names, "c4"] + (["tokens"] if with_tokens else [])
    specs["features"] = GraphSpec(FeaturesGraph(model, with_tokens), (images,), ["images"], feat_out, {},
                                  "backbone + neck (+ interaction tokens) of one frame, BGR 0..255")
    with torch.no_grad():
        outs = specs["features"].module(images)
    fpn = tuple(outs[:3])
    reg_names = ["reg_s8", "reg_s16", "reg_s32"] if with_masks else []
    raw_names = ["raw_s8", "raw_s16", "raw_s32"]
    if no_interaction is None:
        tokens = outs[4]
        specs["interact"] = GraphSpec(InteractGraph(model.embedding, (h // 16, w // 16)), (tokens, tokens.flip(1)),
                                      ["ref_tokens", "cur_tokens"], ["embed_ref", "embed_cur"], {},
                                      "deformable interaction of a reference and a current frame -> embeddings")
    else:
        skipped["interact"] = no_interaction
    if model.embedding is not None and model.head.with_sot:
        c = model.config.embed_dim if model.config is not None else 128
        e = torch.randn(1, c, h // EMBED_STRIDE, w // EMBED_STRIDE, generator=gen)
        maps = torch.rand(1, targets, h // EMBED_STRIDE, w // EMBED_STRIDE, generator=gen)
        prior_names = ["prior_s8", "prior_s16", "prior_s32"]
        for name, fp16 in (("propagate", False), ("propagate_fp16", True)):
            specs[name] = GraphSpec(PropagateGraph(fp16), (e, e.flip(2), maps), ["embed_ref", "embed_cur", "ref_maps"],
                                    prior_names, {"ref_maps": {1: "K"}, **{n: {1: "K"} for n in prior_names}},
                                    "reference maps propagated to the current frame" + (", float16" if fp16 else ""))
        with torch.no_grad():
            priors = [p.transpose(0, 1) for p in specs["propagate"].module(e, e, maps)]
        specs["sot_head"] = GraphSpec(TargetHeadGraph(model.head, with_masks), (*fpn, *priors),
                                      fpn_names + prior_names, raw_names + reg_names,
                                      {n: {0: "K"} for n in prior_names + raw_names + reg_names},
                                      "SOT head, one pass per target (batch K)")
    else:
        why = "the model has no SOT predictors (a plain detector)"
        skipped.update(propagate=why, propagate_fp16=why, sot_head=why)
    specs["mot_head"] = GraphSpec(ObjectHeadGraph(model.head, with_masks), fpn, fpn_names, raw_names + reg_names, {},
                                  "MOT / detection head (zero prior)")
    if with_masks:
        specs["segment"] = GraphSpec(SegmentGraph(model), fpn, fpn_names, ["mask_feats", "up_weights"], {},
                                     "mask branch")
        with torch.no_grad():
            head = specs["mot_head"].module(*fpn)
            seg = model.mask_branch(list(fpn))
        masks = MasksGraph(model, size)
        idx = torch.tensor([0, masks.starts[1] + 1, masks.starts[3] - 1])
        names = reg_names + ["mask_feats", "up_weights", "anchor_idx"]
        specs["masks"] = GraphSpec(masks, (*head[3:], *seg, idx), names, ["mask_probs"],
                                   {"anchor_idx": {0: "M"}, "mask_probs": {0: "M"}},
                                   "dynamic (CondInst) masks of M anchors at stride 2, after the sigmoid")
    else:
        skipped["segment"] = skipped["masks"] = "the model has no mask head"
    specs.update(memory_specs(model, size))
    if not model.has_memory_embedding:
        skipped["memory"] = skipped["memory_imagenet"] = "the model has no memory embedding"
    return specs, skipped


def memory_specs(model: Unicorn, size: tuple[int, int]) -> dict[str, GraphSpec]:
    """The ``memory`` and ``memory_imagenet`` graphs of a model with a memory embedding (else none); the
    image's height and width are dynamic."""
    if not model.has_memory_embedding:
        return {}
    images = torch.randint(0, 256, (1, 3, *size), generator=torch.Generator().manual_seed(0)).float()
    dynamic = {"images": {2: "H", 3: "W"}, "embedding": {2: "h", 3: "w"}}
    return {name: GraphSpec(MemoryGraph(model, trained), (images,), ["images"], ["embedding"], dynamic, text)
            for name, trained, text in (
                ("memory", True, "memory embedding of one image of any size (multiples of 32), BGR 0..255"),
                ("memory_imagenet", False, "normalised ImageNet C3 + C4 of one image of any size, BGR 0..255"))}


def _describe(names: list[str], tensors, dynamic: dict[str, dict[int, str]]) -> list[dict]:
    out = []
    for name, t in zip(names, tensors):
        shape = [dynamic.get(name, {}).get(i, n) for i, n in enumerate(t.shape)]
        out.append({"name": name, "shape": shape, "dtype": str(t.dtype).replace("torch.", "")})
    return out


def onnx_bytes(spec: GraphSpec, opset: int = OPSET) -> bytes:
    """One graph as an ONNX model in memory."""
    buf = io.BytesIO()
    _save(spec, buf, "onnx", opset)
    return buf.getvalue()


def _save(spec: GraphSpec, path: Path | io.BytesIO, fmt: str, opset: int) -> None:
    # The exporters put the module back in the mode it had: a wrapper left in training mode would
    # switch the whole model (dropout in the interaction) to training afterwards.
    spec.module.eval()
    if fmt == "torchscript":
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.jit.trace(spec.module, spec.inputs, check_trace=False).save(str(path))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        target = path if isinstance(path, io.BytesIO) else str(path)
        torch.onnx.export(spec.module, spec.inputs, target, dynamo=False, opset_version=opset,
                          input_names=spec.input_names, output_names=spec.output_names,
                          dynamic_axes=spec.dynamic or None, do_constant_folding=True)


def check_size(size: tuple[int, int]) -> tuple[int, int]:
    """Validate an export size (H, W). Raises UserError."""
    h, w = size
    if h <= 0 or w <= 0 or h % 32 or w % 32:
        raise UserError(f"export size {h}x{w} must be positive multiples of 32 (e.g. 320x512)")
    return h, w


def _export_graphs(model: Unicorn, out: Path, size: tuple[int, int], fmt: str, opset: int
                   ) -> tuple[dict, dict[str, str]]:
    """Write every graph of an eval-mode model; returns (json entries, skipped graphs)."""
    specs, skipped = graph_specs(model, size)
    graphs = {}
    for name, spec in specs.items():
        path = out / f"{name}{SUFFIX[fmt]}"
        try:
            _save(spec, path, fmt, opset)
        except Exception as exc:  # noqa: BLE001 - one readable line instead of an exporter traceback
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise UserError(f"could not export the {name!r} graph of this model ({type(exc).__name__}: {first}); "
                            "this variant is not supported by the exporter") from None
        with torch.no_grad():
            outputs = spec.module(*spec.inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        graphs[name] = {"file": path.name, "description": spec.description,
                        "inputs": _describe(spec.input_names, spec.inputs, spec.dynamic),
                        "outputs": _describe(spec.output_names, outputs, spec.dynamic)}
    return graphs, skipped


def export_model(model: Unicorn, out_dir: str | Path, size: tuple[int, int] | None = None, fmt: str = "onnx",
                 opset: int = OPSET, overwrite: bool = False) -> dict:
    """Export ``model``'s graphs into ``out_dir`` and describe them in ``unicorn_export.json``.

    Args:
        model: a torch :class:`Unicorn` (any variant; graphs it cannot give are skipped).
        out_dir: folder to create (must be empty or absent unless ``overwrite``).
        size: network input (H, W), multiples of 32; default: the model's configured size.
        fmt: ``"onnx"`` or ``"torchscript"``.
        opset: ONNX opset (>= 17).

    Returns:
        The manifest written to the json.
    """
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; choose {' or '.join(FORMATS)}")
    if fmt == "onnx" and opset < OPSET:
        raise UserError(f"opset {opset} is too old: grid_sample needs 16 and LayerNormalization 17; use --opset 17")
    if not isinstance(model, Unicorn):
        raise UserError(f"can only export a torch Unicorn model, got {type(model).__name__}")
    cfg = model.config
    size = check_size(tuple(size or (cfg.input_size if cfg is not None else (800, 1280))))
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(f"export folder {out} already exists and is not empty; pass --overwrite or another folder")
    out.mkdir(parents=True, exist_ok=True)
    was_training = model.training
    try:
        graphs, skipped = _export_graphs(model.float().eval(), out, size, fmt, opset)
    finally:
        model.train(was_training)
    manifest = {
        "format": fmt, "opset": opset if fmt == "onnx" else None, "input_size": list(size),
        "variant": model.variant, "strides": list(model.head.strides), "num_classes": model.num_classes,
        "has_masks": "masks" in graphs, "up_rate": model.mask_branch.up_rate if model.has_masks else None,
        "config": _plain(asdict(cfg)) if cfg is not None else None, "torch": torch.__version__,
        "graphs": graphs, "skipped": skipped,
        "memory_temperature": model.memory_temperature if model.has_memory_embedding else None,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
