"""Golden equivalence: our model, loaded with the fixture's deterministic upstream-keyed weights
through the converter, reproduces the arrays the upstream code recorded on real MOT17 frames.

Tolerances are the fixture's ``recommended_tolerances`` (README §7).
"""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
import torch

from unicorn.models.build import build_model
from unicorn.models.convert import convert_state_dict
from unicorn.models.features import FrameFeatures, id_feature_grid
from unicorn.models.interaction.prior import box_label_map, downsample_label_map
from unicorn.models.postprocess import box_to_frame, masks_to_frame, postprocess
from unicorn.preprocess import network_input

from .conftest import MOT17_MINI, require_fixture, upstream_state_dict

CONFIGS = ["tiny_mask_256x384_A", "tiny_mask_256x384_B", "tiny_mask_320x512_A", "tiny_mask_320x512_B",
           "r50_mask_256x384_A", "r50_mask_256x384_B"]
VARIANT_OF = {"tiny_mask": "unicorn_track_tiny_mask", "r50_mask": "unicorn_track_r50_mask"}
FEATURES = ["C4_ref", "C4_cur", "P3", "P4", "P5", "pos", "F_ref", "F_cur", "E_ref", "E_cur", "mask_feats",
            "up_masks"]


@pytest.fixture(scope="module")
def fixture_json() -> dict:
    return json.loads((require_fixture() / "fixture.json").read_text())


_MODELS: dict[str, torch.nn.Module] = {}


def fixture_model(tag: str) -> torch.nn.Module:
    variant = tag.rsplit("_", 2)[0]
    if variant not in _MODELS:
        model = build_model(VARIANT_OF[variant]).eval()
        converted = convert_state_dict(upstream_state_dict(VARIANT_OF[variant]), model.state_dict())
        model.load_state_dict(converted, strict=True)
        _MODELS[variant] = model.to(memory_format=torch.channels_last)  # the layout unicorn.load uses
    return _MODELS[variant]


def run_pipeline(model, ref: torch.Tensor, cur: torch.Tensor, cfg: dict, fx: dict) -> dict[str, np.ndarray]:
    """Run every step the fixture recorded, the way the trackers do, and name outputs like the fixture."""
    c = fx["constants"]
    out: dict[str, torch.Tensor] = {}
    r, (h, w), (h0, w0) = cfg["r"], cfg["input_hw"], cfg["orig_hw"]
    f_ref, f_cur = model.extract_features(ref), model.extract_features(cur)
    out.update(C4_ref=f_ref.c4, C4_cur=f_cur.c4, P3=f_cur.fpn[0], P4=f_cur.fpn[1], P5=f_cur.fpn[2],
               pos=model.embedding.pos_embed(h // 16, w // 16))
    t_ref, t_cur = model.tokens(f_ref), model.tokens(f_cur)
    out["F_ref"], out["F_cur"] = model.embedding.interact(t_ref, t_cur)
    out["E_ref"], out["E_cur"] = model.embedding.embed(out["F_ref"]), model.embedding.embed(out["F_cur"])
    label = downsample_label_map(box_label_map(torch.tensor([cfg["sot_init_box_xyxy_input"]]), h, w))
    out["label_ref_s8"] = label.reshape(1, -1)
    out["prior_fp32_s8"] = model.propagate(out["E_ref"], out["E_cur"], label)[0]
    priors = model.propagate(out["E_ref"], out["E_cur"], label, upstream_fp16=True)
    out.update(prior_s8=priors[0], prior_s16=priors[1], prior_s32=priors[2])
    # SOT / VOS
    sot = model.detect_targets(f_cur, priors)
    decoded, locations = model.decode(sot)
    out["sot_head_out"], out["locations"] = decoded, locations
    out["mask_feats"], out["up_masks"] = model.segment(f_cur)
    dets, idx = postprocess(decoded[0].clone(), 1, c["SOT_CONF"], c["SOT_NMS"])
    out["sot_dets"], out["sot_dets_anchor_idx"] = dets, idx
    box = box_to_frame(dets[0, :4], r, (h, w))
    out["sot_box_xywh_float"] = np.array([box[0], box[1], box[2] - box[0], box[3] - box[1]])
    out["sot_dyn_params_kept"] = model.head.dynamic_params(sot, idx[:10])
    vos = model.instance_masks(sot, out["mask_feats"], out["up_masks"], idx[:3], locations, final_rate=1)
    out["vos_mask_s2_top3"] = vos
    out["vos_masks_top3"] = model.instance_masks(sot, out["mask_feats"], out["up_masks"], idx[:3], locations)
    p = masks_to_frame(out["vos_masks_top3"][:1], r, (h0, w0))[0]
    out["vos_mask_orig_top1"] = p
    out["vos_final_mask"] = p > 1 - p  # soft aggregation of one object: argmax([1 - p, p])
    # MOT / MOTS
    mot = model.detect_objects(f_cur)
    decoded_mot, _ = model.decode(mot)
    out["mot_head_out"] = decoded_mot
    mdets, midx = postprocess(decoded_mot[0].clone(), model.num_classes, c["MOT_CONF"], c["MOT_NMS"])
    out["mot_dets"], out["mot_dets_anchor_idx"] = mdets, midx
    centres = (mdets[:100, :2] + mdets[:100, 2:4]) / 2
    out["mot_id_grids"] = id_feature_grid(centres, out["E_cur"].shape[-2:])
    out["mot_id_feats"] = model.id_features(out["E_cur"], centres)
    out["mot_dyn_params_kept"] = model.head.dynamic_params(mot, midx[:10])
    out["mots_mask_s2_top3"] = model.instance_masks(mot, out["mask_feats"], out["up_masks"], midx[:3],
                                                    locations, final_rate=1)
    out["mots_masks_top3"] = model.instance_masks(mot, out["mask_feats"], out["up_masks"], midx[:3], locations)
    out["mots_masks_orig_top3"] = masks_to_frame(out["mots_masks_top3"], r, (h0, w0))
    out["mots_binary_orig_top3"] = out["mots_masks_orig_top3"] > c["MASK_THRES"]
    return {k: (v.detach().numpy() if torch.is_tensor(v) else np.asarray(v)) for k, v in out.items()}


@pytest.fixture(scope="module")
def results(fixture_json) -> dict[str, tuple[dict, dict]]:
    """Run every recorded configuration once (2 threads, as the fixture was made)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    inputs = np.load(require_fixture() / "inputs.npz")
    out = {}
    try:
        with torch.inference_mode():
            for tag in CONFIGS:
                cfg = fixture_json["configs"][tag]
                size = "x".join(map(str, cfg["input_hw"]))
                ref = torch.from_numpy(inputs[f"img_{cfg['pair']}_{size}_ref"]).contiguous(
                    memory_format=torch.channels_last)
                cur = torch.from_numpy(inputs[f"img_{cfg['pair']}_{size}_cur"]).contiguous(
                    memory_format=torch.channels_last)
                ours = run_pipeline(fixture_model(tag), ref, cur, cfg, fixture_json)
                out[tag] = (ours, dict(np.load(require_fixture() / cfg["file"])))
    finally:
        torch.set_num_threads(threads)
    return out


def assert_close(name: str, mine: np.ndarray, ref: np.ndarray, atol: float, rtol: float = 0.0) -> None:
    mine, ref = np.asarray(mine, np.float64), np.asarray(ref, np.float64)
    assert mine.shape == ref.shape, f"{name}: shape {mine.shape} vs {ref.shape}"
    diff = np.abs(mine - ref)
    bad = diff > atol + rtol * np.abs(ref)
    assert not bad.any(), f"{name}: {int(bad.sum())} values off, max |diff| {diff.max():.3g} (atol {atol:.3g})"


def next_prime(n: int) -> int:
    def prime(k: int) -> bool:
        return k > 1 and all(k % d for d in range(2, int(math.isqrt(k)) + 1))
    while not prime(n):
        n += 1
    return n


def test_preprocessing_matches_upstream_letterbox(fixture_json):
    if not MOT17_MINI.is_dir():
        pytest.skip(f"MOT17 frames not found at {MOT17_MINI}")
    inputs = np.load(require_fixture() / "inputs.npz")
    for pair_name, pair in fixture_json["pairs"].items():
        for size in ((256, 384), (320, 512)):
            for which in ("ref", "cur"):
                image = cv2.imread(str(MOT17_MINI / pair[f"{which}_image"]))
                tensor, r = network_input(image, size)
                key = f"img_{pair_name}_{size[0]}x{size[1]}_{which}"
                np.testing.assert_array_equal(tensor[None], inputs[key], err_msg=key)


@pytest.mark.parametrize("tag", CONFIGS)
def test_features_and_embeddings(results, tag):
    ours, ref = results[tag]
    for name in FEATURES:
        if name in ref:
            assert_close(name, ours[name], ref[name], 1e-4 * np.abs(ref[name]).max(), 1e-4)
        else:  # stored as probes: every s-th value, per-channel means, [mean, std, min, max]
            flat = ours[name].reshape(-1)
            probe = ref[f"{name}__probe"]
            stride = next_prime(math.ceil(flat.size / 4096))
            scale = np.abs(ref[f"{name}__stats"][2:]).max()
            assert_close(name + "__probe", flat[::stride], probe, 1e-4 * scale, 1e-4)
            chmean = ours[name].mean(axis=(0, 2, 3), dtype=np.float64)
            assert_close(name + "__chmean", chmean, ref[f"{name}__chmean"], 1e-4 * scale, 1e-4)


@pytest.mark.parametrize("tag", CONFIGS)
def test_priors(results, tag):
    ours, ref = results[tag]
    np.testing.assert_array_equal(ours["label_ref_s8"], ref["label_ref_s8"])
    for name in ("prior_s8", "prior_s16", "prior_s32"):
        assert_close(name, ours[name], ref[name], 1e-2)
    assert_close("prior_fp32_s8", ours["prior_fp32_s8"], ref["prior_fp32_s8"], 1e-4)


@pytest.mark.parametrize("tag", CONFIGS)
def test_head_outputs_end_to_end(results, tag):
    ours, ref = results[tag]
    assert_close("sot boxes", ours["sot_head_out"][..., :4], ref["sot_head_out"][..., :4], 5e-2)
    assert_close("sot probs", ours["sot_head_out"][..., 4:], ref["sot_head_out"][..., 4:], 2e-3)
    assert_close("mot boxes", ours["mot_head_out"][..., :4], ref["mot_head_out"][..., :4], 5e-3)
    assert_close("mot probs", ours["mot_head_out"][..., 4:], ref["mot_head_out"][..., 4:], 5e-5)


@pytest.mark.parametrize("tag", CONFIGS)
def test_detections_and_sot_box(results, tag):
    ours, ref = results[tag]
    for task, box_tol, prob_tol in (("sot", 5e-2, 2e-3), ("mot", 5e-3, 5e-5)):
        mine_idx, ref_idx = ours[f"{task}_dets_anchor_idx"], ref[f"{task}_dets_anchor_idx"]
        assert set(mine_idx.tolist()) == set(ref_idx.tolist()), f"{task}: kept sets differ"
        np.testing.assert_array_equal(mine_idx[:10], ref_idx[:10])
        order = {a: i for i, a in enumerate(mine_idx.tolist())}
        mine_sorted = ours[f"{task}_dets"][[order[a] for a in ref_idx.tolist()]]
        assert_close(f"{task} det boxes", mine_sorted[:, :4], ref[f"{task}_dets"][:, :4], box_tol)
        assert_close(f"{task} det probs", mine_sorted[:, 4:6], ref[f"{task}_dets"][:, 4:6], prob_tol)
        np.testing.assert_array_equal(mine_sorted[:, 6], ref[f"{task}_dets"][:, 6])
    assert_close("sot box", ours["sot_box_xywh_float"], ref["sot_box_xywh_float"], 1e-2)
    np.testing.assert_array_equal(ours["sot_box_xywh_float"].astype(np.int64), ref["sot_box_xywh"])


@pytest.mark.parametrize("tag", CONFIGS)
def test_masks_and_id_features(results, tag):
    ours, ref = results[tag]
    for name in ("sot_dyn_params_kept", "mot_dyn_params_kept", "vos_mask_s2_top3", "mots_mask_s2_top3"):
        assert_close(name, ours[name], ref[name], 1e-3)
    for name in ("vos_masks_top3", "mots_masks_top3", "vos_mask_orig_top1", "mots_masks_orig_top3"):
        if name in ref:
            assert_close(name, ours[name], ref[name], 2e-3)
    assert_close("mot_id_grids", ours["mot_id_grids"], ref["mot_id_grids"], 1e-5)
    assert_close("mot_id_feats", ours["mot_id_feats"], ref["mot_id_feats"], 1e-3)
    for name, ref_bits in (("vos_final_mask", "vos_final_mask_packbits"),
                           ("mots_binary_orig_top3", "mots_binary_orig_top3_packbits")):
        mine = ours[name]
        expected = np.unpackbits(ref[ref_bits])[: mine.size].reshape(mine.shape).astype(bool)
        flipped = int((mine != expected).sum())
        assert flipped <= max(1, int(1e-4 * mine.size)), f"{name}: {flipped} of {mine.size} pixels differ"


def test_postprocess_of_stored_head_output_is_exact(fixture_json):
    ref = np.load(require_fixture() / "infer_tiny_mask_256x384_A.npz")
    c = fixture_json["constants"]
    for task, n_cls, conf, nms in (("sot", 1, c["SOT_CONF"], c["SOT_NMS"]), ("mot", 8, c["MOT_CONF"], c["MOT_NMS"])):
        dets, idx = postprocess(torch.from_numpy(ref[f"{task}_head_out"][0].copy()), n_cls, conf, nms)
        np.testing.assert_array_equal(idx.numpy(), ref[f"{task}_dets_anchor_idx"])
        np.testing.assert_array_equal(dets.numpy(), ref[f"{task}_dets"])


def test_teacher_forced_head_and_interaction(fixture_json):
    """Each stage fed the stored outputs of the previous one (primary config)."""
    ref = np.load(require_fixture() / "infer_tiny_mask_256x384_A.npz")
    model = fixture_model("tiny_mask_256x384_A")
    t = {k: torch.from_numpy(ref[k]) for k in ("C4_ref", "C4_cur", "F_ref", "F_cur", "P3", "P4", "P5",
                                                "prior_s8", "prior_s16", "prior_s32", "E_cur")}
    with torch.inference_mode():
        f_ref, f_cur = model.embedding.interact(model.embedding.tokens(t["C4_ref"]),
                                                model.embedding.tokens(t["C4_cur"]))
        for name, mine in (("F_ref", f_ref), ("F_cur", f_cur)):
            assert_close(name, mine.numpy(), ref[name], 1e-4 * np.abs(ref[name]).max(), 1e-4)
        assert_close("E_cur", model.embedding.embed(t["F_cur"]).numpy(), ref["E_cur"], 1e-4 * 50, 1e-4)
        feats = FrameFeatures([t["P3"], t["P4"], t["P5"]], t["C4_cur"])
        priors = [t["prior_s8"], t["prior_s16"], t["prior_s32"]]
        for task, head_out in (("sot", model.detect_targets(feats, priors)), ("mot", model.detect_objects(feats))):
            decoded, _ = model.decode(head_out)
            stored = ref[f"{task}_head_out"]
            assert_close(f"{task} boxes", decoded[..., :4].numpy(), stored[..., :4], 2e-3, 1e-5)
            assert_close(f"{task} probs", decoded[..., 4:].numpy(), stored[..., 4:], 1e-5)
        dets = torch.from_numpy(ref["mot_dets"][:100])
        feats_id = model.id_features(t["E_cur"], (dets[:, :2] + dets[:, 2:4]) / 2)
        assert_close("id feats", feats_id.numpy(), ref["mot_id_feats"], 1e-5)


@pytest.mark.parametrize("tag", ["tiny_mask_256x384_A", "tiny_mask_320x512_A"])
def test_fast_pointwise_mode_stays_close(fixture_json, tag):
    """``unicorn.load(..., fast=True)``: same maths with other rounding; documented bounds, not the fixture's.

    The features stay within the fixture's feature tolerance; decoded MOT boxes may move by up to
    1e-2 px (the fixture asks 5e-3 px of the exact path, which the default mode meets).
    """
    cfg = fixture_json["configs"][tag]
    size = "x".join(map(str, cfg["input_hw"]))
    inputs = np.load(require_fixture() / "inputs.npz")
    model = fixture_model(tag)
    model.use_fast_pointwise(True)
    try:
        with torch.inference_mode():
            ours = run_pipeline(model, torch.from_numpy(inputs[f"img_{cfg['pair']}_{size}_ref"]),
                                torch.from_numpy(inputs[f"img_{cfg['pair']}_{size}_cur"]), cfg, fixture_json)
    finally:
        model.use_fast_pointwise(False)
    ref = dict(np.load(require_fixture() / cfg["file"]))
    for name in ("C4_cur", "E_cur", "mask_feats"):
        if name in ref:
            assert_close(name, ours[name], ref[name], 1e-4 * np.abs(ref[name]).max(), 1e-4)
    assert_close("mot boxes", ours["mot_head_out"][..., :4], ref["mot_head_out"][..., :4], 1e-2)
    assert_close("mot probs", ours["mot_head_out"][..., 4:], ref["mot_head_out"][..., 4:], 5e-5)
    assert_close("sot boxes", ours["sot_head_out"][..., :4], ref["sot_head_out"][..., :4], 5e-2)
    np.testing.assert_array_equal(ours["sot_box_xywh_float"].astype(np.int64), ref["sot_box_xywh"])


def test_default_path_converts_the_first_three_convnext_stages():
    """The layout the golden tests above check: stages 1-3 as 1x1 convolutions, the last one Linear."""
    model = fixture_model("tiny_mask_256x384_A")
    assert [all(b.pointwise_as_conv for b in st) for st in model.backbone.stages] == [True, True, True, False]
    model.use_fast_pointwise(True)
    assert all(b.pointwise_as_conv for st in model.backbone.stages for b in st)
    model.use_fast_pointwise(False)
    assert [all(b.pointwise_as_conv for b in st) for st in model.backbone.stages] == [True, True, True, False]
