"""``unicorn.load``'s default backend for unicorn-lite: the per-frame memory network on ONNX Runtime."""

from __future__ import annotations

import pytest
import torch

import unicorn
from unicorn.backends.onnxruntime import MemoryRuntime

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def lite():
    return unicorn.load("unicorn-lite", device="cpu")


def test_the_default_runs_the_memory_network_on_onnxruntime_with_torchs_outputs(lite):
    assert isinstance(lite.memory_runtime, MemoryRuntime)
    assert unicorn.load("unicorn-lite", device="cpu", backend="torch").memory_runtime is None
    gen = torch.Generator().manual_seed(0)
    for size in ((256, 256), (320, 512)):  # a SOT search region and a whole frame: one graph, any size
        image = (torch.rand(1, 3, *size, generator=gen) * 255).contiguous(memory_format=torch.channels_last)
        for trained in (True, False):
            with torch.inference_mode():
                fast = lite.memory_features(image, trained)
            runtime, lite.memory_runtime = lite.memory_runtime, None
            try:
                with torch.inference_mode():
                    ref = lite.memory_features(image, trained)
            finally:
                lite.memory_runtime = runtime
            assert fast.shape == ref.shape == (1, ref.shape[1], size[0] // 8, size[1] // 8)
            # unit-length cells: float rounding only (a dot product moves by < 1e-5)
            assert (fast - ref).abs().max() < 1e-4, (size, trained)


def test_changed_weights_are_exported_again_and_training_runs_torch(lite):
    model = unicorn.load("unicorn-lite", device="cpu")
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 255
    with torch.inference_mode():
        before = model.memory_features(image)
    with torch.no_grad():
        model.embedding.project.weight.mul_(-1)  # an in-place change, as an optimiser step makes
    with torch.inference_mode():
        after = model.memory_features(image)
    assert torch.allclose(after, -before, atol=1e-4)  # the sign flip reached the exported graph
    model.train()
    out = model.memory_features(image)  # gradients on: torch, not the runtime
    assert out.requires_grad
