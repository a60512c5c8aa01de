"""Permutations of set elements (dense) and graph nodes (PyG layout)."""

import pytest
import torch

import symmetries as sym
from symmetries.actions import GraphPermutation, SetPermutation, invariant


def test_set_permutation_closed_form_and_homomorphism(gen):
    act = SetPermutation(5, (1, 2, None))
    x = (torch.randn(3, 5, 2, generator=gen), torch.randn(3, 5, 5, 2, generator=gen), torch.randn(3, 7))
    G = act.group
    p = G.sample(1, generator=gen)
    y = act.act(p, x)
    inv = torch.argsort(p[0])
    assert torch.equal(y[0], x[0][:, inv]) and torch.equal(y[1], x[1][:, inv][:, :, inv])
    assert torch.equal(y[0][:, p[0]], x[0])  # x'[p[i]] = x[i]
    assert torch.equal(y[2], x[2])
    a, b = G.sample(1, generator=gen), G.sample(1, generator=gen)
    lhs, rhs = act.act(a, act.act(b, x)), act.act(G.compose(a, b), x)
    assert all(torch.equal(u, v) for u, v in zip(lhs, rhs))
    # one element per sample
    g = G.sample(3, generator=gen)
    per = act.act(g, x)
    for i in range(3):
        single = act.act(G.select(g, i), tuple(t[i:i + 1] for t in x))
        assert all(torch.equal(u[i:i + 1], v) for u, v in zip(per, single))


def test_graph_permutation_relabels_edges(gen):
    n = 6
    act = GraphPermutation(n, ("node", "edge_index", "edge"))
    x = torch.randn(n, 2, generator=gen)
    edge_index = torch.tensor([[0, 1, 2, 5], [1, 2, 3, 0]])
    edge_attr = torch.randn(4, 3, generator=gen)
    p = act.group.sample(1, generator=gen)
    x2, e2, a2 = act.act(p, (x, edge_index, edge_attr))
    for k in range(4):  # the edge (j -> i) with features a becomes (p[j] -> p[i]) with features a
        j, i = edge_index[:, k]
        assert torch.equal(e2[:, k], p[0][edge_index[:, k]])
        assert torch.equal(x2[e2[0, k]], x[j]) and torch.equal(x2[e2[1, k]], x[i])
    assert torch.equal(a2, edge_attr)
    a, b = act.group.sample(1, generator=gen), act.group.sample(1, generator=gen)
    lhs = act.act(a, act.act(b, (x, edge_index, edge_attr)))
    rhs = act.act(act.group.compose(a, b), (x, edge_index, edge_attr))
    assert all(torch.equal(u, v) for u, v in zip(lhs, rhs))


def test_graph_permutation_per_graph_and_checker(gen):
    act = GraphPermutation(3, ("node", "edge_index", "batch"))
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    x = torch.randn(6, 2, generator=gen)
    edge_index = torch.tensor([[0, 1, 3, 4], [1, 2, 4, 5]])
    g = act.group.sample(2, generator=gen)
    x2, e2, b2 = act.act(g, (x, edge_index, batch))
    assert torch.equal(b2, batch)  # each graph keeps its nodes
    assert torch.equal(x2[:3][g[0]], x[:3]) and torch.equal(x2[3:][g[1]], x[3:])
    assert act.batch_size((x, edge_index, batch)) == 2
    # the in-degree is permutation-equivariant, the edge count invariant
    deg = lambda t: torch.bincount(t[1][1], minlength=6).double()[:, None]  # noqa: E731
    whole = GraphPermutation(6, ("node", "edge_index", "batch"))
    sym.assert_equivariant(deg, whole, GraphPermutation(6, "node"), (x, edge_index, batch), n_samples=10)
    sym.assert_equivariant(lambda t: float(t[1].shape[1]) * torch.ones(1), whole, invariant(), (x, edge_index, batch))


def test_graph_bad_input(gen):
    with pytest.raises(ValueError, match="unknown graph entry"):
        GraphPermutation(3, ("nodes",))
    with pytest.raises(ValueError, match="element-axis counts"):
        SetPermutation(3, ("set",))
    act = GraphPermutation(4, ("node", "edge_index"))
    p = act.group.sample(1, generator=gen)
    with pytest.raises(ValueError, match="edge_index refers to node 4"):
        act.act(p, (torch.randn(4, 2), torch.tensor([[0], [4]])))
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        act.act(p, (torch.randn(4, 2), torch.tensor([[0, 1]])))
    with pytest.raises(ValueError, match="one row per node"):
        act.act(p, (torch.randn(5, 2), torch.tensor([[0], [1]])))
    with pytest.raises(ValueError, match="'batch' entry"):
        act.act(act.group.sample(2, generator=gen), (torch.randn(4, 2), torch.tensor([[0], [1]])))
    with pytest.raises(ValueError, match="n = 4"):
        SetPermutation(4).act(p, torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match="one per sample"):
        SetPermutation(4).act(SetPermutation(4).group.sample(3), torch.randn(2, 4, 3))


def test_a_layout_that_does_not_match_the_input_is_named_with_the_fix():
    pos, batch = torch.randn(8, 3), torch.zeros(8, dtype=torch.long)
    with pytest.raises(ValueError, match=r"the layout \('node', 'edge_index'\) marks an entry 'edge_index'.*"
                                         r"got shape \(8,\).*GraphPermutation\(8, \('node', 'batch'\)\)"):
        GraphPermutation(8).act(torch.arange(8)[None], (pos, batch))
    moved = GraphPermutation(8, ("node", "batch")).act(torch.arange(8).flip(0)[None], (pos, batch))
    assert torch.equal(moved[0], pos.flip(0))
