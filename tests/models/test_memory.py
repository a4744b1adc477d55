"""Label propagation over a frame memory, its embedding and its training loss, on hand-worked cases."""

import math

import pytest
import torch
import torch.nn.functional as F

from unicorn.models.interaction.memory import (
    MemoryEmbedding,
    local_window,
    normalized_features,
    propagate_blocks,
    propagate_labels,
    reach_bias,
)
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


def test_propagating_blocks_equals_one_memory_with_a_bias():
    """The blockwise read (each block's best ``topk``, then the best of those) gives the labels of one
    similarity matrix over every key with ``-inf`` where a block forbids a pair."""
    gen = torch.Generator().manual_seed(3)
    query = F.normalize(torch.randn(16, 50, generator=gen), dim=0)
    sizes = (30, 20, 25)
    keys = [F.normalize(torch.randn(16, n, generator=gen), dim=0) for n in sizes]
    labels = [torch.rand(3, n, generator=gen).softmax(0) for n in sizes]
    allowed = [None, torch.rand(50, 20, generator=gen) > 0.5, torch.rand(50, 25, generator=gen) > 0.9]
    allowed[2][:7] = False  # queries that may read nothing from this block
    bias = torch.cat([torch.zeros(50, n) if a is None else torch.zeros(50, n).masked_fill(~a, float("-inf"))
                      for a, n in zip(allowed, sizes)], 1)
    for topk in (1, 5, 10):
        ref = propagate_labels(query, torch.cat(keys, 1), torch.cat(labels, 1), topk, 0.05, bias=bias)
        biases = [None if a is None else reach_bias(a) for a in allowed]
        out = propagate_blocks(query, list(zip(keys, labels, biases)), topk, 0.05)
        assert torch.allclose(out, ref, atol=1e-6)
    # hand case: one key per block, top-1 takes the more similar allowed one
    q = torch.tensor([[1.0], [0.0]])
    blocked = reach_bias(torch.tensor([[False]]))
    out = propagate_blocks(q, [(torch.tensor([[0.6], [0.8]]), torch.tensor([[1.0], [0.0]]), None),
                               (torch.tensor([[1.0], [0.0]]), torch.tensor([[0.0], [1.0]]), blocked)], 1, 0.05)
    assert out.tolist() == [[1.0], [0.0]]  # the identical key is forbidden, so the 0.6-similar one wins
