import importlib.util
import io

import pytest
import torch

from symmetries.nn import FullyConnectedTensorProduct, TensorProduct
from symmetries.o3 import Irreps
from symmetries.testing import assert_equivariant

IN1, IN2 = Irreps("3x0e + 2x1o + 2x2e + 1x1e"), Irreps("0e + 1o + 2e")


def channelwise(irreps_in1=IN1, irreps_in2=IN2, **kw):
    """uvu paths from every block of in1 to an output block of the same multiplicity."""
    out, ins = [], []
    for i1, (mul, ir1) in enumerate(irreps_in1):
        for i2, (_, ir2) in enumerate(irreps_in2):
            for ir in ir1 * ir2:
                ins.append((i1, i2, len(out), "uvu", True))
                out.append((mul, ir))
    return TensorProduct(irreps_in1, irreps_in2, out, ins, **kw)


def _pair(irreps1, irreps2, n, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return irreps1.randn(n, -1, generator=g, dtype=dtype), irreps2.randn(n, -1, generator=g, dtype=dtype)


def _equivariance(tp, dtype, weight=None):
    joint = tp.irreps_in1 + tp.irreps_in2
    d1 = tp.irreps_in1.dim
    x = joint.randn(6, -1, generator=torch.Generator().manual_seed(5), dtype=dtype)
    f = lambda z: tp(z[:, :d1], z[:, d1:], weight)  # noqa: E731
    assert_equivariant(f, joint.rep, tp.irreps_out.rep, x, n_samples=24)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fully_connected_equivariant(dtype):
    tp = FullyConnectedTensorProduct(IN1, IN2, "2x0e + 2x0o + 3x1o + 2x1e + 2x2e + 1x3o").to(dtype)
    _equivariance(tp, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_channelwise_per_sample_weights_equivariant(dtype):
    tp = channelwise(shared_weights=False)
    w = torch.randn(6, tp.weight_numel, dtype=dtype)
    _equivariance(tp, dtype, w)


def test_feature_times_feature_with_multiplicity():
    """Second input with multiplicities > 1 (e.g. features x features, species one-hots)."""
    tp = FullyConnectedTensorProduct("2x0e + 2x1o", "3x0e + 2x1o", "2x0e + 3x1o + 2x1e + 1x2e")
    _equivariance(tp.double(), torch.float64)


def test_uvu_output_multiplicity_must_match():
    with pytest.raises(ValueError, match="mul_out == mul1"):
        TensorProduct("2x1o", "1o", "3x0e", [(0, 0, 0, "uvu", True)])


@pytest.mark.parametrize("path", [(0, 0, 0), (1, 0, 0)])
def test_selection_rules_are_enforced(path):
    # 1o x 1o -> 1o breaks parity; 2e x 0e -> 0e breaks the triangle rule
    with pytest.raises(ValueError, match="selection rules"):
        TensorProduct("1x1o + 1x2e", "1x1o" if path[0] == 0 else "0e", "1x1o" if path[0] == 0 else "0e",
                      [path + ("uvw", True)])


def test_bad_instructions_and_inputs():
    with pytest.raises(ValueError, match="i_out=3"):
        TensorProduct("1o", "1o", "0e", [(0, 0, 3, "uvw", True)])
    with pytest.raises(ValueError, match="connection mode"):
        TensorProduct("1o", "1o", "0e", [(0, 0, 0, "uuw", True)])
    tp = FullyConnectedTensorProduct("2x1o", "1o", "0e")
    with pytest.raises(ValueError, match="last dimension of 6"):
        tp(torch.randn(4, 5), torch.randn(4, 3))
    with pytest.raises(ValueError, match="x2 has shape"):
        tp(torch.randn(4, 6), torch.randn(4, 4))
    with pytest.raises(ValueError, match=r"weight must have shape \(2,\)"):
        tp(torch.randn(4, 6), torch.randn(4, 3), torch.randn(3))
    ps = channelwise(shared_weights=False)
    with pytest.raises(ValueError, match="no internal weights"):
        ps(*_pair(IN1, IN2, 2, torch.float32))


def test_broadcasting_leading_dimensions():
    tp = FullyConnectedTensorProduct(IN1, IN2, "2x1o + 1x0e")
    x1, x2 = _pair(IN1, IN2, 5, torch.float32)
    out = tp(x1[:, None], x2[None, :4])
    assert out.shape == (5, 4, tp.irreps_out.dim)
    assert torch.allclose(out[2, 3], tp(x1[2], x2[3]), atol=1e-5)


def test_gradcheck_float64():
    tp = channelwise(Irreps("2x0e + 1x1o + 1x2e"), shared_weights=False)
    x1, x2 = _pair(tp.irreps_in1, tp.irreps_in2, 2, torch.float64)
    w = torch.randn(2, tp.weight_numel, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(tp, (x1.requires_grad_(), x2.requires_grad_(), w))
    fc = FullyConnectedTensorProduct("2x0e + 1x1o", "0e + 1o", "1x0e + 2x1o").double()
    x1, x2 = _pair(fc.irreps_in1, fc.irreps_in2, 2, torch.float64)
    assert torch.autograd.gradcheck(lambda a, b, w: fc(a, b, w), (x1.requires_grad_(), x2.requires_grad_(),
                                    fc.weight.detach().clone().requires_grad_()))


def test_state_dict_round_trip_weights_only():
    tp = FullyConnectedTensorProduct(IN1, IN2, "2x0e + 2x1o")
    buf = io.BytesIO()
    torch.save(tp.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    assert list(state) == ["weight"]
    other = FullyConnectedTensorProduct(IN1, IN2, "2x0e + 2x1o")
    other.load_state_dict(state)
    x1, x2 = _pair(IN1, IN2, 4, torch.float32)
    assert torch.equal(other(x1, x2), tp(x1, x2))
    tp.eval()
    assert list(tp.state_dict()) == list(state)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["uvu", "uvw"])
def test_torch_compile_matches_eager(mode):
    small1, small2 = Irreps("4x0e + 4x1o"), Irreps("0e + 1o")
    if mode == "uvu":
        tp = channelwise(small1, small2, shared_weights=False)
    else:  # per-sample weights: batched products on views of the weights, traced
        tp = FullyConnectedTensorProduct(small1, small2, small1, shared_weights=False)
    x1, x2 = _pair(small1, small2, 16, torch.float32)
    w = torch.randn(16, tp.weight_numel)
    compiled = torch.compile(tp)
    assert torch.allclose(compiled(x1, x2, w), tp(x1, x2, w), atol=1e-5)
    leaves = [t.clone().requires_grad_() for t in (x1, x2, w)]
    grads = torch.autograd.grad(compiled(*leaves).square().sum(), leaves)
    expected = torch.autograd.grad(tp(*leaves).square().sum(), leaves)
    assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(grads, expected))
    if mode == "uvu" and importlib.util.find_spec("numba") is not None:  # outside the graph: a graph break
        assert torch.equal(compiled(x1, x2, w, kernel="numba"), tp(x1, x2, w, kernel="numba"))


# ------------------------------------------------------------------ e3nn cross-checks
def test_cross_check_fully_connected(e3nn_o3):
    ours = FullyConnectedTensorProduct(IN1, "2x0e + 1o + 2e", "2x0e + 3x1o + 2x2e + 1x1e")
    theirs = e3nn_o3.FullyConnectedTensorProduct(IN1, "2x0e + 1o + 2e", "2x0e + 3x1o + 2x2e + 1x1e")
    assert [tuple(i[:4]) for i in ours.instructions] == [tuple(i[:4]) for i in theirs.instructions]
    assert ours.weight_numel == theirs.weight_numel
    x1, x2 = _pair(ours.irreps_in1, ours.irreps_in2, 8, torch.float64)
    w = torch.randn(ours.weight_numel, dtype=torch.float64)
    assert (ours(x1, x2, w) - theirs(x1, x2, w)).abs().max() < 1e-12


def test_cross_check_channelwise_and_mixed(e3nn_o3):
    ours = channelwise(shared_weights=False)
    ins = [tuple(i[:5]) for i in ours.instructions]
    theirs = e3nn_o3.TensorProduct(IN1, IN2, ours.irreps_out, ins, shared_weights=False, internal_weights=False)
    x1, x2 = _pair(IN1, IN2, 8, torch.float64)
    w = torch.randn(8, ours.weight_numel, dtype=torch.float64)
    assert (ours(x1, x2, w) - theirs(x1, x2, w)).abs().max() < 1e-12
    ins = [(0, 0, 0, "uvu", True), (1, 1, 1, "uvu", True, 0.3), (1, 0, 2, "uvw", True), (1, 1, 2, "uvw", True, 2.0)]
    args = ("3x0e + 2x1o", "2x0e + 2x1e", "3x0e + 2x1o + 4x1o", ins)
    ours, theirs = TensorProduct(*args, in1_var=[1.0, 2.0]), e3nn_o3.TensorProduct(*args, in1_var=[1.0, 2.0])
    x1, x2 = _pair(Irreps(args[0]), Irreps(args[1]), 8, torch.float64)
    w = torch.randn(ours.weight_numel, dtype=torch.float64)
    assert (ours(x1, x2, w) - theirs(x1, x2, w)).abs().max() < 1e-12


# ------------------------------------------------------------------ kernels
def _kernel(monkeypatch, kernel):
    """The ``kernel=`` that runs a channel-wise product on ``kernel``: ``'torch'`` (sparse
    multiply-adds on the CPU), or ``'numba'`` with its table-driven loops (``'numba'``) or the
    loops generated for the plan (``'generated'``), whatever the batch."""
    if kernel == "torch":
        return kernel
    pytest.importorskip("numba")
    import symmetries.nn.o3.tensor_product.kernels._generated as generated

    monkeypatch.setattr(generated, "MIN_BATCH", 0 if kernel == "generated" else 10 ** 9)
    return "numba"


def _batched(monkeypatch, tp):
    """``tp`` (one channel-wise group) through the batched-product kernel, which ``kernel='torch'``
    runs off the CPU: here on the CPU, over several chunks, one of them partial."""
    import symmetries.nn.o3.tensor_product.kernels._torch as torch_kernels
    from symmetries.nn.o3.tensor_product.kernels._dense import irreps_layout

    monkeypatch.setattr(torch_kernels, "CHUNK", 3)
    ((plan,),) = [g.plan for g in tp._groups if g.kind == "channelwise"]
    dims = [d3 for _, d3, _, _, _ in plan.outs]

    def product(x1, x2, w):
        return irreps_layout(torch_kernels.ChannelwiseProduct.apply(x1, w, x2 @ tp._cg0.to(x2.dtype), plan), dims)

    return product


def _channelwise_kernel(monkeypatch, tp, kernel):
    """``tp`` as a function of ``(x1, x2, w)`` run on ``kernel`` (see :func:`_kernel`, or ``'batched'``)."""
    if kernel == "batched":
        return _batched(monkeypatch, tp)
    name = _kernel(monkeypatch, kernel)
    return lambda x1, x2, w: tp(x1, x2, w, kernel=name)


KERNELS = ["numba", "generated", "torch", "batched"]


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("shared", [False, True])
def test_channelwise_kernels_and_gradients_match_e3nn(e3nn_o3, monkeypatch, shared, kernel):
    """Every channel-wise kernel against e3nn, values and gradients."""
    ours = channelwise(Irreps("2x0e + 2x1o + 2x2e"), shared_weights=shared)
    ins = [tuple(i[:5]) for i in ours.instructions]
    theirs = e3nn_o3.TensorProduct(ours.irreps_in1, ours.irreps_in2, ours.irreps_out, ins, shared_weights=shared,
                                   internal_weights=False)
    x1, x2 = _pair(ours.irreps_in1, ours.irreps_in2, 8, torch.float64)
    w = torch.randn(*(() if shared else (8,)), ours.weight_numel, dtype=torch.float64)
    assert [kind for kind, _ in ours.kernels_for(x1, x2, w)] == ["channelwise"], "a layout for those kernels"
    grads = []
    for f in (_channelwise_kernel(monkeypatch, ours, kernel), theirs):
        leaves = [t.clone().requires_grad_() for t in (x1, x2, w)]
        out = f(*leaves)
        grads.append([out] + list(torch.autograd.grad(out.pow(3).sum(), leaves)))
    for a, b in zip(*grads):
        assert (a - b).abs().max() < 1e-11


def _mixed_product(shared, **kwargs):
    """Channel-wise paths that skip an input block and share an output block with a 'uvw'
    group, so the plan's weights are not one consecutive range and its output is summed."""
    ins = [(0, 0, 0, "uvu"), (0, 1, 1, "uvu"), (1, 0, 2, "uvw"), (2, 1, 2, "uvu"), (2, 2, 1, "uvu", True, 0.5),
           (2, 0, 1, "uvu")]
    return TensorProduct("4x0e + 3x1e + 4x1o", "0e + 1o + 1e", "4x0e + 4x1o + 4x1e", ins, shared_weights=shared,
                         **kwargs)


@pytest.mark.parametrize("compiled", ["numba", "generated"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("shared", [False, True])
def test_compiled_cpu_kernel_matches_pytorch_kernel(monkeypatch, shared, dtype, compiled):
    """The numba loops (both groups) against the PyTorch kernels on a mixed layout, over a
    batch that is no multiple of the loops' tile (8) and split over threads: values and
    gradients."""
    tp = _mixed_product(shared).to(dtype)
    n = 203
    x1, x2 = _pair(tp.irreps_in1, tp.irreps_in2, n, dtype)
    w = torch.randn(*(() if shared else (n,)), tp.weight_numel, dtype=dtype)
    results = []
    for kernel in (compiled, "torch"):
        kernel = _kernel(monkeypatch, kernel)
        assert tp.kernels_for(x1, x2, w, kernel=kernel) == [("channelwise", kernel), ("uvw", kernel)]
        leaves = [t.clone().requires_grad_() for t in (x1, x2, w)]
        out = tp(*leaves, kernel=kernel)
        results.append([out] + list(torch.autograd.grad(out.pow(3).sum(), leaves)))
    tol = 1e-12 if dtype == torch.float64 else 1e-3
    for a, b in zip(*results):
        assert (a - b).abs().max() <= tol * max(1.0, float(b.detach().abs().max()))


def test_empty_batch_and_extra_leading_dimensions():
    """A graph without edges gives empty outputs and gradients, not an error."""
    tp = channelwise(shared_weights=False)
    fc = FullyConnectedTensorProduct(IN1, "3x0e", "2x0e + 2x1o")
    x1 = torch.zeros(0, IN1.dim, requires_grad=True)
    w = torch.zeros(0, tp.weight_numel, requires_grad=True)
    out = tp(x1, torch.zeros(0, IN2.dim), w)
    out.sum().backward()
    assert out.shape == (0, tp.irreps_out.dim) and x1.grad.shape == x1.shape and w.grad.shape == w.shape
    assert fc(torch.zeros(0, IN1.dim), torch.zeros(0, 3)).shape == (0, fc.irreps_out.dim)
    x1, x2 = _pair(IN1, IN2, 6, torch.float64)
    w = torch.randn(6, tp.weight_numel, dtype=torch.float64)
    out = tp(x1.view(2, 3, -1), x2.view(2, 3, -1), w.view(2, 3, -1))
    assert torch.allclose(out.view(6, -1), tp(x1, x2, w), atol=1e-14)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("shared", [False, True])
def test_second_derivatives(kernel, shared, monkeypatch):
    """Training on forces differentiates the product twice: every channel-wise kernel must
    give exact second derivatives (gradgradcheck in float64), not only first ones."""
    ins = [(0, 0, 0, "uvu"), (0, 1, 1, "uvu"), (1, 0, 1, "uvu"), (1, 1, 0, "uvu")]
    tp = TensorProduct("2x0e+2x1o", "0e+1o", "2x0e+2x1o", ins, shared_weights=shared).double()
    f = _channelwise_kernel(monkeypatch, tp, kernel)
    gen = torch.Generator().manual_seed(0)
    x1 = torch.randn(3, 8, dtype=torch.float64, generator=gen).requires_grad_()
    x2 = torch.randn(3, 4, dtype=torch.float64, generator=gen).requires_grad_()
    if shared:
        assert torch.autograd.gradgradcheck(lambda a, b: f(a, b, tp.weight), (x1, x2))
    else:
        w = torch.randn(3, tp.weight_numel, dtype=torch.float64, generator=gen).requires_grad_()
        assert torch.autograd.gradgradcheck(f, (x1, x2, w))


def _fully_connected_products():
    return [FullyConnectedTensorProduct("3x0e + 2x1o + 2x2e", "2x0e + 1o + 2e", "2x0e + 3x1o + 1x1e + 2x2e"),
            _mixed_product(True)]


def _loops_against_batched_products(tp, inputs, dtype):
    """``tp``'s values and gradients (of ``inputs`` and of its internal weights) through the
    numba loops (the ones generated for its 'uvw' groups, at any batch) against the PyTorch
    kernels (batched products for those groups)."""
    results = []
    for kernel in ("numba", "torch"):
        tp.zero_grad(set_to_none=True)
        leaves = [t.clone().requires_grad_() for t in inputs]
        out = tp(*leaves, kernel=kernel)
        wrt = leaves + ([tp.weight] if tp.weight is not None else [])
        results.append([out] + list(torch.autograd.grad(out.pow(3).sum(), wrt)))
    tol = 1e-12 if dtype == torch.float64 else 1e-4
    for a, b in zip(*results):
        assert (a - b).abs().max() <= tol * max(1.0, float(b.detach().abs().max()))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("which", [0, 1])
def test_fully_connected_generated_rows_match_batched_products(monkeypatch, which, dtype):
    """'uvw' groups with shared weights: the 3j contraction as loops generated for the group
    (every batch size here, in chunks of 16 samples, the last one partial) against the batched
    products, values and gradients of the inputs and weights, with several copies of a
    second-input irrep (v > 1)."""
    pytest.importorskip("numba")
    import symmetries.nn.o3.tensor_product.kernels._rows as rows

    monkeypatch.setattr(rows, "CHUNK", 16)

    tp = _fully_connected_products()[which].to(dtype)
    n = 77
    x1, x2 = _pair(tp.irreps_in1, tp.irreps_in2, n, dtype)
    _loops_against_batched_products(tp, (x1, x2), dtype)


def test_fully_connected_generated_rows_second_derivatives(monkeypatch):
    """Force training differentiates a 'uvw' product twice: exact through the generated rows."""
    pytest.importorskip("numba")
    import symmetries.nn.o3.tensor_product.kernels._rows as rows

    monkeypatch.setattr(rows, "CHUNK", 2)
    tp = _fully_connected_products()[0].double()
    x1, x2 = _pair(tp.irreps_in1, tp.irreps_in2, 3, torch.float64)
    w = tp.weight.detach().clone()
    inputs = [t.clone().requires_grad_() for t in (x1, x2, w)]
    assert torch.autograd.gradgradcheck(lambda a, b, c: tp(a, b, c, kernel="numba"), inputs)


def _per_sample_products():
    """'uvw' products with per-sample weights: several groups (output multiplicities 2, 3, 1),
    a second-input irrep with two copies (v > 1), and 'uvw' beside 'uvu' paths that skip input
    blocks (so neither every input component nor every weight belongs to the 'uvw' group)."""
    return [FullyConnectedTensorProduct("3x0e + 2x1o + 2x2e", "2x0e + 1o + 2e", "2x0e + 3x1o + 1x1e + 2x2e",
                                        shared_weights=False),
            _mixed_product(False)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("which", [0, 1])
def test_fully_connected_per_sample_loops_match_batched_products(which, dtype):
    """'uvw' groups with per-sample weights: the loops generated for the group (weights read
    once per sample) against the batched products on views of the weights, values and the
    gradients of both inputs and the weights."""
    pytest.importorskip("numba")
    tp = _per_sample_products()[which].to(dtype)
    n = 37
    x1, x2 = _pair(tp.irreps_in1, tp.irreps_in2, n, dtype)
    w = torch.randn(n, tp.weight_numel, generator=torch.Generator().manual_seed(1), dtype=dtype)
    _loops_against_batched_products(tp, (x1, x2, w), dtype)


def test_fully_connected_per_sample_loops_second_derivatives():
    """A potential differentiates its per-edge 'uvw' convolution twice: exact through the loops."""
    pytest.importorskip("numba")
    tp = _per_sample_products()[0].double()
    x1, x2 = _pair(tp.irreps_in1, tp.irreps_in2, 3, torch.float64)
    w = torch.randn(3, tp.weight_numel, dtype=torch.float64)
    inputs = [t.clone().requires_grad_() for t in (x1, x2, w)]
    assert torch.autograd.gradgradcheck(lambda a, b, c: tp(a, b, c, kernel="numba"), inputs)


def test_fully_connected_per_sample_loops_match_e3nn(e3nn_o3):
    """At a batch where kernel='auto' runs the generated loops: e3nn 0.6's
    FullyConnectedTensorProduct with per-sample weights, the same weights, to float64 rounding;
    gradients against ours through the batched products."""
    pytest.importorskip("numba")
    from symmetries.nn.o3.tensor_product.kernels._generated import MIN_BATCH

    irreps, sh = "4x0e + 3x1o + 2x2e", "0e + 1o + 2e"
    ours = FullyConnectedTensorProduct(irreps, sh, irreps, shared_weights=False).double()
    theirs = e3nn_o3.FullyConnectedTensorProduct(irreps, sh, irreps, shared_weights=False).double()
    n = MIN_BATCH
    x1, x2 = _pair(ours.irreps_in1, ours.irreps_in2, n, torch.float64)
    w = torch.randn(n, ours.weight_numel, dtype=torch.float64)
    assert ours.kernels_for(x1, x2, w) == [("uvw", "numba")] * 3  # output multiplicities 4, 3, 2
    leaves = [t.clone().requires_grad_() for t in (x1, x2, w)]
    out = ours(*leaves)
    ref = theirs(x1, x2, w)
    assert (out - ref).abs().max() <= 1e-12 * float(ref.abs().max())
    grads = torch.autograd.grad(out.pow(2).sum(), leaves)
    slow = [t.clone().requires_grad_() for t in (x1, x2, w)]
    expected = torch.autograd.grad(ours(*slow, kernel="torch").pow(2).sum(), slow)
    for a, b in zip(grads, expected):
        assert (a - b).abs().max() <= 1e-12 * max(1.0, float(b.abs().max()))


@pytest.mark.parametrize("kernel", ["numba", "generated"])
def test_gradient_of_second_input_components_no_path_reads_is_zero(monkeypatch, kernel):
    """Where no path reads the second input's last block, its gradient is exactly zero (the
    compiled loops write it; an uninitialized buffer would leak garbage)."""
    kernel = _kernel(monkeypatch, kernel)
    ins = [(0, 0, 0, "uvu"), (0, 1, 1, "uvu"), (1, 1, 0, "uvu"), (1, 0, 1, "uvu")]
    tp = TensorProduct("4x0e + 4x1o", "0e + 1o + 2e", "4x0e + 4x1o", ins, shared_weights=False).double()
    x1, x2 = _pair(tp.irreps_in1, tp.irreps_in2, 300, torch.float64)
    x2 = x2.requires_grad_()
    w = torch.randn(300, tp.weight_numel, dtype=torch.float64)
    (g,) = torch.autograd.grad(tp(x1, x2, w, kernel=kernel).pow(2).sum(), x2)
    assert g[:, 4:].abs().max() == 0 and g[:, :4].abs().min() > 0


def test_large_plans_and_small_batches_keep_the_table_driven_loops(monkeypatch):
    """Loops are generated only where they repay their compilation: a large enough batch and
    a plan of at most MAX_TERMS 3j terms (LLVM's time grows faster than the code)."""
    pytest.importorskip("numba")
    import symmetries.nn.o3.tensor_product.kernels._generated as generated
    from symmetries.nn.o3.tensor_product.kernels import _numba as loops

    ((plan,),) = [g.plan for g in channelwise(Irreps("2x0e + 2x1o + 2x2e"), shared_weights=False)._groups]
    assert loops._loops(plan, generated.MIN_BATCH - 1) == (loops._forward, loops._backward)
    assert loops._loops(plan, generated.MIN_BATCH) == generated.kernels(plan)
    monkeypatch.setattr(generated, "MAX_TERMS", len(plan.terms) - 1)
    assert loops._loops(plan, 10 ** 6) == (loops._forward, loops._backward)


# ------------------------------------------------------------------ the kernel registry
def _numba_installed(monkeypatch, installed: bool):
    """Stand in for the registry's check of whether numba is installed (other packages as they are)."""
    from symmetries._internal import compiled

    real = compiled.installed
    monkeypatch.setattr(compiled, "installed", lambda package: installed if package == "numba" else real(package))


def _one_group_products():
    """A channel-wise and a fully connected product of ``2x0e + 2x1o + 2x2e`` and ``IN2``, one group each."""
    irreps = Irreps("2x0e + 2x1o + 2x2e")
    return channelwise(irreps, shared_weights=False), FullyConnectedTensorProduct(irreps, IN2, "2x0e + 2x1o")


def test_auto_takes_numba_on_the_cpu_where_installed_and_worth_it(monkeypatch):
    """On the CPU with numba: the channel-wise loops at any batch, the generated 'uvw' loops
    from MIN_BATCH samples and up to MAX_TERMS terms; PyTorch otherwise and without numba."""
    from symmetries.nn.o3.tensor_product.kernels import select
    from symmetries.nn.o3.tensor_product.kernels._generated import MAX_TERMS, MIN_BATCH

    cw, fc = _one_group_products()
    small, large = _pair(cw.irreps_in1, IN2, 8, torch.float32), _pair(cw.irreps_in1, IN2, MIN_BATCH, torch.float32)
    w = torch.randn(8, cw.weight_numel)
    _numba_installed(monkeypatch, True)
    assert cw.kernels_for(*small, w) == [("channelwise", "numba")]
    assert fc.kernels_for(*small) == [("uvw", "torch")] and fc.kernels_for(*large) == [("uvw", "numba")]
    assert fc.kernels_for(small[0][:, None], large[1][None, :128]) == [("uvw", "numba")]  # broadcast: 8 x 128
    assert cw.kernels_for(*(x.half() for x in small), w.half()) == [("channelwise", "torch")]
    x = torch.zeros(1)
    assert select("auto", "uvw", x, MIN_BATCH, MAX_TERMS).name == "numba"
    assert select("auto", "uvw", x, MIN_BATCH, MAX_TERMS + 1).name == "torch"
    assert select("auto", "uvu", x, MIN_BATCH, 1).name == "torch"
    _numba_installed(monkeypatch, False)
    assert cw.kernels_for(*small, w) == [("channelwise", "torch")]
    assert fc.kernels_for(*large) == [("uvw", "torch")]
    # what forward runs: the PyTorch kernels, to the bit
    assert torch.equal(cw(*small, w), cw(*small, w, kernel="torch"))
    assert torch.equal(fc(*large), fc(*large, kernel="torch"))


def test_a_kernel_asked_for_by_name_runs_or_raises(monkeypatch):
    """An explicit kernel never falls back: it raises, naming what was asked, why it cannot run
    and the kernels that can."""
    cw, fc = _one_group_products()
    x1, x2 = _pair(cw.irreps_in1, IN2, 4, torch.float32)
    w = torch.randn(4, cw.weight_numel)
    _numba_installed(monkeypatch, True)
    with pytest.raises(RuntimeError, match=r"kernel='triton' cannot run here: it needs CUDA float32/float64 inputs "
                                           r"and triton installed, and the input is on cpu; kernels that can run "
                                           r"these channel-wise 'uvu' paths .* here: 'numba', 'torch'"):
        cw(x1, x2, w, kernel="triton")
    with pytest.raises(RuntimeError, match=r"kernel='numba' cannot run here: .* the input is torch.float16"):
        cw(x1.half(), x2.half(), w.half(), kernel="numba")
    _numba_installed(monkeypatch, False)
    with pytest.raises(RuntimeError, match=r"kernel='numba' cannot run here: it needs CPU float32/float64 inputs and "
                                           r"numba installed, and numba is not installed; .* here: 'torch'"):
        cw(x1, x2, w, kernel="numba")
    with pytest.raises(RuntimeError, match="numba is not installed"):
        FullyConnectedTensorProduct(cw.irreps_in1, IN2, "2x0e + 2x1o", kernel="numba")(x1, x2)
    with pytest.raises(RuntimeError, match="numba is not installed"):
        fc.kernels_for(x1, x2, kernel="numba")
    no_triton = r"kernel='triton' has no loops for fully connected 'uvw' paths, .* kernels for them: 'numba', 'torch'"
    with pytest.raises(ValueError, match=no_triton):
        FullyConnectedTensorProduct(IN1, IN2, "2x0e + 2x1o", kernel="triton")
    with pytest.raises(ValueError, match=no_triton):
        fc(x1, x2, kernel="triton")
    with pytest.raises(ValueError, match=r"kernel='numba' has no loops for 'uvu' paths with a second input of "
                                         r"multiplicity > 1 .* kernels for them: 'torch'"):
        channelwise(Irreps("3x0e + 2x1o"), Irreps("2x0e + 1o"), kernel="numba")
    with pytest.raises(ValueError, match="kernel must be one of 'auto', 'torch', 'numba', 'triton', got 'cuda'"):
        channelwise(kernel="cuda")
    with pytest.raises(ValueError, match="got 'gpu'"):
        cw(x1, x2, w, kernel="gpu")


@pytest.mark.parametrize("kernel", ["torch", "numba"])
def test_kernel_per_call_equals_the_constructor_choice(monkeypatch, kernel):
    """``forward(kernel=)`` runs what the constructor's ``kernel=`` runs, to the bit, and overrides
    it (``'auto'`` undoes a constructor's choice); the choice is no part of the state_dict."""
    if kernel == "numba":
        pytest.importorskip("numba")
    default, chosen = _mixed_product(True), _mixed_product(True, kernel=kernel)
    assert list(chosen.state_dict()) == list(default.state_dict()) == ["weight"]
    chosen.load_state_dict(default.state_dict())
    x1, x2 = _pair(default.irreps_in1, default.irreps_in2, 11, torch.float64)
    default, chosen = default.double(), chosen.double()
    assert chosen.kernels_for(x1, x2) == [("channelwise", kernel), ("uvw", kernel)]
    assert torch.equal(default(x1, x2, kernel=kernel), chosen(x1, x2))
    assert torch.equal(chosen(x1, x2, kernel="auto"), default(x1, x2))
    assert f"kernel={kernel!r}" in repr(chosen) and "kernel=" not in repr(default)
    _numba_installed(monkeypatch, False)  # the call's choice wins over the constructor's
    with pytest.raises(RuntimeError, match="numba is not installed"):
        chosen(x1, x2, kernel="numba")
    assert torch.equal(_mixed_product(True, kernel="numba").double()(x1, x2, chosen.weight, kernel="torch"),
                       default(x1, x2, chosen.weight, kernel="torch"))
