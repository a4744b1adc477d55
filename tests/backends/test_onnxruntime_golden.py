"""Golden equivalence through ONNX Runtime: ``unicorn_track_tiny_mask`` with the fixture's weights,
exported at 256x384, run step by step on the exported graphs (the calls the trackers make), gives
upstream's recorded arrays within the fixture's recommended end-to-end tolerances (README §7).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from unicorn.models.interaction.prior import box_label_map, downsample_label_map
from unicorn.models.postprocess import box_to_frame, masks_to_frame, postprocess

from ..models.conftest import require_fixture
from ..models.test_golden import assert_close, fixture_model, next_prime

pytest.importorskip("onnxruntime", reason="the onnxruntime backend needs `pip install onnx onnxruntime`")
pytest.importorskip("onnx", reason="exporting needs `pip install onnx onnxruntime`")

TAGS = ["tiny_mask_256x384_A", "tiny_mask_256x384_B"]
FULL_FEATURES = ["P3", "P4", "P5", "C4_cur", "E_ref", "E_cur", "mask_feats", "up_masks"]


@pytest.fixture(scope="module")
def ort_model(tmp_path_factory):
    from unicorn.backends.onnxruntime import OnnxRuntimeUnicorn
    from unicorn.export import export_model

    require_fixture()
    folder = tmp_path_factory.mktemp("tiny_mask_256x384")
    export_model(fixture_model(TAGS[0]), folder, (256, 384))
    return OnnxRuntimeUnicorn(folder, threads=1)


def run_steps(model, ref: torch.Tensor, cur: torch.Tensor, cfg: dict, c: dict) -> dict[str, np.ndarray]:
    """The fixture's pipeline through the tracker-facing step methods only."""
    out: dict[str, torch.Tensor] = {}
    r, (h, w), (h0, w0) = cfg["r"], cfg["input_hw"], cfg["orig_hw"]
    f_ref, f_cur = model.extract_features(ref), model.extract_features(cur)
    out.update(C4_cur=f_cur.c4, P3=f_cur.fpn[0], P4=f_cur.fpn[1], P5=f_cur.fpn[2])
    out["E_ref"], out["E_cur"] = model.interact(f_ref, f_cur)
    label = downsample_label_map(box_label_map(torch.tensor([cfg["sot_init_box_xyxy_input"]]), h, w))
    out["prior_fp32_s8"] = model.propagate(out["E_ref"], out["E_cur"], label)[0]
    priors = model.propagate(out["E_ref"], out["E_cur"], label, upstream_fp16=True)
    out.update(prior_s8=priors[0], prior_s16=priors[1], prior_s32=priors[2])
    sot = model.detect_targets(f_cur, [p.transpose(0, 1) for p in priors])
    decoded, locations = model.decode(sot)
    out["sot_head_out"] = decoded
    out["mask_feats"], out["up_masks"] = model.segment(f_cur)
    dets, idx = postprocess(decoded[0].clone(), 1, c["SOT_CONF"], c["SOT_NMS"])
    out["sot_dets"], out["sot_dets_anchor_idx"] = dets, idx
    box = box_to_frame(dets[0, :4], r, (h, w))
    out["sot_box_xywh_float"] = np.array([box[0], box[1], box[2] - box[0], box[3] - box[1]])
    out["vos_mask_s2_top3"] = model.instance_masks(sot, out["mask_feats"], out["up_masks"], idx[:3], locations,
                                                   final_rate=1)
    out["vos_masks_top3"] = model.instance_masks(sot, out["mask_feats"], out["up_masks"], idx[:3], locations)
    p = masks_to_frame(out["vos_masks_top3"][:1], r, (h0, w0))[0]
    out["vos_mask_orig_top1"], out["vos_final_mask"] = p, p > 1 - p
    mot = model.detect_objects(f_cur)
    out["mot_head_out"] = decoded_mot = model.decode(mot)[0]
    mdets, midx = postprocess(decoded_mot[0].clone(), model.num_classes, c["MOT_CONF"], c["MOT_NMS"])
    out["mot_dets"], out["mot_dets_anchor_idx"] = mdets, midx
    e_cur = model.embed_current(f_ref, f_cur)
    out["mot_id_feats"] = model.id_features(e_cur, (mdets[:100, :2] + mdets[:100, 2:4]) / 2)
    out["mots_mask_s2_top3"] = model.instance_masks(mot, out["mask_feats"], out["up_masks"], midx[:3], locations,
                                                    final_rate=1)
    out["mots_masks_top3"] = model.instance_masks(mot, out["mask_feats"], out["up_masks"], midx[:3], locations)
    out["mots_masks_orig_top3"] = masks_to_frame(out["mots_masks_top3"], r, (h0, w0))
    out["mots_binary_orig_top3"] = out["mots_masks_orig_top3"] > c["MASK_THRES"]
    return {k: (v.detach().numpy() if torch.is_tensor(v) else np.asarray(v)) for k, v in out.items()}


@pytest.fixture(scope="module")
def results(ort_model) -> dict[str, tuple[dict, dict]]:
    fixture = require_fixture()
    fx = json.loads((fixture / "fixture.json").read_text())
    inputs = np.load(fixture / "inputs.npz")
    out = {}
    with torch.inference_mode():
        for tag in TAGS:
            cfg = fx["configs"][tag]
            size = "x".join(map(str, cfg["input_hw"]))
            ref, cur = (torch.from_numpy(inputs[f"img_{cfg['pair']}_{size}_{w}"]) for w in ("ref", "cur"))
            out[tag] = (run_steps(ort_model, ref, cur, cfg, fx["constants"]), dict(np.load(fixture / cfg["file"])))
    return out


@pytest.mark.parametrize("tag", TAGS)
def test_features_embeddings_and_priors(results, tag):
    ours, ref = results[tag]
    for name in FULL_FEATURES:
        if name in ref:
            assert_close(name, ours[name], ref[name], 1e-4 * np.abs(ref[name]).max(), 1e-4)
        else:  # probes (README §5.2)
            flat = ours[name].reshape(-1)
            scale = np.abs(ref[f"{name}__stats"][2:]).max()
            stride = next_prime(math.ceil(flat.size / 4096))
            assert_close(name + "__probe", flat[::stride], ref[f"{name}__probe"], 1e-4 * scale, 1e-4)
    for name in ("prior_s8", "prior_s16", "prior_s32"):
        assert_close(name, ours[name], ref[name], 1e-2)
    assert_close("prior_fp32_s8", ours["prior_fp32_s8"], ref["prior_fp32_s8"], 1e-4)


@pytest.mark.parametrize("tag", TAGS)
def test_head_outputs_detections_and_sot_box(results, tag):
    ours, ref = results[tag]
    assert_close("sot boxes", ours["sot_head_out"][..., :4], ref["sot_head_out"][..., :4], 5e-2)
    assert_close("sot probs", ours["sot_head_out"][..., 4:], ref["sot_head_out"][..., 4:], 2e-3)
    assert_close("mot boxes", ours["mot_head_out"][..., :4], ref["mot_head_out"][..., :4], 5e-3)
    assert_close("mot probs", ours["mot_head_out"][..., 4:], ref["mot_head_out"][..., 4:], 5e-5)
    for task, box_tol, prob_tol in (("sot", 5e-2, 2e-3), ("mot", 5e-3, 5e-5)):
        mine_idx, ref_idx = ours[f"{task}_dets_anchor_idx"], ref[f"{task}_dets_anchor_idx"]
        assert set(mine_idx.tolist()) == set(ref_idx.tolist()), f"{task}: kept sets differ"
        np.testing.assert_array_equal(mine_idx[:10], ref_idx[:10])
        order = {a: i for i, a in enumerate(mine_idx.tolist())}
        mine_sorted = ours[f"{task}_dets"][[order[a] for a in ref_idx.tolist()]]
        assert_close(f"{task} det boxes", mine_sorted[:, :4], ref[f"{task}_dets"][:, :4], box_tol)
        assert_close(f"{task} det probs", mine_sorted[:, 4:6], ref[f"{task}_dets"][:, 4:6], prob_tol)
    assert_close("sot box", ours["sot_box_xywh_float"], ref["sot_box_xywh_float"], 1e-2)
    np.testing.assert_array_equal(ours["sot_box_xywh_float"].astype(np.int64), ref["sot_box_xywh"])


@pytest.mark.parametrize("tag", TAGS)
def test_masks_and_id_features(results, tag):
    ours, ref = results[tag]
    for name in ("vos_mask_s2_top3", "mots_mask_s2_top3"):
        assert_close(name, ours[name], ref[name], 1e-3)
    for name in ("vos_masks_top3", "mots_masks_top3", "vos_mask_orig_top1", "mots_masks_orig_top3"):
        if name in ref:
            assert_close(name, ours[name], ref[name], 2e-3)
    assert_close("mot_id_feats", ours["mot_id_feats"], ref["mot_id_feats"], 1e-3)
    for name, bits in (("vos_final_mask", "vos_final_mask_packbits"),
                       ("mots_binary_orig_top3", "mots_binary_orig_top3_packbits")):
        mine = ours[name]
        expected = np.unpackbits(ref[bits])[: mine.size].reshape(mine.shape).astype(bool)
        flipped = int((mine != expected).sum())
        assert flipped <= max(1, int(1e-4 * mine.size)), f"{name}: {flipped} of {mine.size} pixels differ"


def test_dynamic_targets_and_anchors_match_torch(ort_model):
    """K = 3 targets through the SOT head and M = 5 anchors through the mask graph, against torch."""
    model = fixture_model(TAGS[0])
    inputs = np.load(require_fixture() / "inputs.npz")
    image = torch.from_numpy(inputs["img_A_256x384_cur"])
    boxes = torch.tensor([[100.0, 60.0, 140.0, 180.0], [20.0, 40.0, 60.0, 120.0], [250.0, 100.0, 330.0, 160.0]])
    maps = downsample_label_map(box_label_map(boxes, 256, 384)).permute(1, 0, 2, 3)  # (1, 3, 32, 48)
    with torch.inference_mode():
        results = []
        for m in (model, ort_model):
            feats = m.extract_features(image)
            e_ref, e_cur = m.interact(feats, feats)
            priors = [p.transpose(0, 1) for p in m.propagate(e_ref, e_cur, maps)]
            head = m.detect_targets(feats, priors)
            decoded, locations = m.decode(head)
            mask_feats, up = m.segment(feats)
            idx = torch.tensor([5, 1600, 1700, 2000, 2015])  # anchors on all three levels
            results.append((decoded, m.instance_masks(head, mask_feats, up, idx, locations, batch_idx=2)))
    (dec_t, masks_t), (dec_o, masks_o) = results
    assert dec_o.shape == (3, 2016, 6)
    assert_close("K=3 boxes", dec_o[..., :4].numpy(), dec_t[..., :4].numpy(), 5e-2)
    assert_close("K=3 probs", dec_o[..., 4:].numpy(), dec_t[..., 4:].numpy(), 2e-3)
    assert masks_o.shape == (5, 1, 256, 384)
    assert_close("M=5 masks", masks_o.numpy(), masks_t.numpy(), 1e-3)
