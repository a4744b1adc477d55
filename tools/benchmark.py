"""Print CPU speed per tracking step, its fraction of the CPU's limit, and the memory of the target prior.

    python tools/benchmark.py [--variants unicorn_track_tiny_mask unicorn-lite] [--sizes 640x1024 320x512]
                              [--threads 2] [--runs 5] [--backends torch onnxruntime] [--targets 1 8 32]
                              [--skip-memory]

Speed: median of ``--runs`` steps of each task's tracker after one warm-up (reference frame cached,
inference mode, channels-last, denormals flushed). Weights are freshly initialised, so detection
scores sit at the YOLOX prior (0.01) and post-processing sees few candidates, as with a trained model.
MOT uses the network's own head (``detector="model"``), so every number is the Unicorn network's.

The limit: each step's multiply-accumulates are counted with ``torch.utils.flop_counter.FlopCounterMode``
(convolutions and matrix products, attention through its math path; element-wise work is not
counted), so ``GFLOP/s = 2 * MAC / seconds`` is what the step achieved, printed next to the CPU's
measured peak: a large float32 matrix product at the same thread count (``--peak-n``). The
onnxruntime rows run the same trackers on graphs exported at that size (:mod:`unicorn.export`) and
use the torch MAC count. ``--targets``: the SOT step with N targets on one reference frame.

Memory: peak resident-set growth of one process computing the prior explicitly (the upstream
(HW x HW) matrix) versus ours (scaled_dot_product_attention), at 640x1024.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
import torch

from unicorn.probe import median_seconds, peak_gflops, peak_rss_mb


def prior_memory_child(mode: str, h: int, w: int) -> None:
    """Run in a subprocess: prints the peak RSS growth (MB) of one prior computation."""
    from unicorn.models.interaction.prior import propagate_prior

    torch.manual_seed(0)
    e_ref = torch.randn(1, 128, h // 8, w // 8)
    e_cur = torch.randn(1, 128, h // 8, w // 8)
    maps = torch.rand(1, 1, h // 8, w // 8)
    base = peak_rss_mb()
    with torch.inference_mode():
        if mode == "explicit":
            sim = e_ref.flatten(2)[0].t() @ e_cur.flatten(2)[0]  # (HWr, HWc)
            out = (maps.flatten(2)[0] @ torch.softmax(sim, dim=0)).view(1, 1, h // 8, w // 8)
        else:
            out = propagate_prior(e_ref, e_cur, maps)
    print(json.dumps({"mode": mode, "peak_extra_mb": peak_rss_mb() - base, "checksum": float(out.sum())}))


def prior_memory(h: int = 640, w: int = 1024) -> None:
    from unicorn.models.interaction.prior import propagate_prior

    torch.manual_seed(0)
    e_ref, e_cur = torch.randn(1, 128, h // 8, w // 8), torch.randn(1, 128, h // 8, w // 8)
    maps = torch.rand(1, 1, h // 8, w // 8)
    sim = e_ref.flatten(2)[0].t() @ e_cur.flatten(2)[0]
    explicit = maps.flatten(2)[0] @ torch.softmax(sim, dim=0)
    ours = propagate_prior(e_ref, e_cur, maps).flatten()
    n = (h // 8) * (w // 8)
    print(f"prior at {h}x{w}: {n} x {n} similarity = {n * n * 4 / 1e6:.0f} MB float32, "
          f"{n * n * 2 / 1e6:.0f} MB float16 if materialised")
    print(f"  max |ours - explicit| = {float((ours - explicit.flatten()).abs().max()):.2e}")
    for mode in ("explicit", "sdpa"):
        res = subprocess.run([sys.executable, __file__, "--memory-child", mode, str(h), str(w)],
                             capture_output=True, text=True, check=True)
        info = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"  peak extra memory, {mode:8s}: {info['peak_extra_mb']:.0f} MB")


def count_macs(fn) -> float:
    """Multiply-accumulates of one call of ``fn`` (convolutions and matrix products; SDPA via its math path)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 2


def _backend_model(model, backend: str, size: tuple[int, int], folder: str):
    if backend == "torch":
        return model
    from unicorn.backends.onnxruntime import OnnxRuntimeUnicorn
    from unicorn.export import export_model

    export_model(model, folder, size, overwrite=True)
    return OnnxRuntimeUnicorn(folder, torch.get_num_threads())


def _row(name: str, seconds: float, macs: float, peak: float) -> str:
    gflops = 2 * macs / seconds / 1e9
    return (f"  {name:14s} {1 / seconds:8.2f} {seconds:9.3f} {macs / 1e9:10.2f} {gflops:9.1f} "
            f"{100 * gflops / peak:7.1f}%")


def speed(variant: str, size: tuple[int, int], runs: int, fast: bool, backends: list[str], targets: list[int],
          peak: float) -> None:
    """Frames/s, MAC per frame and the fraction of the peak of each task's tracker step, per backend."""
    import tempfile

    import unicorn
    from unicorn.models.build import build_model

    torch.manual_seed(0)
    model = build_model(variant).eval().to(memory_format=torch.channels_last)
    model.use_fast_pointwise(fast)
    rng = np.random.default_rng(0)
    h, w = size
    frames = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(2)]
    box = (w // 4, h // 4, w // 4, h // 3)
    mask = np.zeros((h, w), np.uint8)
    mask[box[1]:box[1] + box[3], box[0]:box[0] + box[2]] = 1
    prompts = {"sot": {"boxes": [box]}, "vos": {"masks": mask}, "mot": {}, "mots": {}}
    tasks = [t for t in ("sot", "vos", "mot", "mots") if model.has_masks or t in ("sot", "mot")]
    many = [(int(x), int(y), w // 8, h // 6) for x, y in zip(rng.integers(0, w - w // 8, max(targets, default=0)),
                                                           rng.integers(0, h - h // 6, max(targets, default=0)))]
    steps = {task: ({"detector": "model"} if task == "mot" else {}, prompts[task]) for task in tasks}
    steps.update({f"sot N={n}": ({}, {"boxes": many[:n]}) for n in targets})
    macs: dict[str, float] = {}
    with torch.inference_mode(), tempfile.TemporaryDirectory() as folder:
        for backend in backends:
            net = _backend_model(model, backend, size, folder)
            print(f"{variant} {h}x{w} {backend} threads={torch.get_num_threads()} {'fast' if fast else 'exact'}; "
                  f"peak {peak:.1f} GFLOP/s")
            print(f"  {'step':14s} {'frames/s':>8s} {'s/frame':>9s} {'GMAC/frame':>10s} {'GFLOP/s':>9s} "
                  f"{'of peak':>8s}")
            for name, (settings, prompt) in steps.items():
                tracker = unicorn.Tracker(net, name.split()[0], input_size=size, **settings)
                tracker.init(frames[0], **prompt)
                if name not in macs:
                    macs[name] = count_macs(lambda tracker=tracker: tracker.step(frames[1]))
                seconds = median_seconds(lambda tracker=tracker: tracker.step(frames[1]), runs)
                print(_row(name, seconds, macs[name], peak))
            f = unicorn.Tracker(model, "sot", input_size=size).preprocess(frames[1])
            if "backbone+neck" not in macs:
                macs["backbone+neck"] = count_macs(lambda f=f: model.extract_features(f.image))
            print(_row("backbone+neck", median_seconds(lambda f=f, net=net: net.extract_features(f.image), runs),
                       macs["backbone+neck"], peak))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-child":
        prior_memory_child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=["unicorn_track_tiny_mask", "unicorn-lite"])
    parser.add_argument("--sizes", nargs="+", default=["640x1024", "320x512"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--fast", action="store_true", help="also time the fast pointwise kernels")
    parser.add_argument("--backends", nargs="+", default=["torch"], choices=("torch", "onnxruntime"))
    parser.add_argument("--targets", nargs="*", type=int, default=[1, 8, 32], help="SOT target counts to time")
    parser.add_argument("--peak-n", type=int, default=2048, help="matrix side of the peak GFLOP/s measurement")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    if not args.skip_memory:
        prior_memory()
    peak = peak_gflops(args.peak_n, args.runs)
    print(f"peak: {peak:.1f} GFLOP/s float32 ({args.peak_n}^3 matmul, {torch.get_num_threads()} threads)")
    for variant in args.variants:
        for text in args.sizes:
            for fast in (False, True) if args.fast else (False,):
                speed(variant, tuple(int(v) for v in text.split("x")), args.runs, fast, args.backends, args.targets,
                      peak)


if __name__ == "__main__":
    main()
