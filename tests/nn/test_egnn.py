"""EGNN: E(n) equivariance (rotations, reflections, translations), permutations, stability."""

from types import SimpleNamespace

import pytest
import torch

import symmetries as sym
from symmetries.groups import Euclidean
from symmetries.actions import GraphPermutation, PointCloudAction
from symmetries.groups import O, SO
from symmetries.nn import EGNN, EGNNLayer, fully_connected_graph, knn_graph
from symmetries.testing import reload_state_dict

OPTIONS = {
    "plain": {},
    "velocity": {"velocity": True},
    "stable": {"normalize": True, "tanh": True, "coords_range": 3.0, "clamp": 0.5, "attention": True,
               "aggr": "mean"},
}


def _graph(gen, sizes=(5, 4, 6), dim=3, features=2, edge_features=1, dtype=torch.float64):
    batch = torch.cat([torch.full((s,), i) for i, s in enumerate(sizes)])
    edge_index = fully_connected_graph(batch)
    n = len(batch)
    h = torch.randn(n, features, generator=gen).to(dtype)
    pos = torch.randn(n, dim, generator=gen).to(dtype)
    vel = torch.randn(n, dim, generator=gen).to(dtype)
    edge_attr = torch.randn(edge_index.shape[1], edge_features, generator=gen).to(dtype)
    return h, pos, edge_index, edge_attr, vel, batch


def _model(name, dim=3, layers=3, dtype=torch.float64):
    torch.manual_seed(0)
    model = EGNN(2, hidden=16, out_features=3, layers=layers, edge_features=1, dim=dim, **OPTIONS[name])
    # undo the tiny init so coordinate updates are not negligible in the test
    for layer in model.layers:
        torch.nn.init.normal_(layer.phi_x[-1].weight, std=0.3)
    return model.to(dtype)


def _call(model):
    def f(inputs):
        h, pos, edge_index, edge_attr, vel, batch = inputs
        return model(h, pos, edge_index, edge_attr, vel if model.velocity else None, batch)
    return f


LAYOUT_IN = ("scalar", "position", None, None, "vector", "batch")


@pytest.mark.parametrize("name", list(OPTIONS))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_egnn_is_e3_equivariant(name, dtype, gen):
    """Rotations, reflections and translations of E(3): h invariant, positions move along.
    The per-graph elements act one per graph of the batch (the batch vector picks them)."""
    model = _model(name, dtype=dtype)
    inputs = _graph(gen, dtype=dtype)
    E3 = Euclidean(3)
    act_in, act_out = PointCloudAction(E3, LAYOUT_IN), PointCloudAction(E3, ("scalar", "position"))
    report = sym.assert_equivariant(_call(model), act_in, act_out, inputs, n_samples=12, generator=gen)
    h, pos = _call(model)(inputs)
    assert (pos - inputs[1]).abs().max() > 1e-2  # coordinates really moved
    if dtype == torch.float64:
        assert report.max_rel_error <= 1e-10
    # per-graph elements: three different elements for the three graphs
    g = E3.sample(3, generator=gen)
    moved = _call(model)(act_in.act(g, inputs))
    expected = PointCloudAction(E3, ("scalar", "position", "batch")).act(g, (h, pos, inputs[-1]))
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    assert torch.allclose(moved[1], expected[1], atol=tol) and torch.allclose(moved[0], expected[0], atol=tol)


def test_egnn_reflections_and_translations_separately(gen):
    model = _model("velocity")
    inputs = _graph(gen)
    h, pos = _call(model)(inputs)
    # a reflection (det -1) alone
    R = torch.diag(torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64))
    moved = list(inputs)
    moved[1], moved[4] = inputs[1] @ R.T, inputs[4] @ R.T
    h2, pos2 = _call(model)(moved)
    assert torch.allclose(h2, h, atol=1e-12) and torch.allclose(pos2, pos @ R.T, atol=1e-12)
    # a translation alone: velocities do not translate
    t = torch.tensor([3.0, -2.0, 10.0], dtype=torch.float64)
    moved = list(inputs)
    moved[1] = inputs[1] + t
    h3, pos3 = _call(model)(moved)
    assert torch.allclose(h3, h, atol=1e-10) and torch.allclose(pos3, pos + t, atol=1e-10)


@pytest.mark.parametrize("dim,group", [(2, O(2)), (5, SO(5))])
def test_egnn_other_dimensions(dim, group, gen):
    model = _model("plain", dim=dim)
    inputs = _graph(gen, dim=dim)
    act_in = PointCloudAction(group, LAYOUT_IN)
    sym.assert_equivariant(_call(model), act_in, PointCloudAction(group, ("scalar", "position")), inputs,
                           n_samples=8, generator=gen)


def test_egnn_permutation_equivariant(gen):
    model = _model("velocity")
    inputs = _graph(gen)
    n = inputs[0].shape[0]
    act_in = GraphPermutation(n, ("node", "node", "edge_index", "edge", "node", "batch"))
    sym.assert_equivariant(_call(model), act_in, GraphPermutation(n, ("node", "node")), inputs, n_samples=8,
                           generator=gen)


def test_batched_equals_one_at_a_time_and_dense(gen):
    model = _model("velocity")
    h, pos, edge_index, edge_attr, vel, batch = _graph(gen, sizes=(4, 4, 4))
    out_h, out_pos = model(h, pos, edge_index, edge_attr, vel, batch)
    # no edge_index: the complete graph of each graph in the batch
    assert torch.equal(model(h, pos, None, edge_attr, vel, batch)[1], out_pos)
    for g in range(3):
        nodes = batch == g
        keep = nodes[edge_index[1]]
        hh, pp = model(h[nodes], pos[nodes], edge_index[:, keep] - 4 * g, edge_attr[keep], vel[nodes])
        assert torch.allclose(pp, out_pos[nodes], atol=1e-12) and torch.allclose(hh, out_h[nodes], atol=1e-12)
    # dense [B, M, ...] inputs with edge_attr [B, M, M, D] (entry [b, i, j] for j -> i)
    dense_attr = torch.zeros(3, 4, 4, 1, dtype=torch.float64)
    src, dst = edge_index
    dense_attr[batch[dst], dst % 4, src % 4] = edge_attr
    dh, dp = model(h.view(3, 4, 2), pos.view(3, 4, 3), edge_attr=dense_attr, vel=vel.view(3, 4, 3))
    assert torch.allclose(dp.reshape(-1, 3), out_pos, atol=1e-12)
    assert torch.allclose(dh.reshape(-1, 3), out_h, atol=1e-12)


def test_dense_path_compiles_without_graph_breaks(gen):
    """Dense inputs build their complete graphs from arange alone: no data-dependent shapes."""
    model = _model("velocity")
    h, pos, edge_index, edge_attr, vel, batch = _graph(gen, sizes=(4, 4, 4))
    dense_attr = torch.randn(3, 4, 4, 1, dtype=torch.float64, generator=gen)
    args = (h.view(3, 4, 2), pos.view(3, 4, 3))
    eager = model(*args, edge_attr=dense_attr, vel=vel.view(3, 4, 3))
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    out = compiled(*args, edge_attr=dense_attr, vel=vel.view(3, 4, 3))
    assert torch.allclose(out[0], eager[0], atol=1e-12) and torch.allclose(out[1], eager[1], atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.cuda
def test_dense_path_captures_in_a_cuda_graph(gen):
    model = _model("velocity").cuda()
    h, pos, _, _, vel, _ = (t.cuda() if torch.is_tensor(t) else t for t in _graph(gen, sizes=(4, 4, 4)))
    inputs = (h.view(3, 4, 2), pos.view(3, 4, 3), None, None, vel.view(3, 4, 3))
    eager = model(*inputs)
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        model(*inputs)  # warm up outside the capture
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = model(*inputs)
    graph.replay()
    assert torch.allclose(captured[1], eager[1], atol=1e-12)


def test_layer_matches_equations(gen):
    """One layer against the paper's equations written out node by node (sum over j != i, C = 1/(M-1))."""
    torch.manual_seed(0)
    layer = EGNNLayer(2, hidden=8, velocity=True).double()
    torch.nn.init.normal_(layer.phi_x[-1].weight)
    h = torch.randn(4, 2, dtype=torch.float64, generator=gen)
    x = torch.randn(4, 3, dtype=torch.float64, generator=gen)
    v = torch.randn(4, 3, dtype=torch.float64, generator=gen)
    h_out, x_out = layer(h, x, fully_connected_graph(4), vel=v)
    for i in range(4):
        m = {j: layer.phi_e(torch.cat([h[i], h[j], ((x[i] - x[j]) ** 2).sum()[None]])) for j in range(4) if j != i}
        upd = sum((x[i] - x[j]) * layer.phi_x(m[j]) for j in m) / 3
        x_ref = x[i] + layer.phi_v(h[i]) * v[i] + upd
        h_ref = h[i] + layer.phi_h(torch.cat([h[i], sum(m.values())]))
        assert torch.allclose(x_out[i], x_ref, atol=1e-12) and torch.allclose(h_out[i], h_ref, atol=1e-12)


def test_tiny_init():
    layer = EGNNLayer(8, hidden=16)
    w = layer.phi_x[-1].weight
    assert layer.phi_x[-1].bias is None
    assert w.abs().max() <= 0.001 * (6 / (16 + 1)) ** 0.5 + 1e-9  # Xavier-uniform bound with gain 0.001


@pytest.mark.parametrize("options", [{}, {"normalize": True, "tanh": True, "aggr": "mean", "clamp": 1.0}])
def test_deep_and_large_graphs_stay_finite(options, gen):
    """8 layers on 1200 nodes (kNN graph, positions spread over 50 units), forward and backward."""
    torch.manual_seed(0)
    n = 1200
    pos = torch.randn(n, 3, generator=gen) * 50
    h = torch.randn(n, 4, generator=gen)
    edge_index = knn_graph(pos, 12)
    model = EGNN(4, hidden=16, out_features=1, layers=8, **options)
    pos = pos.requires_grad_()
    out_h, out_pos = model(h, pos, edge_index)
    (out_h.sum() + out_pos.pow(2).sum()).backward()
    assert torch.isfinite(out_h).all() and torch.isfinite(out_pos).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert torch.isfinite(pos.grad).all()


def test_coincident_points_have_finite_gradients():
    model = EGNN(1, hidden=8, layers=2, normalize=True)
    pos = torch.zeros(3, 3, requires_grad=True)
    _, out = model(torch.ones(3, 1), pos)
    out.sum().backward()
    assert torch.isfinite(pos.grad).all()


def test_compile_and_state_dict(gen):
    model = _model("velocity", dtype=torch.float32)
    h, pos, edge_index, edge_attr, vel, batch = _graph(gen, dtype=torch.float32)
    compiled = torch.compile(model, backend="eager", fullgraph=True)  # no graph breaks: value checks skip
    ref = model(h, pos, edge_index, edge_attr, vel)
    out = compiled(h, pos, edge_index, edge_attr, vel)
    assert torch.allclose(out[1], ref[1], atol=1e-5) and torch.allclose(out[0], ref[0], atol=1e-5)
    other = reload_state_dict(model, EGNN(2, hidden=16, out_features=3, layers=3, edge_features=1, dim=3,
                                          velocity=True))
    assert torch.equal(other(h, pos, edge_index, edge_attr, vel)[1], ref[1])
    assert set(model.train().state_dict()) == set(model.eval().state_dict())


@pytest.mark.slow
def test_inductor_compile(gen):
    model = _model("plain", dtype=torch.float32)
    h, pos, edge_index, edge_attr, _, _ = _graph(gen, dtype=torch.float32)
    compiled = torch.compile(model)
    assert torch.allclose(compiled(h, pos, edge_index, edge_attr)[1], model(h, pos, edge_index, edge_attr)[1],
                          atol=1e-5)


def test_accepts_pyg_like_data(gen):
    model = _model("velocity")
    h, pos, edge_index, edge_attr, vel, batch = _graph(gen)
    data = SimpleNamespace(x=h, pos=pos, edge_index=edge_index, edge_attr=edge_attr, vel=vel, batch=batch)
    assert torch.equal(model(data)[1], model(h, pos, edge_index, edge_attr, vel, batch)[1])


def test_egnn_bad_input(gen):
    model = EGNN(2, hidden=8, layers=2, edge_features=1, dim=3, velocity=True)
    h, pos, edge_index, edge_attr, vel, batch = _graph(gen, dtype=torch.float32)
    with pytest.raises(ValueError, match="3 coordinates"):
        model(h, pos[:, :2], edge_index, edge_attr, vel[:, :2])
    with pytest.raises(ValueError, match=r"positions must have shape \[N=15, d\]"):
        model(h, pos[:5], edge_index, edge_attr, vel)
    with pytest.raises(ValueError, match="edge_index refers to node 99"):
        bad = edge_index.clone()
        bad[0, 0] = 99
        model(h, pos, bad, edge_attr, vel)
    with pytest.raises(ValueError, match=r"shape \[2, E\]"):
        model(h, pos, edge_index.T.contiguous(), edge_attr, vel)
    with pytest.raises(ValueError, match="batch has 14 entries but there are 15 nodes"):
        model(h, pos, edge_index, edge_attr, vel, batch[:-1])
    with pytest.raises(ValueError, match="velocity=True: pass vel"):
        model(h, pos, edge_index, edge_attr)
    with pytest.raises(ValueError, match="velocities must have the shape"):
        model(h, pos, edge_index, edge_attr, vel[:, :2])
    with pytest.raises(ValueError, match="expects edge_attr"):
        model(h, pos, edge_index, None, vel)
    with pytest.raises(ValueError, match="empty graph"):
        model(h[:0], pos[:0], torch.zeros(2, 0, dtype=torch.long), edge_attr[:0], vel[:0])
    with pytest.raises(ValueError, match=r"node features must have shape \[N, 2\]"):
        model(h[:, :1], pos, edge_index, edge_attr, vel)
    with pytest.raises(ValueError, match="needs positions"):
        model(h)
    with pytest.raises(ValueError, match="coord_aggr"):
        EGNNLayer(4, coord_aggr="max")


@pytest.mark.parametrize("pool", ["sum", "mean", "max"])
def test_pooled_egnn_is_an_invariant_graph_classifier(pool, gen):
    """Sparse (two graphs in one batch) and dense: [num_graphs, C] logits, unchanged by
    rotations, reflections, translations and relabelling the nodes of each graph."""
    torch.manual_seed(0)
    model = EGNN(2, hidden=8, out_features=3, layers=2, pool=pool).double()
    h = torch.randn(9, 2, generator=gen, dtype=torch.float64)
    pos = torch.randn(9, 3, generator=gen, dtype=torch.float64)
    batch = torch.tensor([0] * 4 + [1] * 5)
    y, _ = model(h, pos, batch=batch)
    assert y.shape == (2, 3) and not torch.allclose(y[0], y[1])
    Q = sym.groups.O3().sample(1, generator=gen)[0]
    perm = torch.cat([torch.randperm(4, generator=gen), 4 + torch.randperm(5, generator=gen)])
    moved, _ = model(h[perm], pos[perm] @ Q.T + 1.0, batch=batch)
    assert (moved - y).abs().max() <= 1e-10 * float(y.abs().max())
    dense, _ = model(h[:8].reshape(2, 4, 2), pos[:8].reshape(2, 4, 3))
    sparse, _ = model(h[:8], pos[:8], batch=torch.tensor([0] * 4 + [1] * 4))
    assert dense.shape == (2, 3) and torch.allclose(dense, sparse, atol=1e-12)
    with pytest.raises(ValueError, match="pool must be one of"):
        EGNN(2, pool="min")


def test_dense_errors_name_the_shape_that_was_passed(gen):
    model = EGNN(4, hidden=8, layers=1, edge_features=1).double()
    pos = torch.randn(2, 5, 3, dtype=torch.float64)
    pairs = torch.randn(2, 5, 5, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"dense node features must have shape \[B=2, M=5, 4\], got \(2, 5, 3\)"):
        model(torch.randn(2, 5, 3, dtype=torch.float64), pos, edge_attr=pairs)
    with pytest.raises(ValueError, match=r"dense edge_attr must have shape \[B=2, M=5, M=5, 1\], got \(2, 5, 5, 2\)"):
        model(torch.randn(2, 5, 4, dtype=torch.float64), pos, edge_attr=torch.randn(2, 5, 5, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"expects dense edge_attr \[B=2, M=5, M=5, 1\], got None"):
        model(torch.randn(2, 5, 4, dtype=torch.float64), pos)
