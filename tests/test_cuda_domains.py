"""CUDA: every domain's representative module gives the CPU's answer on the GPU and stays
equivariant there, in float64 and float32. Skipped where no GPU is present."""

import importlib.util

import pytest
import torch

import symmetries as sym
from symmetries.reps import standard, trivial

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]
G = sym.groups


def _same_on_gpu(model, inputs, atol=1e-10):
    cpu = model(*inputs)
    gpu_model = model.cuda()
    gpu = gpu_model(*[t.cuda() if torch.is_tensor(t) else t for t in inputs])
    assert torch.allclose(gpu.cpu(), cpu, atol=atol), float((gpu.cpu() - cpu).abs().max())
    return gpu_model


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_emlp_cuda(dtype):
    group = G.O3()
    V = standard(group)
    rep_in, rep_out = V + V**2, trivial(group) + V
    model = sym.nn.EMLP(rep_in, rep_out, hidden=48, depth=2).to(dtype)
    x = torch.randn(16, rep_in.dim, dtype=dtype)
    gpu_model = _same_on_gpu(model, (x,), atol=1e-10 if dtype == torch.float64 else 1e-4)
    sym.assert_equivariant(gpu_model, rep_in, rep_out, x.cuda(), n_samples=16)


def test_tensor_product_cuda():
    tp = sym.nn.FullyConnectedTensorProduct("8x0e + 8x1o + 4x2e", "0e + 1o + 2e", "8x0e + 8x1o + 4x2e").double()
    x1 = sym.o3.Irreps("8x0e + 8x1o + 4x2e").randn(32, -1, dtype=torch.float64)
    x2 = sym.o3.Irreps("0e + 1o + 2e").randn(32, -1, dtype=torch.float64)
    gpu = _same_on_gpu(tp, (x1, x2))
    a1, a2 = sym.o3.Irreps("8x0e + 8x1o + 4x2e").rep, sym.o3.Irreps("0e + 1o + 2e").rep
    act_in = sym.actions.as_action(a1)

    class Pair(sym.actions.Action):
        group = a1.group

        def act(self, g, x):
            return (a1.act(g, x[0]), a2.act(g, x[1]))

    sym.assert_equivariant(lambda x: gpu(*x), Pair(), act_in.rep, (x1.cuda(), x2.cuda()), n_samples=16)


def _values_and_gradients_match_cpu(module, inputs, dtype):
    """``module(*inputs)`` and the gradients of every input on the GPU equal the CPU's."""
    results = []
    for device in ("cpu", "cuda"):
        leaves = [t.to(device).requires_grad_() for t in inputs]
        out = module.to(device)(*leaves)
        results.append([out] + list(torch.autograd.grad(out.pow(2).sum(), leaves)))
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for cpu, gpu in zip(*results):
        assert (gpu.cpu() - cpu).abs().max() <= tol * max(1.0, float(cpu.detach().abs().max()))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fully_connected_per_sample_weights_cuda(dtype):
    """A point convolution's 'uvw' product (per-edge weights, batched products on views of the
    weights): values and gradients of both inputs and the weights equal the CPU's."""
    irreps, sh = sym.o3.Irreps("8x0e + 8x1o + 4x2e"), sym.o3.Irreps("0e + 1o + 2e")
    tp = sym.nn.FullyConnectedTensorProduct(irreps, sh, irreps, shared_weights=False).to(dtype)
    g = torch.Generator().manual_seed(0)
    inputs = [irreps.randn(64, -1, generator=g, dtype=dtype), sh.randn(64, -1, generator=g, dtype=dtype),
              torch.randn(64, tp.weight_numel, generator=g, dtype=dtype)]
    _values_and_gradients_match_cpu(tp, inputs, dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_unweighted_products_cuda(dtype):
    """FullTensorProduct (both contraction orders) and ElementwiseTensorProduct: values and
    gradients of both inputs on the GPU equal the CPU's."""
    g = torch.Generator().manual_seed(0)
    for tp in (sym.nn.FullTensorProduct("3x0e + 1x1o + 2x2e", "2x0e + 1x1o"),
               sym.nn.ElementwiseTensorProduct("3x0e + 2x1o", "2x1o + 3x0e")):
        inputs = [tp.irreps_in1.randn(16, -1, generator=g, dtype=dtype), tp.irreps_in2.randn(16, -1, generator=g, dtype=dtype)]
        _values_and_gradients_match_cpu(tp, inputs, dtype)


def test_egnn_cuda():
    from symmetries.groups import Euclidean
    from symmetries.actions import PointCloudAction

    torch.manual_seed(0)
    model = sym.nn.EGNN(2, hidden=16, out_features=3, layers=3).double()
    batch = torch.repeat_interleave(torch.arange(3), 5)
    edge_index = sym.nn.fully_connected_graph(batch)
    h, pos = torch.randn(15, 2, dtype=torch.float64), torch.randn(15, 3, dtype=torch.float64)
    cpu = model(h, pos, edge_index, batch=batch)
    gpu_model = model.cuda()
    gpu = gpu_model(h.cuda(), pos.cuda(), edge_index.cuda(), batch=batch.cuda())
    for a, b in zip(cpu, gpu):
        assert torch.allclose(a, b.cpu(), atol=1e-10)
    E3 = Euclidean(3)
    act_in = PointCloudAction(E3, ("scalar", "position", None, "batch"))
    act_out = PointCloudAction(E3, ("scalar", "position"))
    inputs = (h.cuda(), pos.cuda(), edge_index.cuda(), batch.cuda())
    sym.assert_equivariant(lambda x: gpu_model(x[0], x[1], x[2], batch=x[3]), act_in, act_out, inputs, n_samples=16)


def test_study_run_on_cuda(tmp_path):
    from symmetries.studies._study import run_study

    rows = run_study("o5-invariant", sizes=[30], methods=["plain", "equivariant"], seeds=[0], out=str(tmp_path),
                     device="cuda", progress=False, min_steps=20, max_steps=20, report=False)
    assert {r["method"] for r in rows} == {"plain", "equivariant"}
    eq = [r for r in rows if r["method"] == "equivariant"][0]
    assert eq["equivariance_max_rel"] < 1e-4 and eq["device"].startswith("cuda")


@pytest.mark.parametrize("kernel", ["triton", "torch"])
@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_channelwise_tensor_product_kernels_cuda(kernel, shared, dtype):
    """The generated Triton kernels and the PyTorch batched-product kernel give the CPU's values
    and gradients on the GPU (message-passing layout: per-edge weights, sh(l<=3))."""
    if kernel == "triton":
        pytest.importorskip("triton")
    irreps = sym.o3.Irreps("8x0e + 8x1o + 8x2e")
    sh = sym.o3.Irreps.spherical_harmonics(3)
    out, ins = [], []
    for i1, (mul, ir1) in enumerate(irreps):
        for i2, (_, ir2) in enumerate(sh):
            for ir in ir1 * ir2:
                if ir.l <= 3:
                    out += [] if (mul, ir) in out else [(mul, ir)]
                    ins.append((i1, i2, out.index((mul, ir)), "uvu", True))
    tp = sym.nn.TensorProduct(irreps, sh, out, ins, shared_weights=shared).to(dtype)
    n = 301
    gen = torch.Generator().manual_seed(0)
    x1, x2 = irreps.randn(n, -1, generator=gen, dtype=dtype), sh.randn(n, -1, generator=gen, dtype=dtype)
    w = torch.randn(*(() if shared else (n,)), tp.weight_numel, generator=gen, dtype=dtype)
    results = []
    for device in ("cpu", "cuda"):
        leaves = [t.to(device).requires_grad_() for t in (x1, x2, w)]
        on_device = "auto" if device == "cpu" else kernel
        assert tp.to(device).kernels_for(*leaves, kernel=on_device)[0][0] == "channelwise"
        y = tp(*leaves, kernel=on_device)
        results.append([y] + list(torch.autograd.grad(y.pow(2).sum(), leaves)))
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for cpu, gpu in zip(*results):
        assert (gpu.cpu() - cpu).abs().max() <= tol * max(1.0, float(cpu.abs().max()))


def test_tensor_product_kernel_choice_cuda():
    """On CUDA, kernel='auto' runs Triton (where installed) for channel-wise paths and PyTorch
    for fully connected ones; numba, a CPU kernel, raises there."""
    ins = [(0, 0, 0, "uvu"), (0, 1, 1, "uvu"), (1, 0, 1, "uvu"), (1, 1, 0, "uvu")]
    tp = sym.nn.TensorProduct("2x0e+2x1o", "0e+1o", "2x0e+2x1o", ins, shared_weights=False).cuda()
    fc = sym.nn.FullyConnectedTensorProduct("2x0e+2x1o", "0e+1o", "2x0e+2x1o").cuda()
    x1, x2 = torch.randn(4, 8, device="cuda"), torch.randn(4, 4, device="cuda")
    w = torch.randn(4, tp.weight_numel, device="cuda")
    expected = "triton" if importlib.util.find_spec("triton") is not None else "torch"
    assert tp.kernels_for(x1, x2, w) == [("channelwise", expected)]
    assert fc.kernels_for(x1, x2) == [("uvw", "torch")]
    with pytest.raises(RuntimeError, match="kernel='numba' cannot run here: .* the input is on cuda"):
        tp(x1, x2, w, kernel="numba")


def test_channelwise_tensor_product_second_derivative_cuda():
    """Forces in training differentiate twice: the Triton path falls back to the reference."""
    ins = [(0, 0, 0, "uvu"), (0, 1, 1, "uvu"), (1, 0, 1, "uvu"), (1, 1, 0, "uvu")]
    tp = sym.nn.TensorProduct("2x0e+2x1o", "0e+1o", "2x0e+2x1o", ins, shared_weights=False).double().cuda()
    gen = torch.Generator(device="cuda").manual_seed(0)
    args = [torch.randn(3, d, dtype=torch.float64, device="cuda", generator=gen).requires_grad_()
            for d in (8, 4, tp.weight_numel)]
    assert torch.autograd.gradgradcheck(tp, args)
