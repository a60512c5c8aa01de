"""Gauge transformations and translations of lattice gauge fields; gauge-invariant observables."""

import math

import pytest
import torch

import symmetries as sym

A, G = sym.actions, sym.groups


def random_links(gauge, shape, B, gen):
    n = B * len(shape) * math.prod(shape)
    return gauge.sample(n, generator=gen).reshape(B, len(shape), *shape, gauge.N, gauge.N)


CASES = {"U1-2D": (G.U1(), (4, 6)), "SU2-2D": (G.SU2(), (4, 4)), "SU3-2D": (G.SU3(), (3, 4)),
         "SU2-4D": (G.SU2(), (2, 3, 2, 2))}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request):
    return CASES[request.param]


def test_gauge_action_is_an_action(case, gen):
    gauge, shape = case
    lg = G.LatticeGauge(gauge, shape)
    act = A.GaugeAction(lg)
    U = random_links(gauge, shape, 2, gen)
    a, b = lg.sample(1, generator=gen), lg.sample(1, generator=gen)
    lhs = act(lg.compose(a, b), U)
    rhs = act(a, act(b, U))
    assert (lhs - rhs).abs().max() < 1e-12
    assert (act(lg.identity(), U) - U).abs().max() < 1e-15
    # the convention, at one site: U_mu(x) -> Omega(x) U_mu(x) Omega(x + mu)^dagger
    x, mu = (1, 2) if len(shape) == 2 else (1, 2, 0, 1), 1
    xp = list(x)
    xp[mu] = (xp[mu] + 1) % shape[mu]
    want = a[0][x] @ U[0, mu][x] @ a[0][tuple(xp)].mH
    assert (act(a, U)[0, mu][x] - want).abs().max() < 1e-12
    # per-sample elements
    g2 = lg.sample(2, generator=gen)
    moved = act(g2, U)
    assert (moved[1:] - act(g2[1:], U[1:])).abs().max() < 1e-14


def test_observables_gauge_invariant(case, gen):
    gauge, shape = case
    lg = G.LatticeGauge(gauge, shape)
    U = random_links(gauge, shape, 2, gen)
    real = torch.view_as_real
    checks = {
        "plaquette": lambda u: real(A.wilson_loops(u)),
        "2x1 loop": lambda u: real(A.wilson_loops(u, size=(2, 1))),
        "1x2 loop (1, 0)": lambda u: real(A.wilson_loops(u, size=(1, 2), planes=[(1, 0)])),
        "polyakov": lambda u: real(A.polyakov_loops(u, axis=1)),
    }
    for name, f in checks.items():
        report = sym.check_equivariance(f, A.GaugeAction(lg), A.invariant(), U, n_samples=8, generator=gen)
        assert report.max_rel_error <= 1e-10, (name, report)
    # plaquette matrices transform at their base point, as site fields
    report = sym.check_equivariance(A.plaquettes, A.GaugeAction(lg), A.GaugeAction(lg, "site"), U, n_samples=8,
                                    generator=gen)
    assert report.max_rel_error <= 1e-10, report
    # a gauge-covariant but non-invariant quantity fails the invariance check
    report = sym.check_equivariance(lambda u: real(u), A.GaugeAction(lg), A.invariant(), U, n_samples=4,
                                    generator=gen)
    assert report.max_rel_error > 0.1


def test_translation_equivariance(gen):
    shape = (4, 6)
    U = random_links(G.SU2(), shape, 3, gen)
    T = A.LatticeTranslation(shape)
    site = A.LatticeTranslation(shape, "site")
    for f in (A.plaquettes, lambda u: A.wilson_loops(u, size=(2, 3)), A.wilson_loop_matrices):
        report = sym.check_equivariance(f, T, site, U, n_samples=10, generator=gen)
        assert report.max_rel_error <= 1e-12, report
    poly = sym.check_equivariance(lambda u: torch.view_as_real(A.polyakov_loops(u, axis=0)).sum(1), T,
                                  A.invariant(), U, n_samples=10, generator=gen)
    assert poly.max_rel_error <= 1e-12
    # the convention: U'(x) = U(x - t)
    g = (torch.tensor([1]), torch.tensor([2]))
    assert torch.equal(T(g, U)[:, :, 1, 2], U[:, :, 0, 0])
    # per-sample translations and the combined product with gauge transformations
    g3 = T.group.sample(3, generator=gen)
    moved = T(g3, U)
    assert torch.equal(moved[2:], T(T.group.select(g3, 2), U[2:]))


def test_known_values(gen):
    # identity links: every loop traces to 1
    U = torch.eye(2, dtype=torch.complex128).expand(1, 2, 4, 4, 2, 2).clone()
    assert torch.allclose(A.wilson_loops(U, size=(2, 2)), torch.ones(1, 1, 4, 4, dtype=torch.complex128))
    # U(1): the a x b loop is exp(i times the sum of the enclosed plaquette angles)
    theta = torch.randn(1, 2, 6, 6, generator=gen, dtype=torch.float64) * 0.3
    U = torch.polar(torch.ones_like(theta), theta)[..., None, None]
    p = torch.angle(A.plaquettes(U)[0, 0, ..., 0, 0])
    w = A.wilson_loops(U, size=(2, 3))[0, 0]
    enclosed = sum(torch.roll(p, (-i, -j), (0, 1)) for i in range(2) for j in range(3))
    assert torch.allclose(w, torch.polar(torch.ones_like(enclosed), enclosed))
    # Polyakov loop of constant links U0 = exp(i phi): exp(i L phi)
    U = torch.polar(torch.ones(1, 2, 5, 3, 1, 1, dtype=torch.float64), torch.full((1, 2, 5, 3, 1, 1), 0.2,
                                                                                   dtype=torch.float64))
    assert A.polyakov_loops(U).shape == (1, 3)
    assert torch.allclose(A.polyakov_loops(U), torch.full((1, 3), complex(math.cos(1.0), math.sin(1.0)),
                                                           dtype=torch.complex128))


def test_topological_charge_integer(gen):
    L = 6
    # random fields: Q is an integer
    U = random_links(G.U1(), (L, L), 20, gen)
    q = A.topological_charge(U)
    assert q.shape == (20,)
    assert (q - q.round()).abs().max() < 1e-10
    assert q.abs().max() >= 1  # random fields carry charge
    # a smooth field of charge k: theta_0(x) = -2 pi k x1 / L^2, and the twist at x0 = L - 1
    for k in (-2, 0, 1, 3):
        x0, x1 = torch.meshgrid(torch.arange(L), torch.arange(L), indexing="ij")
        th = torch.zeros(1, 2, L, L, dtype=torch.float64)
        th[0, 1] = 2 * math.pi * k * x0 / L ** 2
        th[0, 0] = torch.where(x0 == L - 1, -2 * math.pi * k * x1 / L, 0.0)
        U = torch.polar(torch.ones_like(th), th)[..., None, None]
        assert abs(float(A.topological_charge(U)[0]) - k) < 1e-10, k
        # gauge invariant
        lg = G.LatticeGauge("U1", (L, L))
        assert abs(float(A.topological_charge(A.GaugeAction(lg)(lg.sample(1, generator=gen), U))[0]) - k) < 1e-10


def test_bad_input(gen):
    lg = G.LatticeGauge("SU2", (4, 4))
    act = A.GaugeAction(lg)
    U = random_links(G.SU2(), (4, 4), 2, gen)
    with pytest.raises(ValueError, match="unitary"):
        A.plaquettes(1.1 * U)
    with pytest.raises(ValueError, match="complex"):
        A.plaquettes(U.real)
    with pytest.raises(ValueError, match="lattice axes"):
        A.plaquettes(U[:, :1])
    with pytest.raises(ValueError, match=r"shape \(B, 2, 4, 6, 2, 2\), got \(2, 2, 4, 4, 2, 2\)"):
        A.GaugeAction(G.LatticeGauge("SU2", (4, 6)))(G.LatticeGauge("SU2", (4, 6)).sample(1, generator=gen), U)
    with pytest.raises(ValueError, match=r"\(n, 4, 4, 2, 2\)"):
        act(G.LatticeGauge("U1", (4, 4)).sample(1, generator=gen), U)
    with pytest.raises(ValueError, match="3 gauge transformations"):
        act(lg.sample(3, generator=gen), U)
    with pytest.raises(ValueError, match="unknown GaugeAction layout entry"):
        A.GaugeAction(lg, "vector")
    with pytest.raises(TypeError, match="LatticeGauge"):
        A.GaugeAction(G.SU2())
    with pytest.raises(ValueError, match="unknown gauge group"):
        G.LatticeGauge("SO(3)", (4, 4))
    with pytest.raises(ValueError, match="2D U\\(1\\)"):
        A.topological_charge(U)
    with pytest.raises(ValueError, match="lattice axes \\(4, 6\\)"):
        A.LatticeTranslation((4, 6))((torch.tensor([1]), torch.tensor([1])), U)
    with pytest.raises(ValueError, match="distinct lattice axes"):
        A.wilson_loops(U, planes=[(0, 0)])
    # links and site fields together
    both = A.GaugeAction(lg, ("links", "site", None))
    W = A.plaquettes(U)
    out = both(lg.sample(1, generator=gen), (U, W, torch.ones(2)))
    assert out[1].shape == W.shape and torch.equal(out[2], torch.ones(2))
