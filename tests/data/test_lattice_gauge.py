"""Monte Carlo of the Wilson action: exact 2D plaquette expectations, unitarity, caching;
U(1), SU(2) and SU(3)."""

import math
import os

import numpy as np
import pytest
import torch
from scipy.special import iv

import symmetries as sym

D, G = sym.data, sym.groups


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def hot(group, chains, shape, gen, dtype=torch.complex128):
    g = G.gauge_group(group)
    n = chains * len(shape) * math.prod(shape)
    return g.sample(n, generator=gen).reshape(chains, len(shape), *shape, g.N, g.N).to(dtype)


@pytest.mark.parametrize("group, beta, exact", [
    ("U1", 1.0, iv(1, 1.0) / iv(0, 1.0)), ("U1", 3.0, iv(1, 3.0) / iv(0, 3.0)),
    ("SU2", 0.5, iv(2, 0.5) / iv(1, 0.5)), ("SU2", 2.0, iv(2, 2.0) / iv(1, 2.0)),
    ("SU2", 5.0, iv(2, 5.0) / iv(1, 5.0)),
])
def test_plaquette_matches_exact_2d(group, beta, exact, threads):
    # 2D infinite volume: <cos P> = I1/I0 (U(1)), <tr P / 2> = I2/I1 (SU(2)); on an 8x8 periodic
    # lattice the finite-size correction is far below the statistical error
    gen = torch.Generator().manual_seed(1)
    chains = 32
    U = hot(group, chains, (8, 8), gen)
    for _ in range(15):
        U = D.gauge_sweep(U, beta, gen)
    per_chain = torch.stack([D.mean_plaquette(U := D.gauge_sweep(U, beta, gen)) for _ in range(30)]).mean(0)
    mean, err = float(per_chain.mean()), float(per_chain.std() / math.sqrt(chains))
    assert abs(mean - exact) < 4 * err + 1e-4, (mean, exact, err)
    assert err < 0.005


def su3_plaquette_exact(beta, nmax=20, h=1e-5):
    # 2D: <Re tr P / 3> = d/dbeta log z(beta), z = int_SU(3) dU exp(beta/3 Re tr U)
    # = sum_n det[I_{n+j-i}(beta/3)]_{i,j<3} (the Bessel-determinant formula for SU(N) one-link integrals)
    def log_z(b):
        return math.log(sum(np.linalg.det([[iv(n + j - i, b / 3) for j in range(3)] for i in range(3)])
                            for n in range(-nmax, nmax + 1)))
    return (log_z(beta + h) - log_z(beta - h)) / (2 * h)


def su3_plaquette_weyl(beta, m=300):
    # the same from Weyl's integration formula over the eigenvalue angles (a, b, -a-b)
    t = np.linspace(-np.pi, np.pi, m, endpoint=False)
    a, b = np.meshgrid(t, t, indexing="ij")
    z = np.exp(1j * np.stack([a, b, -a - b]))
    vandermonde = np.abs((z[0] - z[1]) * (z[0] - z[2]) * (z[1] - z[2])) ** 2
    re = z.real.sum(0) / 3
    w = vandermonde * np.exp(beta * re)
    return float((w * re).sum() / w.sum())


def test_su3_exact_plaquette_formula():
    for beta in (0.5, 3.0, 8.0):
        assert abs(su3_plaquette_exact(beta) - su3_plaquette_weyl(beta)) < 1e-8
    # strong coupling: beta/18 + beta^2/216 + O(beta^4)
    assert abs(su3_plaquette_exact(0.1) - (0.1 / 18 + 0.01 / 216)) < 1e-6


@pytest.mark.parametrize("beta", [1.0, 4.0, 8.0])
def test_su3_plaquette_matches_exact_2d(beta, threads):
    gen = torch.Generator().manual_seed(1)
    chains = 32
    U = hot("SU3", chains, (8, 8), gen)
    for _ in range(10):
        U = D.gauge_sweep(U, beta, gen)
    per_chain = torch.stack([D.mean_plaquette(U := D.gauge_sweep(U, beta, gen)) for _ in range(25)]).mean(0)
    mean, err = float(per_chain.mean()), float(per_chain.std() / math.sqrt(chains))
    exact = su3_plaquette_exact(beta)
    assert abs(mean - exact) < 4 * err + 1e-4, (mean, exact, err)
    assert err < 0.003
    eye = torch.eye(3, dtype=U.dtype)
    assert (U @ U.mH - eye).abs().max() < 1e-13
    assert (torch.linalg.det(U) - 1).abs().max() < 1e-13


def test_su3_heatbath_alone_and_overrelaxation_alone(threads):
    # heat bath without over-relaxation samples the same distribution; over-relaxation alone keeps
    # the action, is its own inverse on a fixed staple, and keeps links in SU(3)
    gen = torch.Generator().manual_seed(4)
    beta = 4.0
    U = hot("SU3", 32, (4, 4), gen)
    for _ in range(10):
        U = D.gauge_sweep(U, beta, gen, overrelax=0)
    per_chain = torch.stack([D.mean_plaquette(U := D.gauge_sweep(U, beta, gen, overrelax=0))
                             for _ in range(20)]).mean(0)
    mean, err = float(per_chain.mean()), float(per_chain.std() / math.sqrt(32))
    assert abs(mean - su3_plaquette_exact(beta)) < 4 * err + 1e-4, (mean, err)
    W = D.gauge_sweep(U, beta, overrelax=3, heatbath=False)
    assert torch.allclose(D.wilson_action(W, beta), D.wilson_action(U, beta), atol=1e-10)
    assert (W - U).abs().max() > 0.1
    G.SU3().check(W.reshape(-1, 3, 3))
    from symmetries.data._heatbath import _SU3_SUBGROUPS, _su3_subgroup_steps, overrelax
    A, link = D.staples(U, 0), U[:, 0]
    moved = overrelax(link, A)
    assert (moved - link).abs().max() > 0.1
    back = _su3_subgroup_steps(moved, A, lambda k, V: V.mH @ V.mH, _SU3_SUBGROUPS[::-1])
    assert (back - link).abs().max() < 1e-12


def test_su3_ensemble(tmp_path, threads):
    links = D.wilson_ensemble("SU3", (4, 4), beta=2.0, n=4, warmup=3, spacing=1, chains=2, cache_dir=str(tmp_path),
                              dtype=torch.complex128)
    assert links.shape == (4, 2, 4, 4, 3, 3)
    assert os.listdir(tmp_path)[0].startswith("SU3_L4x4_beta2_n4")
    G.SU3().check(links.reshape(-1, 3, 3).to(torch.complex64))
    assert not torch.equal(links[0], links[2])


def test_links_stay_unitary(threads):
    gen = torch.Generator().manual_seed(2)
    U = hot("SU2", 2, (4, 4), gen)
    for _ in range(500):
        U = D.gauge_sweep(U, 2.0, gen, check=False)
    G.SU2().check(U.reshape(-1, 2, 2))
    eye = torch.eye(2, dtype=U.dtype)
    assert (U @ U.mH - eye).abs().max() < 1e-13
    assert (torch.linalg.det(U) - 1).abs().max() < 1e-13
    V = hot("U1", 2, (4, 4), gen, torch.complex64)
    for _ in range(300):
        V = D.gauge_sweep(V, 1.0, gen, check=False)
    assert V.dtype == torch.complex64 and (V.abs() - 1).abs().max() < 1e-6


def test_staples_and_overrelaxation_keep_the_action(gen):
    # S depends on U_mu(x) through -beta/N Re tr(U_mu(x) A_mu(x)): changing one link changes S by that
    for group in ("U1", "SU2", "SU3"):
        g = G.gauge_group(group)
        U = hot(group, 1, (4, 4), gen)
        beta, mu, x = 1.7, 1, (2, 3)
        new = g.sample(1, generator=gen)[0]
        V = U.clone()
        V[0, mu][x] = new
        A = D.staples(U, mu)[0][x]
        dS = D.wilson_action(V, beta) - D.wilson_action(U, beta)
        want = -beta / g.N * (torch.trace(new @ A) - torch.trace(U[0, mu][x] @ A)).real
        assert torch.allclose(dS, want[None], atol=1e-12), group
        # over-relaxation keeps the action but moves the links
        W = D.gauge_sweep(U, beta, overrelax=2, heatbath=False)
        assert torch.allclose(D.wilson_action(W, beta), D.wilson_action(U, beta), atol=1e-10)
        assert (W - U).abs().max() > 0.1
        # the same seed gives the same chain
        a = D.gauge_sweep(U, beta, torch.Generator().manual_seed(5))
        b = D.gauge_sweep(U, beta, torch.Generator().manual_seed(5))
        assert torch.equal(a, b)


def test_wilson_ensemble_cached(tmp_path, threads):
    kw = dict(group="U1", shape=(4, 4), beta=1.0, n=6, warmup=5, spacing=2, seed=3, chains=4, cache_dir=str(tmp_path))
    links = D.wilson_ensemble(**kw)
    assert links.shape == (6, 2, 4, 4, 1, 1) and links.dtype == torch.complex64
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].startswith("U1_L4x4_beta1_n6")
    again = D.wilson_ensemble(**kw)
    assert torch.equal(links, again)
    fresh = D.wilson_ensemble(**{**kw, "cache": False})
    assert torch.equal(links, fresh)  # deterministic from the seed
    su2 = D.wilson_ensemble(group="SU2", shape=(4, 2), n=2, warmup=3, spacing=1, cache=False,
                            dtype=torch.complex128)
    assert su2.shape == (2, 2, 4, 2, 2, 2)
    G.SU2().check(su2.reshape(-1, 2, 2).to(torch.complex64))
    assert not torch.equal(su2[0], su2[1])


def test_bad_input(gen):
    with pytest.raises(ValueError, match=r"even lattice extents, got lattice shape \(4, 5\)"):
        D.wilson_ensemble("U1", (4, 5), n=1, warmup=0, cache=False)
    with pytest.raises(ValueError, match="even lattice extents"):
        D.gauge_sweep(hot("U1", 1, (3, 4), gen), 1.0)
    with pytest.raises(ValueError, match="support U1, SU2 and SU3, got SU\\(4\\)"):
        D.simulate_wilson("SU4", (4, 4), n=1, warmup=0)
    with pytest.raises(ValueError, match="support U\\(1\\) \\(N = 1\\), SU\\(2\\) and SU\\(3\\) links, got N = 4"):
        D.gauge_sweep(hot("SU4", 1, (2, 2), gen), 1.0)
    with pytest.raises(ValueError, match="unknown gauge group"):
        D.wilson_ensemble("Z2", (4, 4), n=1, cache=False)
    with pytest.raises(ValueError, match="unitary"):
        D.gauge_sweep(2 * hot("SU2", 1, (4, 4), gen), 1.0)
    with pytest.raises(ValueError, match="hot' or 'cold"):
        D.simulate_wilson("U1", (2, 2), n=1, warmup=0, start="warm")
