"""Label propagation over a frame memory, its embedding and its training loss, on hand-worked cases."""

import math

import pytest
import torch

from unicorn.models.interaction.memory import MemoryEmbedding, local_window, normalized_features, propagate_labels
from unicorn.models.losses.memory import label_cells, propagation_loss


def test_each_pixel_reads_its_topk_neighbours_with_a_softmax():
    keys = torch.eye(3)  # three unit keys
    labels = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])  # key 0 background, keys 1 and 2 object
    query = torch.tensor([[1.0, 0.0], [0.6, 0.0], [0.0, 1.0]])  # pixel 0 ~ keys 0/1, pixel 1 = key 2
    out = propagate_labels(query, keys, labels, topk=2, temperature=0.1)
    w = torch.softmax(torch.tensor([1.0, 0.6]) / 0.1, 0)  # pixel 0's two best keys: 0 (1.0) and 1 (0.6)
    assert out[:, 0].tolist() == pytest.approx([w[0].item(), w[1].item()], abs=1e-6)
    # pixel 1: key 2 (1.0) and, of the two keys at 0, the first one found
    assert out[1, 1].item() == pytest.approx(1 / (1 + math.exp(-10)), abs=1e-5)
    assert out.sum(0).tolist() == pytest.approx([1.0, 1.0])


def test_disallowed_pairs_are_never_read():
    keys = torch.eye(2)
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    query = torch.tensor([[1.0], [0.0]])  # identical to key 0
    allowed = torch.tensor([[False, True]])
    out = propagate_labels(query, keys, labels, topk=2, temperature=0.05, allowed=allowed)
    assert out[:, 0].tolist() == pytest.approx([0.0, 1.0])


def test_local_window_counts_cells_within_the_radius():
    win = local_window(3, 3, 1.0)
    assert win.shape == (9, 9)
    assert int(win[4].sum()) == 5  # the centre cell and its 4 direct neighbours
    assert int(local_window(3, 3, 1.5)[4].sum()) == 9


def test_normalized_features_have_unit_length():
    f = normalized_features(torch.randn(2, 5, 4, 6), torch.randn(2, 7, 2, 3))
    assert f.shape == (2, 12, 4, 6)
    assert torch.allclose(f.norm(dim=1), torch.ones(2, 4, 6), atol=1e-5)


def test_embedding_starts_as_the_principal_axes_of_its_features():
    torch.manual_seed(0)
    emb = MemoryEmbedding(5, 7, dim=4, hidden=8)
    c3, c4 = torch.randn(3, 5, 8, 8), torch.randn(3, 7, 4, 4)
    assert not bool(emb.projection_ready)
    emb.init_projection(c3, c4)
    assert bool(emb.projection_ready)
    w = emb.project.weight.view(4, 12)
    assert torch.allclose(w @ w.t(), torch.eye(4), atol=1e-5)  # orthonormal axes
    out = emb(c3, c4)
    f = normalized_features(c3, c4)
    expected = torch.nn.functional.normalize(torch.einsum("dc,bchw->bdhw", w, f), dim=1)
    assert torch.allclose(out, expected, atol=1e-5)  # the residual branch starts at zero
    assert emb.temperature == pytest.approx(0.05)


def test_label_cells_average_the_mask_over_each_cell():
    masks = torch.zeros(1, 4, 8)
    masks[0, :2, :4] = 1  # the whole first cell and nothing else
    masks[0, 2:, 4:6] = 1  # half of the last cell
    cells = label_cells(masks, 4)
    assert cells.shape == (2, 1, 2)
    assert cells[1, 0].tolist() == pytest.approx([0.5, 0.25])
    assert cells[0, 0].tolist() == pytest.approx([0.5, 0.75])


def test_propagation_loss_is_the_class_balanced_cross_entropy():
    emb = torch.eye(2).view(2, 1, 2)  # two cells with orthogonal embeddings
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(2, 1, 2)
    loss = propagation_loss(emb, emb, labels, labels, topk=2, temperature=torch.tensor(0.5))
    p = 1 / (1 + math.exp(-2))  # each cell reads itself (1/0.5) against the other (0)
    assert loss.item() == pytest.approx(-math.log(p), rel=1e-5)
