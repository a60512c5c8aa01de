"""Gauge groups U(1), SU(N) and local gauge transformations: axioms, Haar sampling, checks."""

import math

import pytest
import torch

import symmetries as sym

G = sym.groups
GAUGE = {"U1": G.U1(), "SU2": G.SU2(), "SU3": G.SU3(), "SU4": G.SU(4)}


@pytest.fixture(params=list(GAUGE), ids=list(GAUGE))
def gauge(request):
    return GAUGE[request.param]


def test_axioms_and_haar_unitarity(gauge, gen):
    N = gauge.N
    a, b, c = (gauge.sample(200, generator=gen) for _ in range(3))
    gauge.check(a)
    assert a.shape == (200, N, N) and a.dtype == torch.complex128
    eye = torch.eye(N, dtype=a.dtype)
    assert (a @ a.mH - eye).abs().max() < 1e-12
    if gauge.special:
        assert (torch.linalg.det(a) - 1).abs().max() < 1e-12
    e = gauge.identity()
    assert gauge.equal(gauge.compose(e, a), a).all() and gauge.equal(gauge.compose(a, e), a).all()
    assert gauge.equal(gauge.compose(a, gauge.inverse(a)), e.expand_as(a), 1e-12).all()
    assert gauge.equal(gauge.compose(gauge.compose(a, b), c), gauge.compose(a, gauge.compose(b, c)), 1e-12).all()
    gauge.check(gauge.compose(a, b))
    assert isinstance(gauge.describe(a[:1]), str)


def test_haar_moments(gen):
    # Haar: E[tr g] = 0, E[|tr g|^2] = 1 for SU(N), N >= 2, and for U(1)
    for gauge in (G.U1(), G.SU2(), G.SU3()):
        t = torch.diagonal(gauge.sample(20000, generator=gen), dim1=-2, dim2=-1).sum(-1)
        assert t.mean().abs() < 0.03, gauge
        assert abs((t.abs() ** 2).mean() - 1) < 0.05, gauge
    # SU(2): a0 = Re tr g / 2 has density (2/pi) sqrt(1 - a0^2), so E[a0^2] = 1/4
    a0 = torch.diagonal(G.SU2().sample(20000, generator=gen), dim1=-2, dim2=-1).sum(-1).real / 2
    assert abs((a0 ** 2).mean() - 0.25) < 0.01


def test_lie_generators_anti_hermitian_traceless():
    for N in (2, 3, 4):
        X = G.su_generators(N)
        assert X.shape == (N * N - 1, N, N)
        assert (X + X.mH).abs().max() < 1e-15
        assert torch.diagonal(X, dim1=-2, dim2=-1).sum(-1).abs().max() < 1e-15
        g = torch.linalg.matrix_exp(0.7 * X)
        G.SU(N).check(g)


def test_check_errors(gen):
    with pytest.raises(ValueError, match="complex"):
        G.SU2().check(torch.eye(2)[None])
    with pytest.raises(ValueError, match=r"\(n, 2, 2\), got \(1, 3, 3\)"):
        G.SU2().check(G.SU3().sample(1, generator=gen))
    with pytest.raises(ValueError, match="unitary"):
        G.SU2().check(1.01 * G.SU2().sample(3, generator=gen))
    with pytest.raises(ValueError, match="determinant 1"):
        G.SU2().check(1j * G.SU2().sample(3, generator=gen))
    with pytest.raises(ValueError, match="unknown gauge group"):
        G.gauge_group("SO3")
    assert G.gauge_group("su(2)") == G.SU2() == G.SU(2)
    assert G.gauge_group("U1") == G.U1() and G.gauge_group("SU3") == G.SU(3)


def test_project(gen):
    for gauge in (G.U1(), G.SU2(), G.SU3()):
        g = gauge.sample(10, generator=gen)
        noisy = g + 1e-3 * torch.randn(g.shape, dtype=g.dtype, generator=gen)
        p = gauge.project(noisy)
        gauge.check(p)
        assert (p - g).abs().max() < 1e-2
        assert (gauge.project(g) - g).abs().max() < 1e-12


def test_lattice_gauge(gen):
    lg = G.LatticeGauge("SU2", (4, 6))
    assert lg == G.LatticeGauge(G.SU2(), [4, 6]) and lg != G.LatticeGauge("U1", (4, 6))
    a, b, c = (lg.sample(3, generator=gen) for _ in range(3))
    assert a.shape == (3, 4, 6, 2, 2)
    lg.check(a)
    e = lg.identity()
    assert e.shape == (1, 4, 6, 2, 2)
    assert lg.equal(lg.compose(a, lg.inverse(a)), e.expand_as(a), 1e-12).all()
    assert lg.equal(lg.compose(lg.compose(a, b), c), lg.compose(a, lg.compose(b, c)), 1e-12).all()
    # site by site
    assert torch.allclose(lg.compose(a, b)[1, 2, 3], a[1, 2, 3] @ b[1, 2, 3])
    assert "local SU(2)" in lg.describe(a[:1]) and "identity" in lg.describe(e)
    with pytest.raises(ValueError, match=r"\(n, 4, 6, 2, 2\), got \(3, 4, 4, 2, 2\)"):
        lg.check(G.LatticeGauge("SU2", (4, 4)).sample(3, generator=gen))
    with pytest.raises(ValueError, match="unitary"):
        lg.check(2 * a)
    assert math.isclose(G.LatticeGauge("U1", (3, 5)).volume, 15)
