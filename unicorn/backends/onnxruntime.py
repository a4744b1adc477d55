"""Run the trackers on exported graphs through ONNX Runtime.

:class:`OnnxRuntimeUnicorn` has the step methods the trackers call on a :class:`~unicorn.models.unicorn.Unicorn`
(``extract_features``, ``tokens``, ``interact``, ``embed_current``, ``propagate``, ``detect``,
``decode``, ``segment``, ``instance_masks``, ``id_features``), each running one graph of an
export folder (see :mod:`unicorn.export`). Decoding, the final ``aligned_bilinear`` and the
ID-feature sampling have no weights and stay in torch. Sessions are created on first use.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..config import ModelConfig
from ..errors import UserError
from ..models.features import FrameFeatures
from ..models.heads.detection import HeadOutput
from ..models.interaction.embedding import FrameTokens
from ..models.layers import aligned_bilinear
from ..models.unicorn import Unicorn
from .threads import apply_threads

BACKENDS = ("auto", "torch", "onnxruntime")


def _import_ort():
    try:
        import onnxruntime
    except ImportError:
        raise UserError("the onnxruntime backend needs ONNX Runtime: pip install 'unicorn-track[onnx]'") from None
    return onnxruntime


def _config_from(manifest: dict) -> ModelConfig | None:
    cfg = manifest.get("config")
    if cfg is None:
        return None
    known = {f.name for f in fields(ModelConfig)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items() if k in known}
    return replace(ModelConfig(**values), input_size=tuple(manifest["input_size"]))


def dynamic_session(module: nn.Module, example: torch.Tensor, outputs: list[str], threads: int | None = None):
    """An ONNX Runtime session of ``module`` (one image (1, 3, H, W) in, tensors out), exported in memory
    with H and W dynamic; its threads do not busy-wait between runs (torch works on the same cores)."""
    from ..export.exporter import GraphSpec, onnx_bytes

    ort = _import_ort()
    dynamic = {"images": {2: "H", 3: "W"}, **{name: {2: f"h_{name}", 3: f"w_{name}"} for name in outputs}}
    spec = GraphSpec(module, (example,), ["images"], outputs, dynamic, "")
    with torch.inference_mode(False), torch.no_grad():
        data = onnx_bytes(spec)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or torch.get_num_threads()
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


class ModuleRuntime:
    """Runs a torch module of one image (1, 3, H, W) through ONNX Runtime, for any H and W.

    The graph is exported in memory on first use (about half a second) and again when the module's
    weights have changed in place since (training steps, ``load_state_dict``). Outputs match torch's to
    float rounding.

    Args:
        outputs: names of the module's outputs (a tensor, or a tuple of tensors).
        threads: intra-op threads of the session (default: torch's thread count at first use).
    """

    def __init__(self, outputs: list[str], threads: int | None = None) -> None:
        _import_ort()
        self.outputs, self.threads = list(outputs), threads
        self._session: tuple[int, object] | None = None  # (weights version, session)

    def __deepcopy__(self, memo: dict) -> ModuleRuntime:
        return type(self)(self.outputs, self.threads)  # a copy exports its own graph on first use

    def __call__(self, module: nn.Module, images: torch.Tensor) -> list[torch.Tensor]:
        version = sum(p._version for p in module.parameters())
        if self._session is None or self._session[0] != version:
            self._session = (version, dynamic_session(module, images.detach().float(), self.outputs, self.threads))
        arr = images.detach().float().contiguous().numpy()
        return [torch.from_numpy(o) for o in self._session[1].run(None, {"images": arr})]


class MemoryRuntime:
    """Runs :meth:`Unicorn.memory_features` (the per-frame network of label propagation, unicorn-lite's SOT,
    VOS and MOTS) through ONNX Runtime, for any image size (:class:`ModuleRuntime`, one graph each for the
    trained embedding and the ImageNet features).

    ``unicorn.load`` attaches one to a CPU model with a memory embedding when ONNX Runtime is installed
    (``model.memory_runtime``); set that attribute to None to run torch.
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._runtimes = {trained: ModuleRuntime(["embedding"], threads) for trained in (True, False)}

    def __deepcopy__(self, memo: dict) -> MemoryRuntime:
        return MemoryRuntime(self.threads)

    def __call__(self, model: Unicorn, images: torch.Tensor, trained: bool) -> torch.Tensor:
        from ..export.graphs import MemoryGraph

        (emb,) = self._runtimes[trained](MemoryGraph(model, trained), images)
        return emb


def memory_runtime_available() -> bool:
    """True when ONNX Runtime can be imported."""
    try:
        _import_ort()
    except UserError:
        return False
    return True


class OnnxRuntimeUnicorn(nn.Module):
    """The step methods of :class:`Unicorn`, each backed by one ONNX Runtime session.

    Args:
        folder: an export folder (``unicorn export MODEL FOLDER``).
        threads: intra-op threads of every session (default: torch's thread count).

    Attributes:
        config: the exported model's config, with ``input_size`` = the export size.
        variant: the exported variant name (None for a model loaded from a file).
        embedding: the ``interact`` graph's description, or None without one (like a plain detector).
    """

    def __init__(self, folder: str | Path, threads: int | None = None) -> None:
        super().__init__()
        self.ort = _import_ort()
        self.folder = Path(folder)
        path = self.folder / "unicorn_export.json"
        if not path.is_file():
            raise UserError(f"{self.folder} is not an export folder (no unicorn_export.json); "
                            "make one with `unicorn export MODEL FOLDER`")
        self.manifest = manifest = json.loads(path.read_text())
        if manifest.get("format") != "onnx":
            raise UserError(f"{self.folder} holds {manifest.get('format')} graphs; the onnxruntime backend needs "
                            "an ONNX export (`unicorn export MODEL FOLDER --format onnx`)")
        self.graphs: dict = manifest["graphs"]
        self.input_size = tuple(manifest["input_size"])
        self.config = _config_from(manifest)
        self.variant = manifest.get("variant")
        self.embedding = self.graphs.get("interact")
        self.strides = tuple(manifest["strides"])
        self._num_classes = int(manifest["num_classes"])
        self.threads = threads or torch.get_num_threads()
        self._sessions: dict = {}
        # The trackers read the device from the parameters: one empty CPU parameter.
        self.device_anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    @property
    def num_classes(self) -> int:
        return self._num_classes

    @property
    def has_masks(self) -> bool:
        return "masks" in self.graphs

    @property
    def has_memory_embedding(self) -> bool:
        """True when the export holds the ``memory`` graph (a model with a memory embedding)."""
        return "memory" in self.graphs

    @property
    def memory_temperature(self) -> float | None:
        """Softmax temperature of label propagation (from the export's json); None without a memory embedding."""
        return float(self.manifest["memory_temperature"]) if self.has_memory_embedding else None

    def memory_features(self, images: torch.Tensor, trained: bool = True) -> torch.Tensor:
        """(1, 3, H, W) BGR 0..255, H and W any multiples of 32 -> (1, C, H/8, W/8) (see
        :meth:`Unicorn.memory_features`)."""
        (emb,) = self.run("memory" if trained else "memory_imagenet", images.float())
        return emb

    def use_fast_pointwise(self, enabled: bool = True) -> None:
        """No effect: the kernels are ONNX Runtime's."""

    def session(self, name: str):
        """The ONNX Runtime session of graph ``name`` (created on first use)."""
        if name not in self._sessions:
            if name not in self.graphs:
                why = self.manifest.get("skipped", {}).get(name, "it was not exported")
                raise UserError(f"this export has no {name!r} graph ({why}); use backend='torch' for this task")
            opts = self.ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            self._sessions[name] = self.ort.InferenceSession(str(self.folder / self.graphs[name]["file"]), opts,
                                                             providers=["CPUExecutionProvider"])
        return self._sessions[name]

    def run(self, name: str, *inputs: torch.Tensor) -> list[torch.Tensor]:
        """Run graph ``name`` on torch tensors (in the json's input order); returns torch tensors."""
        spec = self.graphs.get(name)
        sess = self.session(name)
        feed = {}
        for info, t in zip(spec["inputs"], inputs):
            arr = t.detach().cpu().contiguous().numpy()
            feed[info["name"]] = arr if info["dtype"] != "float32" else arr.astype(np.float32, copy=False)
        return [torch.from_numpy(o) for o in sess.run(None, feed)]

    # ------------------------------------------------------------------ steps
    def extract_features(self, images: torch.Tensor) -> FrameFeatures:
        """Args: images: (1, 3, H, W) BGR 0..255 at the export size."""
        if tuple(images.shape[-2:]) != self.input_size or images.shape[0] != 1:
            h, w = self.input_size
            raise UserError(f"this export takes one {h}x{w} image; got {tuple(images.shape)}: track with "
                            f"input_size=({h}, {w}) or export again with --size")
        outs = self.run("features", images.float())
        tokens = None
        if len(outs) > 4:
            h, w = self.input_size
            tokens = FrameTokens(outs[4], torch.zeros(0), (h // 16, w // 16))
        return FrameFeatures(outs[:3], outs[3], tokens)

    def tokens(self, feats: FrameFeatures) -> FrameTokens:
        """The interaction tokens (computed with the features by the ``features`` graph)."""
        if feats.tokens is None:
            self.session("interact")  # raises the reason this export has none
        return feats.tokens

    def with_tokens(self, feats: FrameFeatures) -> FrameFeatures:
        """``feats`` itself once it is known to hold its tokens (the ``features`` graph computes them)."""
        return replace(feats, tokens=self.tokens(feats))

    def interact(self, ref: FrameFeatures, cur: FrameFeatures) -> tuple[torch.Tensor, torch.Tensor]:
        """(E_ref, E_cur), each (1, C, H/8, W/8)."""
        e_ref, e_cur = self.run("interact", self.tokens(ref).src, self.tokens(cur).src)
        return e_ref, e_cur

    def embed_current(self, ref: FrameFeatures, cur: FrameFeatures) -> torch.Tensor:
        """Only the current frame's embedding."""
        return self.interact(ref, cur)[1]

    def propagate(self, embed_ref: torch.Tensor, embed_cur: torch.Tensor, ref_maps: torch.Tensor,
                  upstream_fp16: bool = False) -> list[torch.Tensor]:
        """Priors at strides 8/16/32, each (1, K, h, w); see :meth:`Unicorn.propagate`."""
        if embed_cur.shape[0] != 1 or ref_maps.shape[0] != 1:
            raise UserError("the exported propagation takes one reference and one current frame")
        return self.run("propagate_fp16" if upstream_fp16 else "propagate", embed_ref, embed_cur, ref_maps)

    def detect_targets(self, feats: FrameFeatures, priors: list[torch.Tensor]) -> HeadOutput:
        """The SOT head with (K, 1, h, w) priors per level; see :meth:`Unicorn.detect_targets`."""
        return self._head_output(self.run("sot_head", *feats.fpn, *[p.contiguous() for p in priors]))

    def detect_objects(self, feats: FrameFeatures) -> HeadOutput:
        """The MOT head (zero prior); see :meth:`Unicorn.detect_objects`."""
        return self._head_output(self.run("mot_head", *feats.fpn))

    def _head_output(self, outs: list[torch.Tensor]) -> HeadOutput:
        n = len(self.strides)
        return HeadOutput(outs[:n], outs[n:], self.strides)

    decode = staticmethod(Unicorn.decode)
    anchor_levels = staticmethod(Unicorn.anchor_levels)
    id_features = staticmethod(Unicorn.id_features)

    def segment(self, feats: FrameFeatures) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask features and convex-upsampling weights."""
        mask_feats, up_weights = self.run("segment", *feats.fpn)
        return mask_feats, up_weights

    def instance_masks(self, head_out: HeadOutput, mask_feats: torch.Tensor, up_weights: torch.Tensor,
                       anchor_idx: torch.Tensor, locations: torch.Tensor, batch_idx: int = 0,
                       mask_batch_idx: int = 0, final_rate: int = 2) -> torch.Tensor:
        """(M, 1, H, W) mask probabilities of chosen anchors; see :meth:`Unicorn.instance_masks`.

        ``locations`` is not read: the graph holds the anchor centres of its input size.
        """
        h, w = self.input_size
        anchor_idx = anchor_idx.reshape(-1).long()
        if anchor_idx.numel() == 0:
            return torch.zeros((0, 1, h // 2 * final_rate, w // 2 * final_rate))
        self.session("masks")  # raises the reason when this export has no masks
        regs = [r[batch_idx:batch_idx + 1] for r in head_out.reg_feats]
        sl = slice(mask_batch_idx, mask_batch_idx + 1)
        (probs,) = self.run("masks", *regs, mask_feats[sl], up_weights[sl], anchor_idx)
        return aligned_bilinear(probs, final_rate)


def load_onnxruntime(name_or_path: str | Path, device: str | torch.device | None = None,
                     threads: int | None = None, size: tuple[int, int] | None = None) -> OnnxRuntimeUnicorn:
    """An :class:`OnnxRuntimeUnicorn` for an export folder, or for a model exported on the fly.

    Args:
        name_or_path: an export folder, or anything :func:`unicorn.load` takes (then exported into a
            temporary folder at ``size``, default the model's input size).
        device: must be CPU (or None).
        threads: threads of torch and of the sessions (default: the usable cores).
        size: export size for on-the-fly export.
    """
    if device is not None and torch.device(device).type != "cpu":
        raise UserError(f"the onnxruntime backend runs on the CPU here; got device {device!r} "
                        "(use backend='torch' for CUDA)")
    _import_ort()
    threads = apply_threads(threads)
    folder = Path(str(name_or_path)).expanduser()
    if not (folder / "unicorn_export.json").is_file():
        from ..export import export_model
        from ..hub import resolve

        model = resolve(name_or_path)
        folder = Path(tempfile.mkdtemp(prefix="unicorn-onnx-"))
        export_model(model, folder, size, overwrite=True)
    return OnnxRuntimeUnicorn(folder, threads).eval()
