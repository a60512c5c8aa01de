import math

import pytest
import torch

import symmetries as sym
from symmetries.o3 import Irreps, spherical_harmonics
from symmetries.testing import assert_equivariant

LS = list(range(9))


def _vectors(n, seed=0, dtype=torch.float64):
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_equivariance_with_parity(dtype):
    irreps = Irreps.spherical_harmonics(6)
    f = lambda x: spherical_harmonics(irreps, x, normalize=True, normalization="component")  # noqa: E731
    assert_equivariant(f, sym.reps.standard(sym.groups.O3()), irreps.rep, _vectors(20, dtype=dtype), n_samples=32)


def test_normalizations_closed_forms():
    x = _vectors(50)
    y = spherical_harmonics(LS, x, normalize=True, normalization="component")
    off = 0
    for l in LS:
        block = y[:, off:off + 2 * l + 1]
        assert torch.allclose(block.pow(2).sum(-1), torch.full((50,), 2.0 * l + 1, dtype=torch.float64), rtol=1e-12)
        off += 2 * l + 1
    assert torch.allclose(spherical_harmonics(LS, x, True, "norm") * torch.cat(
        [torch.full((2 * l + 1,), math.sqrt(2 * l + 1)) for l in LS]).double(), y, atol=1e-12)
    assert torch.allclose(spherical_harmonics(LS, x, True, "integral") * math.sqrt(4 * math.pi), y, atol=1e-12)
    # polynomial form: Y(x) = |x|^l Y(x/|x|)
    raw = spherical_harmonics(5, x, normalize=False, normalization="component")
    assert torch.allclose(raw, spherical_harmonics(5, x, True, "component") * x.norm(dim=-1, keepdim=True) ** 5, rtol=1e-12)


def test_polar_axis_is_y_and_low_degrees():
    ey = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64)
    for l in range(13):
        y = spherical_harmonics(l, ey, True, "component")[0]
        expected = torch.zeros(2 * l + 1, dtype=torch.float64)
        expected[l] = math.sqrt(2 * l + 1)
        assert torch.allclose(y, expected, atol=1e-12), l
    x = _vectors(10)
    u = x / x.norm(dim=-1, keepdim=True)
    assert torch.allclose(spherical_harmonics(1, x, True, "component"), math.sqrt(3) * u, atol=1e-14)
    Y2 = spherical_harmonics(2, u, False, "component")
    assert torch.allclose(Y2[:, 2], math.sqrt(5) * (u[:, 1] ** 2 - (u[:, 0] ** 2 + u[:, 2] ** 2) / 2), atol=1e-14)


def test_orthonormal_on_the_sphere_l12():
    # Lebedev-free check: Monte Carlo would be too loose, so use a product Gauss rule
    import numpy as np

    nodes, weights = np.polynomial.legendre.leggauss(30)
    phi = torch.arange(60, dtype=torch.float64) * (2 * math.pi / 60)
    ct = torch.from_numpy(nodes)
    st = (1 - ct ** 2).sqrt()
    x = torch.stack([st[:, None] * torch.cos(phi), ct[:, None].expand(30, 60), st[:, None] * torch.sin(phi)], -1).reshape(-1, 3)
    w = (torch.from_numpy(weights)[:, None] * (2 * math.pi / 60)).expand(30, 60).reshape(-1)
    Y = spherical_harmonics(list(range(13)), x, True, "integral")
    gram = Y.T @ (Y * w[:, None])
    assert (gram - torch.eye(gram.shape[0], dtype=torch.float64)).abs().max() < 1e-10


def test_bad_input():
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        spherical_harmonics(2, torch.zeros(4, 2), True)
    with pytest.raises(ValueError, match="normalization"):
        spherical_harmonics(2, torch.zeros(4, 3), True, "unit")
    with pytest.raises(ValueError, match="parity"):
        spherical_harmonics("1e + 2o", torch.zeros(4, 3), True)
    with pytest.raises(ValueError, match="ls must be"):
        spherical_harmonics([-1], torch.zeros(4, 3), True)
    with pytest.raises(TypeError, match="floating"):
        spherical_harmonics(1, torch.zeros(4, 3, dtype=torch.long), True)


def test_gradient_float64():
    x = _vectors(4).requires_grad_()
    assert torch.autograd.gradcheck(lambda v: spherical_harmonics([0, 2, 3], v, True, "component"), (x,))


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("normalization", ["component", "norm", "integral"])
def test_cross_check_e3nn(normalize, normalization):
    eo = pytest.importorskip("e3nn.o3")
    x = _vectors(100, seed=1)
    ours = spherical_harmonics(LS, x, normalize, normalization)
    theirs = eo.spherical_harmonics(LS, x, normalize, normalization)
    scale = theirs.abs().max(dim=0).values
    assert ((ours - theirs).abs().max(dim=0).values / scale).max() < 1e-10


@pytest.mark.parametrize("normalization", ["component", "norm", "integral"])
@pytest.mark.parametrize("ls", [[0], [1], [2, 0, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8], [5, 3]])
def test_compiled_loop_matches_pytorch(monkeypatch, ls, normalization):
    """With numba, the compiled loop against the PyTorch recurrence: values and gradients in
    float64 and float32, over a batch that is no multiple of the loop's tile, in threads."""
    pytest.importorskip("numba")
    import symmetries.o3._spherical_generated as generated
    import symmetries.o3._spherical_harmonics as module

    monkeypatch.setattr(generated, "MIN_BATCH", 10 ** 9)  # the table-driven loops
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-4)):
        x = torch.randn(301, 3, dtype=dtype, generator=torch.Generator().manual_seed(1))
        g = torch.randn(301, sum(2 * l + 1 for l in ls), dtype=dtype)
        results = []
        for compiled in (True, False):
            monkeypatch.setattr(module, "compiled_available", lambda v, c=compiled: c)
            leaf = x.clone().requires_grad_()
            y = spherical_harmonics(ls, leaf, True, normalization=normalization)
            grad = torch.autograd.grad(y, leaf, g)[0] if y.requires_grad else torch.zeros_like(x)  # Y^0 is constant
            results.append((y, grad))
        for a, b in zip(*results):
            assert (a - b).abs().max() <= tol * max(1.0, float(b.abs().max()))


@pytest.mark.parametrize("normalization", ["component", "integral"])
@pytest.mark.parametrize("ls", [[1], [2, 0, 2], [0, 1, 2, 3, 4, 5, 6], [5, 3]])
def test_generated_loops_match_pytorch(monkeypatch, ls, normalization):
    """The loops generated for a set of degrees (used for large batches) against the PyTorch
    recurrence, normalized or not, with a zero vector (norm clamped), in float64 and float32."""
    pytest.importorskip("numba")
    import symmetries.o3._spherical_generated as generated
    import symmetries.o3._spherical_harmonics as module

    monkeypatch.setattr(generated, "MIN_BATCH", 0)
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-4)):
        x = torch.randn(203, 3, dtype=dtype, generator=torch.Generator().manual_seed(3))
        x[7] = 0.0
        g = torch.randn(203, sum(2 * l + 1 for l in ls), dtype=dtype)
        for normalize in (True, False):
            results = []
            for compiled in (True, False):
                monkeypatch.setattr(module, "compiled_available", lambda v, c=compiled: c)
                leaf = x.clone().requires_grad_()
                y = spherical_harmonics(ls, leaf, normalize, normalization=normalization)
                results.append((y, torch.autograd.grad(y, leaf, g)[0]))
            for a, b in zip(*results):
                assert (a - b).abs().max() <= tol * max(1.0, float(b.abs().max()))


def test_generated_loops_only_where_they_repay_compilation():
    """Large batches of degrees up to MAX_L get generated loops; higher degrees (whose code
    compiles for minutes) and small batches keep the table-driven loops."""
    from symmetries.o3._spherical_generated import MAX_L, MIN_BATCH, worth_generating

    assert worth_generating((0, 1, MAX_L), MIN_BATCH)
    assert not worth_generating((0, 1, MAX_L), MIN_BATCH - 1)
    assert not worth_generating((MAX_L + 1,), 10 ** 6)


def test_compiled_loop_second_derivatives():
    """Forces in training differentiate the harmonics twice: exact through the compiled path."""
    pytest.importorskip("numba")
    x = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).requires_grad_()
    assert torch.autograd.gradgradcheck(lambda v: spherical_harmonics([0, 1, 2, 3], v, True), (x,))
    assert torch.autograd.gradgradcheck(lambda v: spherical_harmonics([2], v, False, normalization="norm"), (x,))
    # l = 0 alone is a constant: its gradient, and the gradient of that, are zero (no error)
    y = spherical_harmonics([0], x, True)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    assert torch.equal(g, torch.zeros_like(x))
