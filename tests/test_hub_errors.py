"""A damaged or foreign weights file is refused with one line that says what is wrong and what to do."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from safetensors.torch import load_file, save_file

import unicorn
from unicorn.errors import UserError
from unicorn.hub import save_safetensors
from unicorn.models.build import build_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("w") / "lite.safetensors"
    save_safetensors(build_model("unicorn-lite").eval(), path, "unicorn-lite")
    with open(path, "rb") as fh:
        header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
    return path, load_file(str(path)), header["__metadata__"]


def _refused(path) -> str:
    with pytest.raises(UserError) as err:
        unicorn.load(str(path), device="cpu")
    assert "\n" not in str(err.value)
    return str(err.value)


def test_extra_missing_or_misshaped_tensor_is_listed(saved, tmp_path):
    path, state, meta = saved
    first = next(iter(state))
    extra = {**state, "head.surprise": torch.zeros(3)}
    save_file(extra, str(tmp_path / "extra.safetensors"), metadata=meta)
    assert "1 unexpected (e.g. head.surprise)" in _refused(tmp_path / "extra.safetensors")
    missing = {k: v for k, v in state.items() if k != first}
    save_file(missing, str(tmp_path / "missing.safetensors"), metadata=meta)
    assert f"1 missing (e.g. {first})" in _refused(tmp_path / "missing.safetensors")
    shaped = {**state, first: torch.zeros(2, 2)}
    save_file(shaped, str(tmp_path / "shape.safetensors"), metadata=meta)
    assert f"{first}: file (2, 2) vs model" in _refused(tmp_path / "shape.safetensors")


def test_metadata_of_another_architecture_or_not_json(saved, tmp_path):
    _, state, meta = saved
    other = json.loads(meta["unicorn_config"])
    other["head_width"] = other["head_width"] * 2
    save_file(state, str(tmp_path / "other.safetensors"), metadata={**meta, "unicorn_config": json.dumps(other)})
    assert "does not match the architecture in its metadata" in _refused(tmp_path / "other.safetensors")
    save_file(state, str(tmp_path / "bad.safetensors"), metadata={**meta, "unicorn_config": "{not json"})
    assert "metadata (unicorn_config) is not valid JSON" in _refused(tmp_path / "bad.safetensors")
    unknown = {**json.loads(meta["unicorn_config"]), "wings": 2}
    save_file(state, str(tmp_path / "unk.safetensors"), metadata={**meta, "unicorn_config": json.dumps(unknown)})
    assert "unknown key(s) wings" in _refused(tmp_path / "unk.safetensors")


def test_upstream_dict_without_class_predictor(tmp_path):
    path = tmp_path / "partial.pth"
    torch.save({"model": {"backbone.backbone.downsample_layers.0.0.weight": torch.zeros(96, 3, 4, 4)}}, path)
    assert "no head.cls_preds.0.weight" in _refused(path)


class _Payload:
    def __reduce__(self):
        return (print, ("this would run",))


def test_pickled_code_is_refused_without_torchs_advice(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"model": _Payload()}, fh)
    text = _refused(path)
    assert "could run code when loaded" in text and "weights_only" not in text
    (tmp_path / "empty.pth").write_bytes(b"")
    assert "ends too early" in _refused(tmp_path / "empty.pth")
