"""The target prior equals the explicit softmax propagation and never materialises the full matrix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch

from unicorn.models.interaction.prior import box_label_map, downsample_label_map, propagate_prior

BENCHMARK = Path(__file__).resolve().parents[2] / "tools" / "benchmark.py"


def explicit_prior(e_ref: torch.Tensor, e_cur: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
    """prior = map @ softmax_over_ref(E_ref^T E_cur), written out in full (float64)."""
    sim = e_ref.flatten(2)[0].double().t() @ e_cur.flatten(2)[0].double()
    return (maps.flatten(2)[0].double() @ torch.softmax(sim, dim=0)).view(1, -1, *e_cur.shape[-2:])


def test_prior_equals_explicit_computation_for_many_targets():
    torch.manual_seed(0)
    e_ref, e_cur = torch.randn(1, 8, 12, 16) * 2, torch.randn(1, 8, 12, 16) * 2
    maps = torch.rand(1, 11, 12, 16)  # more targets than embedding channels: two value groups
    ours = propagate_prior(e_ref, e_cur, maps)
    assert ours.shape == (1, 11, 12, 16)
    assert float((ours.double() - explicit_prior(e_ref, e_cur, maps)).abs().max()) < 1e-5


def test_box_label_map_rounds_half_to_even_and_clamps():
    maps = box_label_map(torch.tensor([[2.5, 1.5, 6.5, 100.0]]), 8, 8)  # -> x 2:6, y 2:8 (clamped)
    expected = torch.zeros(8, 8)
    expected[2:8, 2:6] = 1
    assert torch.equal(maps[0, 0], expected)
    assert downsample_label_map(maps, 8).shape == (1, 1, 1, 1)


def _peak(mode: str) -> float:
    out = subprocess.run([sys.executable, str(BENCHMARK), "--memory-child", mode, "640", "1024"],
                         capture_output=True, text=True, check=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_extra_mb"]


def test_prior_memory_is_a_tenth_of_the_explicit_matrix_at_640x1024():
    explicit, ours = _peak("explicit"), _peak("sdpa")
    assert explicit > 400  # the (10240 x 10240) float32 matrix alone is 419 MB
    assert ours <= 0.1 * 419, f"prior used {ours:.0f} MB (explicit: {explicit:.0f} MB)"
