"""TFN, SE(3)-Transformer and SEGNN: E(3) and permutation equivariance, batching, attention,
steered linear maps, bad input, save / load and compile."""

import pytest
import torch

import symmetries as sym
from symmetries.models import SEGNN, TFN, SE3Transformer
from symmetries.nn.o3 import SteerableLinear
from symmetries.models._se3_transformer import head_index, segment_softmax
from symmetries.nn import fully_connected_graph, radius_graph
from symmetries.o3 import Irreps

IN, OUT = Irreps("2x0e + 1x1o"), Irreps("1x1o + 1x0e + 1x2e")

MODELS = {
    "tfn": lambda: TFN(IN, OUT, channels=8, l_max=2, layers=2, num_edge_scalars=1),
    "se3t": lambda: SE3Transformer(IN, OUT, channels=8, l_max=2, layers=2, heads=2, num_edge_scalars=1),
    "segnn": lambda: SEGNN(IN, "8x0e + 8x1o + 4x2e", OUT, l_attr=2, layers=2, num_edge_scalars=1),
}


def _graph(gen, n=9, dtype=torch.float64):
    x = IN.randn(n, generator=gen, dtype=dtype)
    pos = 1.5 * torch.randn(n, 3, generator=gen, dtype=dtype)
    edge_index = radius_graph(pos, 3.0)  # not complete: a real neighbourhood structure
    scalars = torch.randn(edge_index.shape[1], 1, generator=gen, dtype=dtype)
    return x, pos, edge_index, scalars


def _model_and_graph(name, gen, dtype=torch.float64):
    """A seeded model of ``name``, a graph, and the model's output on it."""
    torch.manual_seed(0)
    model = MODELS[name]().to(dtype)
    x, pos, edge_index, s = _graph(gen, dtype=dtype)
    return model, (x, pos, edge_index, s), model(x, pos, edge_index, edge_scalars=s)


def _o3(gen, n):
    return sym.groups.O3().sample(n, generator=gen).to(torch.float64)


@pytest.mark.parametrize("name", list(MODELS))
def test_e3_equivariance_float64(name, gen):
    model, (x, pos, edge_index, s), y = _model_and_graph(name, gen)
    assert y.shape == (9, OUT.dim) and y.abs().mean() > 1e-3
    for R in _o3(gen, 12):
        t = torch.randn(3, generator=gen, dtype=torch.float64)
        moved = model(x @ IN.D_from_matrix(R).T, pos @ R.T + t, edge_index, edge_scalars=s)
        assert (moved - y @ OUT.D_from_matrix(R).T).abs().max() <= 1e-10 * max(1.0, float(y.abs().max()))
    assert any(float(torch.det(R)) < 0 for R in _o3(torch.Generator().manual_seed(0), 12))  # reflections too


@pytest.mark.parametrize("name", list(MODELS))
def test_e3_equivariance_float32(name, gen):
    model, (x, pos, edge_index, s), y = _model_and_graph(name, gen, torch.float32)
    for R in _o3(gen, 4):
        R = R.float()
        moved = model(x @ IN.D_from_matrix(R).T, pos @ R.T, edge_index, edge_scalars=s)
        assert (moved - y @ OUT.D_from_matrix(R).T).abs().max() <= 1e-4 * float(y.abs().max())


@pytest.mark.parametrize("name", list(MODELS))
def test_permutation_equivariance(name, gen):
    model, (x, pos, edge_index, s), y = _model_and_graph(name, gen)
    perm = torch.randperm(9, generator=gen)
    inverse = torch.argsort(perm)  # node k of the permuted graph is node perm[k]
    out = model(x[perm], pos[perm], inverse[edge_index], edge_scalars=s)
    assert (out - y[perm]).abs().max() <= 1e-10 * max(1.0, float(y.abs().max()))
    edge_order = torch.randperm(edge_index.shape[1], generator=gen)  # the order of the edges does not matter
    out = model(x, pos, edge_index[:, edge_order], edge_scalars=s[edge_order])
    assert (out - y).abs().max() <= 1e-10 * max(1.0, float(y.abs().max()))


@pytest.mark.parametrize("name", list(MODELS))
def test_batched_graphs_match_one_at_a_time(name, gen):
    torch.manual_seed(0)
    model = MODELS[name]().double()
    sizes = (3, 6, 2)
    graphs = [(IN.randn(k, generator=gen, dtype=torch.float64), torch.randn(k, 3, generator=gen, dtype=torch.float64))
              for k in sizes]
    batch = torch.arange(len(sizes)).repeat_interleave(torch.tensor(sizes))
    edge_index = fully_connected_graph(batch)
    s = torch.randn(edge_index.shape[1], 1, generator=gen, dtype=torch.float64)
    together = model(torch.cat([g[0] for g in graphs]), torch.cat([g[1] for g in graphs]), batch=batch, edge_scalars=s)
    start, alone = 0, []
    for (x, pos), k in zip(graphs, sizes):
        ei = fully_connected_graph(k)
        # the complete graph of the batch lists each graph's edges in the same order, sorted by target
        mine = ((edge_index[1] >= start) & (edge_index[1] < start + k))
        alone.append(model(x, pos, ei, edge_scalars=s[mine]))
        start += k
    assert torch.allclose(together, torch.cat(alone), atol=1e-12)


def test_attention_weights_are_a_softmax_over_each_target(gen):
    logits = torch.randn(11, 3, generator=gen, dtype=torch.float64) * 30  # large: the max shift must hold
    index = torch.tensor([0, 2, 2, 0, 1, 2, 0, 2, 1, 0, 2])
    alpha = segment_softmax(logits, index, 4)
    for k in range(3):
        rows = index == k
        assert torch.allclose(alpha[rows], torch.softmax(logits[rows], 0), atol=1e-14)
    assert head_index(Irreps("4x0e + 2x1o"), 2).tolist() == [0, 0, 1, 1] + [0] * 3 + [1] * 3
    with pytest.raises(ValueError, match=r"divisible by heads=2.*3x1o"):
        head_index(Irreps("4x0e + 3x1o"), 2)
    with pytest.raises(ValueError, match="divisible by heads=3"):
        SE3Transformer(IN, OUT, channels=8, heads=3)


def test_steerable_linear_bias_sits_on_even_scalars_only(gen):
    lin = SteerableLinear("3x0e + 2x1o", "2x0e + 1x0o + 2x1o", "0e + 1o").double()
    torch.nn.init.normal_(lin.bias)
    a = Irreps("0e + 1o").randn(5, generator=gen, dtype=torch.float64)
    out = lin(torch.zeros(5, Irreps("3x0e + 2x1o").dim, dtype=torch.float64), a)
    assert torch.equal(out[:, :2], lin.bias.expand(5, 2)) and not out[:, 2:].any()
    x = Irreps("3x0e + 2x1o").randn(5, generator=gen, dtype=torch.float64)
    for R in _o3(gen, 6):
        moved = lin(x @ Irreps("3x0e + 2x1o").D_from_matrix(R).T, a @ Irreps("0e + 1o").D_from_matrix(R).T)
        assert torch.allclose(moved, lin(x, a) @ Irreps("2x0e + 1x0o + 2x1o").D_from_matrix(R).T, atol=1e-12)


def test_steerable_linear_is_the_tensor_product_with_rescaled_weights(gen):
    lin = SteerableLinear("3x0e + 2x1o", "4x0e + 2x1o", "0e + 1o").double()
    tp = sym.nn.FullyConnectedTensorProduct("3x0e + 2x1o", "0e + 1o", "4x0e + 2x1o").double()
    # fan-in of each output: 0e <- 3x0e (x) 0e and 2x1o (x) 1o: 5; 1o <- 3x0e (x) 1o and 2x1o (x) 0e: 5
    assert torch.allclose(lin.tp._fan_in_scale, torch.full_like(lin.tp._fan_in_scale, 5 ** -0.5))
    assert float(lin.tp.weight.std()) < 0.7  # stored at the scale of the fan-in, not N(0, 1)
    with torch.no_grad():
        tp.weight.copy_(lin.tp.weight * 5 ** 0.5)
    x, a = Irreps("3x0e + 2x1o").randn(6, generator=gen, dtype=torch.float64), Irreps("0e + 1o").randn(6, generator=gen, dtype=torch.float64)
    assert torch.allclose(lin(x, a), tp(x, a), atol=1e-12)  # bias is zero at initialization


def test_segnn_node_attributes_default_to_the_mean_of_the_edges(gen):
    model, (x, pos, edge_index, s), y = _model_and_graph("segnn", gen)
    attr = sym.nn.scatter(model.attributes(pos[edge_index[0]] - pos[edge_index[1]]), edge_index[1], dim_size=9,
                          reduce="mean")
    attr[:, 0] = 1.0  # the 0e attribute is 1, not the mean of the edges' Y^0
    assert torch.equal(y, model(x, pos, edge_index, edge_scalars=s, node_attr=attr))
    assert not torch.allclose(model(x, pos, edge_index, edge_scalars=s, node_attr=2 * attr), y)
    vel = torch.randn(9, 3, generator=gen, dtype=torch.float64)  # node vectors join the degrees >= 1
    with_vel = attr + torch.cat([torch.zeros(9, 1, dtype=torch.float64), model.attributes(vel)[:, 1:]], 1)
    assert torch.allclose(model(x, pos, edge_index, edge_scalars=s, node_vectors=vel),
                          model(x, pos, edge_index, edge_scalars=s, node_attr=with_vel), atol=1e-12)
    with pytest.raises(ValueError, match=r"node_vectors must have shape \[N=9, 3\]"):
        model(x, pos, edge_index, edge_scalars=s, node_vectors=vel[:4])


@pytest.mark.parametrize("name", list(MODELS))
def test_bad_input(name, gen):
    model = MODELS[name]().double()
    x, pos, edge_index, s = _graph(gen)
    with pytest.raises(ValueError, match=r"last dimension of 5"):
        model(x[:, :4], pos, edge_index, edge_scalars=s)
    with pytest.raises(ValueError, match=r"positions must have shape \[N, 3\]"):
        model(x, pos[:, :2], edge_index, edge_scalars=s)
    with pytest.raises(ValueError, match=r"edge_scalars \[E, 1\], got None"):
        model(x, pos, edge_index)
    with pytest.raises(ValueError, match=r"edge_scalars must have shape \[E, 1\]"):
        model(x, pos, edge_index, edge_scalars=torch.cat([s, s], 1))
    with pytest.raises(ValueError, match="refers to node 9"):
        model(x, pos, torch.cat([edge_index, torch.tensor([[9], [0]])], 1), edge_scalars=torch.cat([s, s[:1]]))
    with pytest.raises(ValueError, match=r"shape \[2, E\]"):
        model(x, pos, edge_index.T.contiguous(), edge_scalars=s)
    with pytest.raises(ValueError, match="empty graph"):
        model(x[:0], pos[:0], edge_index[:, :0], edge_scalars=s[:0])
    with pytest.raises(ValueError, match="at least one layer"):
        type(model)(IN, OUT, layers=0) if name != "segnn" else SEGNN(IN, "4x0e", OUT, layers=0)
    if name == "segnn":
        with pytest.raises(ValueError, match=r"node_attr must have shape \[N=9, 9\]"):
            model(x, pos, edge_index, edge_scalars=s, node_attr=torch.zeros(9, 4, dtype=torch.float64))


@pytest.mark.parametrize("name", list(MODELS))
def test_state_dict_round_trip(name, gen, tmp_path):
    model, (x, pos, edge_index, s), y = _model_and_graph(name, gen)
    torch.save(model.state_dict(), tmp_path / "m.pt")
    torch.manual_seed(1)
    other = MODELS[name]().double()
    assert not torch.allclose(other(x, pos, edge_index, edge_scalars=s), y)
    other.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    assert torch.equal(other(x, pos, edge_index, edge_scalars=s), y)


# one layer up to l = 1: every kind of operation of the full models, in a graph inductor
# compiles in a fraction of the time (compile time grows with the number of operations)
COMPILED = {
    "tfn": lambda: TFN(IN, OUT, channels=4, l_max=1, layers=1, num_edge_scalars=1),
    "se3t": lambda: SE3Transformer(IN, OUT, channels=4, l_max=1, layers=1, heads=2, num_edge_scalars=1),
    "segnn": lambda: SEGNN(IN, "4x0e + 4x1o", OUT, l_attr=1, layers=1, num_edge_scalars=1),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(COMPILED))
def test_torch_compile(name, gen):
    torch.manual_seed(0)
    model = COMPILED[name]()
    x, pos, edge_index, s = _graph(gen, dtype=torch.float32)
    eager = model(x, pos, edge_index, edge_scalars=s)
    out = torch.compile(model)(x, pos, edge_index, edge_scalars=s)
    assert out.abs().max() > 1e-3 and torch.allclose(out, eager, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.cuda
@pytest.mark.parametrize("name", list(MODELS))
def test_cuda_matches_cpu(name, gen):
    model, (x, pos, edge_index, s), cpu = _model_and_graph(name, gen)
    gpu = model.cuda()(x.cuda(), pos.cuda(), edge_index.cuda(), edge_scalars=s.cuda())
    assert torch.allclose(gpu.cpu(), cpu, atol=1e-10)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("pool", ["sum", "mean", "max"])
def test_pooled_read_out_is_an_invariant_graph_classifier(name, pool, gen):
    """Two graphs in one batch pooled to [2, C]: E(3)-invariant, and invariant to relabelling
    the nodes of each graph."""
    scalars = Irreps("3x0e")
    make = {"tfn": lambda: TFN(IN, scalars, channels=4, l_max=1, layers=1, pool=pool),
            "se3t": lambda: SE3Transformer(IN, scalars, channels=4, l_max=1, layers=1, pool=pool),
            "segnn": lambda: SEGNN(IN, "4x0e + 4x1o", scalars, l_attr=1, layers=1, pool=pool)}[name]
    torch.manual_seed(0)
    model = make().double()
    x = IN.randn(10, generator=gen, dtype=torch.float64)
    pos = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    batch = torch.tensor([0] * 4 + [1] * 6)
    with torch.no_grad():
        y = model(x, pos, None, batch)
    assert y.shape == (2, 3)
    R = sym.groups.O3().sample(1, generator=gen)[0]
    moved = model(x @ IN.D_from_matrix(R).T, pos @ R.T + 1.0, None, batch)
    assert (moved - y).abs().max() <= 1e-10 * float(y.abs().max())
    perm = torch.cat([torch.randperm(4, generator=gen), 4 + torch.randperm(6, generator=gen)])
    assert (model(x[perm], pos[perm], None, batch) - y).abs().max() <= 1e-10 * float(y.abs().max())
    assert not torch.allclose(y[0], y[1])


def test_max_pooling_needs_invariant_outputs():
    with pytest.raises(ValueError, match=r"pool='max' is equivariant only for invariant scalar outputs \(0e\)"):
        TFN(IN, OUT, pool="max")
    with pytest.raises(ValueError, match="pool must be one of"):
        SEGNN(IN, "4x0e", "1x0e", pool="median")
