"""The tools that build the bundled model: training imagery and the packaging checks."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from unicorn.errors import UserError
from unicorn.hub import save_safetensors
from unicorn.models.build import build_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import bundle_lite  # noqa: E402
import fetch_imagery  # noqa: E402


def test_patch_cutouts_have_soft_alpha(tmp_path):
    photos = tmp_path / "bg" / "pkg"
    photos.mkdir(parents=True)
    rng = np.random.default_rng(0)
    cv2.imwrite(str(photos / "a.jpg"), rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
    assert fetch_imagery.make_patch_cutouts(tmp_path / "bg", tmp_path / "patches", count=5) == 5
    for path in sorted((tmp_path / "patches").glob("*.png")):
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        assert img.ndim == 3 and img.shape[2] == 4 and 40 <= min(img.shape[:2]) and max(img.shape[:2]) < 200
        alpha = img[..., 3]
        assert alpha[alpha.shape[0] // 2, alpha.shape[1] // 2] == 255  # opaque centre
        assert alpha[0, 0] == 0  # transparent corner
        assert ((alpha > 0) & (alpha < 255)).any()  # soft edge


def test_bundle_checks_precision_and_architecture(tmp_path):
    model = build_model("unicorn-lite")
    half = save_safetensors(model, tmp_path / "half.safetensors", "unicorn-lite", half=True)
    bundle_lite.check_weights(half)  # loads strictly, float16, small
    full = save_safetensors(model, tmp_path / "full.safetensors", "unicorn-lite")
    with pytest.raises(UserError, match="float16"):
        bundle_lite.check_weights(full)
    with pytest.raises(UserError, match="not found"):
        bundle_lite.check_weights(tmp_path / "absent.safetensors")
