"""Scatter, graph construction and message passing in PyG's layout."""

from types import SimpleNamespace

import pytest
import torch

import symmetries as sym
from symmetries.actions import GraphPermutation, invariant
from symmetries.nn import (GNN, GNNLayer, check_graph, fully_connected_graph, global_pool, knn_graph,
                           radius_graph, scatter)
from symmetries.testing import reload_state_dict


def _random_graph(gen, sizes=(4, 6, 3), p=0.5, features=3, dtype=torch.float64):
    batch = torch.cat([torch.full((s,), i) for i, s in enumerate(sizes)])
    same = batch[:, None] == batch[None, :]
    keep = same & (torch.rand(len(batch), len(batch), generator=gen) < p)
    keep.fill_diagonal_(False)
    target, source = keep.nonzero(as_tuple=True)
    edge_index = torch.stack([source, target])
    x = torch.randn(len(batch), features, generator=gen, dtype=dtype)
    return x, edge_index, batch


@pytest.mark.parametrize("reduce", ["sum", "mean", "max", "min"])
def test_scatter_matches_loop(reduce, gen):
    src = torch.randn(20, 3, dtype=torch.float64, generator=gen)
    index = torch.randint(0, 6, (20,), generator=gen)
    index[index == 4] = 5  # bucket 4 stays empty
    out = scatter(src, index, 0, 7, reduce)
    for k in range(7):
        rows = src[index == k]
        if not len(rows):
            assert torch.equal(out[k], torch.zeros(3, dtype=torch.float64))
            continue
        ref = {"sum": rows.sum(0), "mean": rows.mean(0), "max": rows.amax(0), "min": rows.amin(0)}[reduce]
        assert torch.allclose(out[k], ref, atol=1e-14)
    # another dim
    assert torch.allclose(scatter(src.T, index, 1, 7, reduce), out.T)


def test_scatter_bad_input():
    src = torch.randn(5, 2)
    with pytest.raises(ValueError, match="index has 4 entries"):
        scatter(src, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="1-D long"):
        scatter(src, torch.zeros(5))
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        scatter(src, torch.tensor([0, 1, 2, 3, 0]), dim_size=3)
    with pytest.raises(ValueError, match="reduce must be one of"):
        scatter(src, torch.zeros(5, dtype=torch.long), reduce="prod")


def _brute_neighbours(pos, batch, loop):
    d = torch.cdist(pos.double(), pos.double())
    d[batch[:, None] != batch[None, :]] = float("inf")
    if not loop:
        d.fill_diagonal_(float("inf"))
    return d


@pytest.mark.parametrize("loop", [False, True])
def test_radius_and_knn_graph_against_brute_force(loop, gen):
    pos = torch.randn(40, 3, generator=gen)
    batch = torch.cat([torch.zeros(15, dtype=torch.long), torch.ones(25, dtype=torch.long)])
    d = _brute_neighbours(pos, batch, loop)
    edges = radius_graph(pos, 1.0, batch, loop=loop, max_num_neighbors=100)
    expected = {(j, i) for i, j in (d < 1.0).nonzero().tolist()}
    assert set(map(tuple, edges.T.tolist())) == expected
    key = edges[1] * 40 + edges[0]
    assert (key[1:] > key[:-1]).all()  # sorted by target, then source
    k = 4
    edges = knn_graph(pos, k, batch, loop=loop)
    assert edges.shape[1] == 40 * k
    for i in range(40):
        nbrs = edges[0][edges[1] == i]
        kth = torch.sort(d[i]).values[k - 1]
        assert len(nbrs) == k and (d[i, nbrs] <= kth + 1e-6).all()
        assert (batch[nbrs] == batch[i]).all()
        assert (nbrs[1:] > nbrs[:-1]).all()  # sorted by source (the order never depends on distances)


def test_radius_graph_max_neighbours_and_small_graphs(gen):
    pos = torch.randn(30, 2, generator=gen) * 0.01  # everyone within r
    edges = radius_graph(pos, 1.0, max_num_neighbors=5)
    assert torch.equal(torch.bincount(edges[1], minlength=30), torch.full((30,), 5))
    # a graph with fewer than k + 1 nodes contributes all its pairs
    edges = knn_graph(torch.randn(3, 3, generator=gen), k=10)
    assert edges.shape[1] == 6


def test_graph_construction_is_permutation_equivariant(gen):
    pos = torch.randn(12, 3, generator=gen)
    perm = torch.randperm(12, generator=gen)
    inv = torch.argsort(perm)
    for build in (lambda p: radius_graph(p, 1.2), lambda p: knn_graph(p, 3)):
        e = build(pos)
        e_moved = build(pos[inv])  # node i -> perm[i]
        assert set(map(tuple, e_moved.T.tolist())) == set(map(tuple, perm[e].T.tolist()))


def test_fully_connected_graph():
    batch = torch.tensor([0, 0, 1, 1, 1])
    e = fully_connected_graph(batch)
    assert e.shape == (2, 2 + 6)
    assert (batch[e[0]] == batch[e[1]]).all() and (e[0] != e[1]).all()
    assert fully_connected_graph(3, loop=True).shape == (2, 9)
    # the dense form: B graphs of M nodes, the same edges as the batch vector of that batch
    dense = fully_connected_graph(4, num_graphs=3)
    assert torch.equal(dense, fully_connected_graph(torch.arange(3).repeat_interleave(4)))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_gnn_permutation_equivariance_and_pooled_invariance(dtype, gen):
    torch.manual_seed(0)
    x, edge_index, batch = _random_graph(gen, dtype=dtype)
    edge_attr = torch.randn(edge_index.shape[1], 2, generator=gen).to(dtype)
    n = x.shape[0]
    model = GNN(3, 4, hidden=16, layers=3, edge_features=2).to(dtype)
    act = GraphPermutation(n, ("node", "edge_index", "edge"))
    sym.assert_equivariant(lambda t: model(*t), act, GraphPermutation(n, "node"), (x, edge_index, edge_attr),
                           n_samples=16, generator=gen)
    pooled = GNN(3, 4, hidden=16, layers=3, edge_features=2, pool="mean").to(dtype)
    act = GraphPermutation(n, ("node", "edge_index", "edge", "batch"))
    sym.assert_equivariant(lambda t: pooled(*t), act, invariant(), (x, edge_index, edge_attr, batch),
                           n_samples=16, generator=gen)


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_batched_graphs_equal_one_at_a_time(aggr, gen):
    torch.manual_seed(0)
    sizes = (4, 7, 1, 5)
    x, edge_index, batch = _random_graph(gen, sizes)
    model = GNN(3, 2, hidden=8, layers=2, aggr=aggr, pool="sum").double()
    nodes = model(x, edge_index, batch=batch)
    start = 0
    for g, s in enumerate(sizes):
        keep = (batch[edge_index[0]] == g)
        single = model(x[start:start + s], edge_index[:, keep] - start)
        assert torch.allclose(nodes[g], single[0], atol=1e-12)
        start += s


def test_gnn_layer_closed_form(gen):
    """Sum aggregation onto targets: h_i' = h_i + phi_h(h_i, sum_{j -> i} phi_e(h_i, h_j))."""
    layer = GNNLayer(2, hidden=4).double()
    h = torch.randn(3, 2, dtype=torch.float64, generator=gen)
    edge_index = torch.tensor([[0, 1, 2], [1, 2, 1]])  # 0 -> 1, 1 -> 2, 2 -> 1
    out = layer(h, edge_index)
    m = lambda i, j: layer.phi_e(torch.cat([h[i], h[j]]))  # noqa: E731
    agg = [torch.zeros(4, dtype=torch.float64), m(1, 0) + m(1, 2), m(2, 1)]
    for i in range(3):
        assert torch.allclose(out[i], h[i] + layer.phi_h(torch.cat([h[i], agg[i]])), atol=1e-14)


def test_accepts_pyg_like_data(gen):
    x, edge_index, batch = _random_graph(gen)
    model = GNN(3, 2, hidden=8, pool="sum").double()
    data = SimpleNamespace(x=x, edge_index=edge_index, edge_attr=None, batch=batch)
    assert torch.equal(model(data), model(x, edge_index, batch=batch))
    assert torch.allclose(global_pool(x, batch, "sum"), torch.stack([x[batch == g].sum(0) for g in range(3)]))


def test_pyg_data_when_installed(gen):
    tg = pytest.importorskip("torch_geometric")
    x, edge_index, batch = _random_graph(gen)
    data = tg.data.Data(x=x, edge_index=edge_index)
    model = GNN(3, 2, hidden=8).double()
    assert torch.equal(model(data), model(x, edge_index))


def test_graph_bad_input():
    x = torch.randn(4, 3)
    model = GNN(3, 2, hidden=8, edge_features=1)
    with pytest.raises(ValueError, match="edge_index refers to node 7, but the graph has 4 nodes"):
        model(x, torch.tensor([[0, 7], [1, 2]]), torch.randn(2, 1))
    with pytest.raises(ValueError, match="edge_index refers to node -1"):
        model(x, torch.tensor([[0, -1], [1, 2]]), torch.randn(2, 1))
    with pytest.raises(ValueError, match=r"shape \[2, E\].*transposed"):
        model(x, torch.tensor([[0, 1], [1, 2], [2, 3]]), torch.randn(3, 1))
    with pytest.raises(ValueError, match="long tensor"):
        model(x, torch.tensor([[0.0, 1.0], [1.0, 2.0]]), torch.randn(2, 1))
    with pytest.raises(ValueError, match="batch has 3 entries but there are 4 nodes"):
        model(x, torch.tensor([[0], [1]]), torch.randn(1, 1), batch=torch.tensor([0, 0, 1]))
    with pytest.raises(ValueError, match="empty graph"):
        model(torch.randn(0, 3), torch.zeros(2, 0, dtype=torch.long), torch.randn(0, 1))
    with pytest.raises(ValueError, match=r"node features must have shape \[N, 3\]"):
        model(torch.randn(4, 5), torch.tensor([[0], [1]]), torch.randn(1, 1))
    with pytest.raises(ValueError, match="expects edge_attr"):
        model(x, torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match="one row per edge"):
        check_graph(x, torch.tensor([[0], [1]]), edge_attr=torch.randn(3, 1))
    with pytest.raises(ValueError, match="radius must be positive"):
        radius_graph(x, 0.0)
    with pytest.raises(ValueError, match="pos must be a float tensor"):
        knn_graph(torch.randn(4), 2)


def test_gnn_state_dict_round_trip(gen):
    x, edge_index, batch = _random_graph(gen, dtype=torch.float32)
    model = GNN(3, 2, hidden=8)
    other = reload_state_dict(model, GNN(3, 2, hidden=8))
    assert torch.equal(model(x, edge_index), other(x, edge_index))


def test_gnn_compiles_without_graph_breaks(gen):
    x, edge_index, batch = _random_graph(gen, dtype=torch.float32)
    model = GNN(3, 2, hidden=8, pool="mean")
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    assert torch.allclose(compiled(x, edge_index, batch=batch, num_graphs=3), model(x, edge_index, batch=batch),
                          atol=1e-6)
