"""Training losses equal upstream's: loss terms, SimOTA assignments and per-parameter gradient
norms recorded by the golden fixture (README §5.3), with the fixture's deterministic weights.

Tolerances are the fixture's (§7): losses rtol 1e-4, SimOTA indices exact, grad norms rtol 1e-3.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from unicorn.models.build import build_model
from unicorn.models.convert import convert_state_dict, upstream_to_ours
from unicorn.models.layers import DropPath
from unicorn.models.losses import unicorn_loss
from unicorn.models.losses.correspondence import match_track_ids
from unicorn.models.losses.unicorn_loss import matched_objects, mhs_labels
from unicorn.variants import get_variant

from .conftest import require_fixture, upstream_state_dict

LABELS_OF = {"box_sot": "sot", "box_mot": "mot", "mask_vos": "vos", "mask_mots": "mot"}


@pytest.fixture(scope="module")
def loss_fixture() -> tuple[dict, dict[str, np.ndarray]]:
    folder = require_fixture()
    return (json.loads((folder / "fixture.json").read_text())["losses"],
            dict(np.load(folder / "losses.npz")))


@pytest.fixture(scope="module")
def two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the fixture was recorded with 2 threads
    yield
    torch.set_num_threads(threads)


_MODELS: dict[str, torch.nn.Module] = {}


def training_model(exp: str) -> torch.nn.Module:
    """The fixture's model in train mode with dropout and drop-path off (as the fixture ran it)."""
    if exp not in _MODELS:
        model = build_model(exp)
        model.load_state_dict(convert_state_dict(upstream_state_dict(exp), model.state_dict()), strict=True)
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
            elif isinstance(m, DropPath):
                m.p = 0.0
        _MODELS[exp] = model.train()
    return _MODELS[exp]


def run_case(case: str, fx: dict, arrays: dict, grad: bool):
    rec = fx[case]
    model = training_model(rec["exp"])
    model.zero_grad(set_to_none=True)
    name = LABELS_OF[case]
    masks = torch.from_numpy(arrays[f"masks_{name}"]) if case.startswith("mask") else None
    assignments: list = []
    with torch.set_grad_enabled(grad):
        out = unicorn_loss(model, torch.from_numpy(arrays["imgs"]), torch.from_numpy(arrays[f"labels_{name}"]),
                           torch.tensor([rec["task_id"]]), masks, mhs=rec["mhs"], assignments=assignments)
    return model, out, assignments


def check_terms(out: dict[str, torch.Tensor], expected: dict[str, float]) -> None:
    errors = {}
    for key, value in expected.items():
        if key.startswith("sem_loss"):  # upstream's semantic branch is off in every track exp
            assert value == 0.0
            continue
        mine = float(out[key].detach())
        errors[key] = abs(mine - value) / max(abs(value), 1e-12)
        assert mine == pytest.approx(value, rel=1e-4, abs=1e-7), f"{key}: {mine} vs upstream {value}"
    print("max relative error per term:", {k: f"{v:.1e}" for k, v in errors.items()})


def check_assignments(assignments: list, expected: list[dict]) -> None:
    assert [task for task, _ in assignments] == [r["mode"] for r in expected]
    for (_, a), ref in zip(assignments, expected):
        assert a.num_fg == ref["num_fg"]
        assert a.fg_indices.tolist() == ref["fg_anchor_idx"]
        assert a.matched_gt.tolist() == ref["matched_gt_inds"]
        np.testing.assert_allclose(a.matched_ious.numpy(), ref["pred_ious"], rtol=1e-4)


@pytest.mark.parametrize("case", ["box_sot", "box_mot"])
def test_box_stage_losses_assignments_and_gradients(case, loss_fixture, two_threads):
    fx, arrays = loss_fixture
    model, out, assignments = run_case(case, fx, arrays, grad=True)
    check_terms(out, fx[case]["loss_dict"])
    check_assignments(assignments, fx[case]["simota"])
    out["total_loss"].backward()
    params = dict(model.named_parameters())
    names = fx[case]["grad_param_names"]
    assert len(names) == len(params)
    # every parameter gets a gradient (zeros for the other task's predictors), as DDP needs
    assert all(p.grad is not None for p in params.values())
    mine = np.array([params[upstream_to_ours(n)].grad.double().norm().item() for n in names])
    ref = arrays[f"grad_l2_{case}"]
    np.testing.assert_allclose(mine, ref, rtol=1e-3, atol=1e-9 * ref.max())
    print("max relative grad-norm error:", float((np.abs(mine - ref) / np.maximum(ref, 1e-30))[ref > 0].max()))


@pytest.mark.parametrize("case", ["mask_vos", "mask_mots"])
def test_mask_stage_losses_and_assignments(case, loss_fixture, two_threads):
    fx, arrays = loss_fixture
    _, out, assignments = run_case(case, fx, arrays, grad=False)
    check_terms(out, fx[case]["loss_dict"])
    check_assignments(assignments, fx[case]["simota"])


def test_every_trainable_parameter_gets_a_finite_gradient():
    torch.manual_seed(0)
    model = build_model(replace(get_variant("unicorn-lite").config, embedding="deformable")).train()
    attn = model.embedding.encoder.self_attn
    with torch.no_grad():  # Deformable-DETR zero init cuts the query (pos, level embed) off the loss
        attn.sampling_offsets.weight.normal_(std=1e-3)
        attn.attention_weights.weight.normal_(std=1e-3)
    h, w = 128, 192
    images = torch.rand(2, 2, 3, h, w) * 255
    labels = torch.zeros(2, 2, 3, 6)
    # sample 0: SOT/VOS, one target; sample 1: MOT/MOTS, two objects, one leaves and one enters
    labels[0, :, 0] = torch.tensor([[0, 60, 50, 40, 50, 1], [0, 66, 54, 42, 48, 1]])
    labels[1, 0, :2] = torch.tensor([[0, 100, 60, 30, 60, 7], [2, 40, 80, 50, 30, 9]])
    labels[1, 1, :2] = torch.tensor([[0, 104, 62, 30, 58, 7], [1, 150, 40, 20, 40, 4]])
    masks = torch.zeros(2, 2, 3, h // 2, w // 2)
    for b, f, m in labels[..., 5].nonzero().tolist():
        cx, cy, bw, bh = (labels[b, f, m, 1:5] / 2).tolist()
        masks[b, f, m, int(cy - bh / 2):int(cy + bh / 2), int(cx - bw / 2):int(cx + bw / 2)] = 1
    assignments: list = []
    out = model(images, labels, torch.tensor([1, 2]), masks, assignments=assignments)
    assert all(torch.isfinite(v).all() for v in out.values())
    assert float(out["condinst_loss_sot"].detach()) > 0 and float(out["condinst_loss_mot"].detach()) > 0
    out["total_loss"].backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    missing = [n for n, p in trainable.items() if p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"
    bad = [n for n, p in trainable.items() if not torch.isfinite(p.grad).all()]
    assert not bad, f"non-finite gradient for {bad[:5]}"
    # Everything takes part, except what only positives reach (class and box predictors, the
    # class tower and the mask controllers) at levels without positives: those get exact zeros.
    starts = np.cumsum([0] + [(h // s) * (w // s) for s in model.head.strides])
    levels = {"sot": set(), "mot": set()}
    for task, a in assignments:
        levels[task].update(int(np.searchsorted(starts, i, side="right")) - 1 for i in a.fg_indices.tolist())
    idle = [f"head.{kind}_preds{suffix}.{k}." for task, suffix in (("sot", "_sot"), ("mot", ""))
            for k in range(3) if k not in levels[task] for kind in ("cls", "reg")]
    idle += [f"head.{part}.{k}." for k in range(3) if k not in levels["sot"] | levels["mot"]
             for part in ("cls_convs", "controllers")]
    idle = {n for n in trainable if n.startswith(tuple(idle))}
    zero = {n for n, p in trainable.items() if not p.grad.abs().sum() > 0}
    assert zero == idle, f"unexpected zero gradients: {sorted(zero - idle)[:5]}, nonzero: {sorted(idle - zero)[:5]}"


def test_track_id_matching_follows_upstream_loops():
    rows, cols = match_track_ids(torch.tensor([3.0, 5.0, 3.0, 8.0]), torch.tensor([5.0, 3.0, 9.0]))
    assert rows.tolist() == [1, 0, 1, -1]
    assert cols.tolist() == [1, 2, -1]  # the last reference row pointing at a current row wins

    labels = torch.zeros(1, 2, 3, 6)
    labels[0, 0, :2, 5] = torch.tensor([4.0, 6.0])
    labels[0, 1, :3, 5] = torch.tensor([6.0, 4.0, 2.0])
    labels[0, :, :, 1:5] = torch.arange(1, 25, dtype=torch.float32).view(2, 3, 4)
    assert matched_objects(labels[0]) == [(0, 1), (1, 0)]
    sot = mhs_labels(labels)
    assert sot[0, 0, 0, 1:6].tolist() == labels[0, 0, 0, 1:6].tolist()
    assert sot[0, 1, 0, 1:6].tolist() == labels[0, 1, 1, 1:6].tolist()
    assert sot[0, :, 1:].abs().sum() == 0 and sot[0, :, 0, 0].abs().sum() == 0
