"""Export: graph modules against the model's own steps, skipped graphs, errors, the CLI, TorchScript."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from unicorn.cli import main
from unicorn.errors import UserError
from unicorn.export import MANIFEST, export_model
from unicorn.export.graphs import MasksGraph, PropagateGraph
from unicorn.models.build import build_model
from unicorn.models.interaction.prior import propagate_prior, propagate_prior_fp16
from unicorn.models.unicorn import Unicorn
from unicorn.variants import VARIANTS

SIZE = (128, 160)


def small_model(**changes) -> Unicorn:
    """unicorn-lite's sizes with upstream's deformable interaction, without ImageNet weights: small and quick
    to export (``embedding="memory"`` gives the lite model's own embedding)."""
    torch.manual_seed(0)
    changes = {"embedding": "deformable", **changes}
    cfg = replace(VARIANTS["unicorn-lite"].config, pretrained_backbone=False, input_size=SIZE, **changes)
    return build_model(cfg).eval()


class MemoryEmbedding(nn.Module):
    """Stands for an embedding other than upstream's deformable interaction."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(112, 64, 1)


def test_propagate_graph_matches_the_model_and_is_exact_on_a_hand_case():
    gen = torch.Generator().manual_seed(0)
    e_ref, e_cur = torch.randn(1, 16, 4, 6, generator=gen), torch.randn(1, 16, 4, 6, generator=gen)
    maps = torch.rand(1, 3, 4, 6, generator=gen)
    for fp16, reference in ((False, propagate_prior), (True, propagate_prior_fp16)):
        ours = PropagateGraph(fp16, chunk=7)(e_ref, e_cur, maps)[0]  # blocks of 7 of the 24 current pixels
        torch.testing.assert_close(ours, reference(e_ref, e_cur, maps), atol=1e-6, rtol=1e-5)
    # orthogonal, large embeddings: every current pixel attends only to the same reference pixel
    eye = 50.0 * torch.eye(24).reshape(1, 24, 4, 6)
    s8, s16, s32 = PropagateGraph()(eye, eye, maps)
    torch.testing.assert_close(s8, maps)
    assert s16.shape == (1, 3, 2, 3) and s32.shape == (1, 3, 1, 1)


def test_masks_graph_matches_instance_masks():
    model = small_model()
    gen = torch.Generator().manual_seed(1)
    for conv in model.head.controllers:  # controllers start near zero; give the masks some shape
        nn.init.normal_(conv.weight, std=0.05, generator=gen)
    with torch.no_grad():
        feats = model.extract_features(torch.rand(1, 3, *SIZE, generator=gen) * 255)
        head = model.detect_objects(feats)
        _, locations = model.decode(head)
        mask_feats, up = model.segment(feats)
        idx = torch.tensor([0, 17, 319, 320, 399, 419])  # levels 0, 0, 0, 1, 1, 2
        expected = model.instance_masks(head, mask_feats, up, idx, locations, final_rate=1)
        ours = MasksGraph(model, SIZE)(*head.reg_feats, mask_feats, up, idx)
    assert ours.shape == (6, 1, 64, 80)
    assert float(expected.std()) > 1e-3  # not a constant mask
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=1e-4)


def test_an_other_embedding_skips_the_interaction_graph(tmp_path):
    model = small_model()
    model.embedding = MemoryEmbedding()
    manifest = export_model(model, tmp_path, fmt="torchscript")
    assert "interact" not in manifest["graphs"]
    assert "MemoryEmbedding is not upstream's deformable interaction" in manifest["skipped"]["interact"]
    lite = export_model(small_model(embedding="memory"), tmp_path / "lite", fmt="torchscript")
    assert "interact" not in lite["graphs"] and "features" in lite["graphs"]  # the real lite embedding too
    assert {"memory", "memory_imagenet"} <= set(lite["graphs"]) and lite["memory_temperature"] > 0
    assert lite["graphs"]["memory"]["inputs"][0]["shape"][2:] == ["H", "W"]  # any image size
    assert {"features", "propagate", "sot_head", "mot_head", "segment", "masks"} <= set(manifest["graphs"])
    assert [o["name"] for o in manifest["graphs"]["features"]["outputs"]] == ["p3", "p4", "p5", "c4"]
    assert json.loads((tmp_path / MANIFEST).read_text()) == manifest


def test_a_plain_detector_exports_only_features_and_detection(tmp_path):
    manifest = export_model(small_model(with_embedding=False, with_masks=False), tmp_path, fmt="torchscript")
    assert set(manifest["graphs"]) == {"features", "mot_head"}
    assert set(manifest["skipped"]) == {"interact", "propagate", "propagate_fp16", "sot_head", "segment", "masks",
                                        "memory", "memory_imagenet"}
    assert manifest["graphs"]["mot_head"]["outputs"][0] == {"name": "raw_s8", "shape": [1, 85, 16, 20],
                                                           "dtype": "float32"}


def test_torchscript_graphs_load_and_match_the_model(tmp_path):
    model = small_model()
    export_model(model, tmp_path, fmt="torchscript")
    image = torch.rand(1, 3, *SIZE, generator=torch.Generator().manual_seed(2)) * 255
    with torch.no_grad():
        feats = model.extract_features(image)
        outs = torch.jit.load(str(tmp_path / "features.pt"))(image)
        for ours, theirs in zip(outs, [*feats.fpn, feats.c4, model.tokens(feats).src]):
            torch.testing.assert_close(ours, theirs)
        priors = [torch.rand(4, 1, *p.shape[-2:]) for p in feats.fpn]  # K = 4, traced with 2
        raw = torch.jit.load(str(tmp_path / "sot_head.pt"))(*feats.fpn, *priors)
        for ours, theirs in zip(raw, model.detect_targets(feats, priors).raw):
            torch.testing.assert_close(ours, theirs)
    assert not model.training


@pytest.mark.parametrize("kwargs, message", [
    ({"size": (100, 160)}, "must be positive multiples of 32"),
    ({"fmt": "tflite"}, "unknown export format 'tflite'"),
    ({"opset": 13}, "opset 13 is too old"),
])
def test_unsupported_inputs_are_user_errors(tmp_path, kwargs, message):
    with pytest.raises(UserError, match=message):
        export_model(small_model(), tmp_path, **kwargs)


def test_cli_exports_a_checkpoint_and_refuses_bad_requests_in_one_line(tmp_path, capsys):
    from unicorn.hub import save_safetensors

    checkpoint = save_safetensors(small_model(with_masks=False), tmp_path / "small.safetensors")
    out = tmp_path / "graphs"
    assert main(["export", str(checkpoint), str(out), "--format", "torchscript", "--size", "64x96"]) == 0
    printed = capsys.readouterr().out
    assert "exported 6 torchscript graphs at 64x96" in printed
    assert "skipped masks: the model has no mask head" in printed
    assert json.loads((out / MANIFEST).read_text())["input_size"] == [64, 96]
    for argv, message in ((["export", str(checkpoint), str(out)], "already exists and is not empty"),
                          (["export", str(checkpoint), str(tmp_path / "new"), "--size", "130x160"], "multiples of 32")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err


def test_onnxruntime_backend_runs_a_tracker_and_reports_missing_graphs(tmp_path):
    pytest.importorskip("onnxruntime", reason="the onnxruntime backend needs `pip install onnx onnxruntime`")
    import unicorn

    model = small_model()
    model.embedding = MemoryEmbedding()
    export_model(model, tmp_path)
    ort = unicorn.load(tmp_path, backend="onnxruntime", threads=1)
    assert ort.config.input_size == SIZE and ort.has_masks and ort.num_classes == 80
    frames = [np.random.default_rng(i).integers(0, 255, (96, 160, 3), dtype=np.uint8) for i in range(2)]
    results = list(unicorn.Tracker(ort, "mots", association="bytetrack", conf_thresh=0.0).track(frames))
    assert [r.frame_index for r in results] == [0, 1]
    with pytest.raises(UserError, match="no 'interact' graph .*MemoryEmbedding"):
        list(unicorn.Tracker(ort, "sot").track(frames, boxes=[(10, 10, 30, 30)]))
    with pytest.raises(UserError, match="this export takes one 128x160 image"):
        list(unicorn.Tracker(ort, "mot", detector="model", input_size=(160, 160)).track(frames))
    with pytest.raises(UserError, match="unknown backend 'tensorrt'"):
        unicorn.load(tmp_path, backend="tensorrt")
