"""L-CNN layers (symmetries.nn.gauge): gauge equivariance under random local SU(2) and U(1)
transformations, translation equivariance, closed forms, bad input, torch.compile and
state dicts."""

import io

import pytest
import torch

from symmetries.nn.gauge import LCNN, LAct, LBilin, LConv, Plaq, Trace, transport, transport_path

CDTYPE = {torch.float64: torch.complex128, torch.float32: torch.complex64}
TOL = {torch.float64: 1e-10, torch.float32: 1e-5}


def haar(shape, N, dtype=torch.complex128, gen=None):
    """Haar-random U(1) (``N = 1``) or SU(N) matrices of shape ``(*shape, N, N)``."""
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    if N == 1:
        theta = 2 * torch.pi * torch.rand(*shape, 1, 1, generator=gen, dtype=real)
        return torch.polar(torch.ones_like(theta), theta)
    Z = torch.complex(torch.randn(*shape, N, N, generator=gen, dtype=real),
                      torch.randn(*shape, N, N, generator=gen, dtype=real)) / 2 ** 0.5
    Q, R = torch.linalg.qr(Z)
    d = torch.diagonal(R, dim1=-2, dim2=-1)
    Q = Q * (d / d.abs()).unsqueeze(-2)
    det = torch.linalg.det(Q)
    return Q / (det ** (1.0 / N))[..., None, None]


def gauge_links(U, Om):
    """U_mu(x) -> Om(x) U_mu(x) Om(x + mu)^dag."""
    D = U.shape[1]
    shifted = torch.stack([torch.roll(Om, -1, 1 + mu) for mu in range(D)], 1)
    return Om.unsqueeze(1) @ U @ shifted.mH


def gauge_sites(W, Om):
    return Om.unsqueeze(1) @ W @ Om.unsqueeze(1).mH


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


def setup(N, lattice=(4, 3), B=2, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cd = CDTYPE[dtype]
    U = haar((B, len(lattice), *lattice), N, cd, gen)
    Om = haar((B, *lattice), N, cd, gen)
    return U, Om, gen


GROUPS = [pytest.param(1, id="U1"), pytest.param(2, id="SU2"), pytest.param(3, id="SU3")]
DTYPES = [pytest.param(torch.float64, id="f64"), pytest.param(torch.float32, id="f32")]


def test_haar_draws_are_special_unitary():
    U = haar((50,), 2)
    eye = torch.eye(2, dtype=U.dtype)
    assert torch.allclose(U @ U.mH, eye.expand_as(U), atol=1e-12)
    assert torch.allclose(torch.linalg.det(U), torch.ones(50, dtype=U.dtype), atol=1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("N", GROUPS)
@pytest.mark.parametrize("lattice", [(4, 3), (3, 2, 2, 3)], ids=["2d", "4d"])
def test_plaq_and_layers_are_gauge_covariant(N, dtype, lattice):
    torch.manual_seed(0)
    D = len(lattice)
    tol = TOL[dtype]
    for trial in range(3):  # many random local transformations
        U, Om, gen = setup(N, lattice, dtype=dtype, seed=trial)
        U2 = gauge_links(U, Om)
        plaq = Plaq()
        W, W2 = plaq(U), plaq(U2)
        C = plaq.channels(D)
        assert W.shape == (2, C, *lattice, N, N)
        assert rel(W2, gauge_sites(W, Om)) < tol
        conv = LConv(C, 3, kernel_size=2, dim=D).to(dtype)
        V, V2 = conv(U, W), conv(U2, W2)
        assert rel(V2, gauge_sites(V, Om)) < tol
        bil = LBilin(3, C, 4).to(dtype)
        X, X2 = bil(V, W), bil(V2, W2)
        assert rel(X2, gauge_sites(X, Om)) < tol
        convd, bild = LConv(C, 2, 1, dim=D, dagger=True).to(dtype), LBilin(2, C, 2, dagger=True).to(dtype)
        Y, Y2 = bild(convd(U, W), W), bild(convd(U2, W2), W2)
        assert rel(Y2, gauge_sites(Y, Om)) < tol
        for nu in ("step", "relu", "sigmoid"):
            act = LAct(nu)
            assert rel(act(X2), gauge_sites(act(X), Om)) < tol
        tr = Trace()
        assert rel(tr(X2), tr(X)) < tol
        assert tr(X).dtype == dtype


@pytest.mark.parametrize("N", GROUPS)
def test_transport_and_paths_are_covariant(N):
    U, Om, _ = setup(N, (5, 4))
    W = haar((2, 3, 5, 4), N) + 0.5 * haar((2, 3, 5, 4), N)
    U2, W2 = gauge_links(U, Om), gauge_sites(W, Om)
    for mu, k in [(0, 1), (0, -1), (1, 3), (1, -2), (0, 5)]:
        assert rel(transport(U2, W2, mu, k), gauge_sites(transport(U, W, mu, k), Om)) < 1e-10
    path = [(0, 2), (1, -1), (0, -1)]
    assert rel(transport_path(U2, W2, path), gauge_sites(transport_path(U, W, path), Om)) < 1e-10
    # forth and back is the identity; a closed path around the plaquette gives P W P^dag
    assert rel(transport(U, transport(U, W, 1, -3), 1, 3), W) < 1e-12
    P = Plaq(both_orientations=False)(U)  # (B, 1, L..., N, N)
    loop = transport_path(U, W, [(0, 1), (1, 1), (0, -1), (1, -1)])
    assert rel(loop, P @ W @ P.mH) < 1e-12


@pytest.mark.parametrize("N", GROUPS)
def test_lcnn_is_gauge_invariant_and_translation_equivariant(N):
    torch.manual_seed(1)
    net = LCNN(dim=2, out_features=3, channels=(3, 2), kernel_size=1).double()
    local = LCNN(dim=2, out_features=3, channels=(3, 2), kernel_size=1, reduce=None).double()
    local.load_state_dict(net.state_dict())
    for trial in range(3):
        U, Om, _ = setup(N, (5, 4), seed=trial)
        y = net(U)
        assert y.shape == (2, 3) and y.dtype == torch.float64
        assert rel(net(gauge_links(U, Om)), y) < 1e-10
        Ur = torch.roll(U, shifts=(2, -1), dims=(2, 3))
        assert rel(net(Ur), y) < 1e-10
        yl = local(U)
        assert yl.shape == (2, 3, 5, 4)
        assert rel(local(Ur), torch.roll(yl, shifts=(2, -1), dims=(2, 3))) < 1e-10
        assert torch.allclose(yl.flatten(2).mean(-1), y, atol=1e-12)


def test_layers_are_translation_equivariant():
    U, _, _ = setup(2, (4, 5))
    s = dict(shifts=(1, 3), dims=(2, 3))
    sw = dict(shifts=(1, 3), dims=(2, 3))
    W = Plaq()(U)
    Ur = torch.roll(U, **s)
    assert rel(Plaq()(Ur), torch.roll(W, **sw)) < 1e-12
    conv = LConv(2, 3, 2, dim=2).double()
    assert rel(conv(Ur, torch.roll(W, **sw)), torch.roll(conv(U, W), **sw)) < 1e-12


def test_lcnn_runs_in_float32_on_4d_su3():
    U, Om, _ = setup(3, (2, 3, 2, 2), dtype=torch.float32)
    net = LCNN(dim=4, channels=(2,), kernel_size=1)
    y = net(U)
    assert y.dtype == torch.float32 and y.shape == (2, 1)
    assert rel(net(gauge_links(U, Om)), y) < 1e-5


# ---------------------------------------------------------------- closed forms

def test_lconv_unit_weight_on_k0_is_identity():
    U, _, _ = setup(2, (4, 4))
    W = Plaq()(U)
    for complex_weights in (True, False):
        conv = LConv(2, 2, kernel_size=2, dim=2, complex_weights=complex_weights).double()
        with torch.no_grad():
            for p in conv.parameters():
                p.zero_()
            conv.weights.weight[0, 0, 0] = 1.0
            conv.weights.weight[1, 1, 0] = 1.0
        assert torch.equal(conv(U, W), W)


def test_lconv_single_offset_is_transport_and_unit_is_bias():
    U, _, _ = setup(2, (4, 4))
    W = Plaq()(U)
    conv = LConv(2, 1, kernel_size=2, dim=2, complex_weights=False).double()
    with torch.no_grad():
        conv.weights.weight.zero_()
        conv.weights.weight[0, 1, conv.offsets.index((1, -2))] = 1.0
        conv.weights.weight[0, 2, 3] = 0.5  # the unit channel
    expected = transport(U, W[:, 1:2], 1, -2) + 0.5 * torch.eye(2, dtype=W.dtype)
    assert rel(conv(U, W), expected) < 1e-12


def test_plaq_of_identity_field_is_unit():
    U = torch.eye(2, dtype=torch.complex128).expand(1, 4, 2, 3, 2, 2, 2, 2).clone()
    W = Plaq()(U)
    assert W.shape == (1, 12, 2, 3, 2, 2, 2, 2)
    assert torch.equal(W, torch.eye(2, dtype=W.dtype).expand_as(W))


def test_trace_of_u1_plaquette_is_exp_i_angle():
    gen = torch.Generator().manual_seed(3)
    theta = 2 * torch.pi * torch.rand(2, 2, 5, 4, generator=gen, dtype=torch.float64)
    U = torch.polar(torch.ones_like(theta), theta)[..., None, None]
    t0, t1 = theta[:, 0], theta[:, 1]
    angle = t0 + torch.roll(t1, -1, 1) - torch.roll(t0, -1, 2) - t1
    y = Trace()(Plaq()(U))
    assert y.shape == (2, 4, 5, 4)  # Re P, Re P^dag, Im P, Im P^dag
    torch.testing.assert_close(y[:, 0], torch.cos(angle), atol=1e-12, rtol=0)
    torch.testing.assert_close(y[:, 2], torch.sin(angle), atol=1e-12, rtol=0)
    torch.testing.assert_close(y[:, 1], torch.cos(angle), atol=1e-12, rtol=0)
    torch.testing.assert_close(y[:, 3], -torch.sin(angle), atol=1e-12, rtol=0)


def test_lbilin_closed_form_and_lact_step():
    U, _, _ = setup(2, (3, 3))
    W = Plaq()(U)
    bil = LBilin(2, 2, 1, complex_weights=False).double()
    with torch.no_grad():
        bil.weights.weight.zero_()
        bil.weights.weight[0, 0, 1] = 2.0   # 2 W_0 W_1
        bil.weights.weight[0, 2, 0] = -1.0  # - 1 W_0 (unit times W'_0)
        bil.weights.weight[0, 2, 2] = 3.0   # 3 * 1
    eye = torch.eye(2, dtype=W.dtype)
    expected = 2 * W[:, 0:1] @ W[:, 1:2] - W[:, 0:1] + 3 * eye
    assert rel(bil(W), expected) < 1e-12
    X = torch.stack([eye, -eye], 0).reshape(1, 2, 1, 1, 2, 2).expand(1, 2, 3, 3, 2, 2)
    out = LAct()(X)
    assert torch.equal(out[:, 0], X[:, 0]) and torch.equal(out[:, 1], torch.zeros_like(X[:, 1]))


# ---------------------------------------------------------------- bad input

def test_bad_input_names_expected_and_got():
    U, _, _ = setup(2, (4, 4))
    W = Plaq()(U)
    conv = LConv(2, 3, 1, dim=2).double()
    with pytest.raises(TypeError, match="complex.*float64"):
        conv(U.real, W)
    with pytest.raises(ValueError, match="D = 3 directions in dim 1, got 2"):
        Plaq()(U.unsqueeze(2).expand(2, 2, 2, 4, 4, 2, 2))
    with pytest.raises(ValueError, match="expected 2 channels in dim 1, got 3"):
        conv(U, torch.cat([W, W[:, :1]], 1))
    with pytest.raises(ValueError, match=r"lattice \(4, 4\).*got batch 2 and lattice \(4, 3\)"):
        conv(U, W[:, :, :, :3])
    with pytest.raises(ValueError, match="expected 2 x 2 matrices as the links, got 3 x 3"):
        conv(U, torch.zeros(2, 2, 4, 4, 3, 3, dtype=U.dtype))
    with pytest.raises(TypeError, match="expected dtype torch.complex128 as the links, got torch.complex64"):
        conv(U, W.to(torch.complex64))
    with pytest.raises(ValueError, match="LConv built for a 4-dimensional lattice, got links of a 2-dimensional"):
        LConv(2, 3, 1, dim=4)(U, W)
    with pytest.raises(ValueError, match="W2 must match W"):
        LBilin(2)(W, W[:, :, :2])
    with pytest.raises(ValueError, match="nu must be a callable or one of"):
        LAct("swish")
    with pytest.raises(ValueError, match=r"direction mu must be in 0\.\.1"):
        transport(U, W, 2, 1)
    with pytest.raises(ValueError, match="LCNN built for a 4-dimensional lattice"):
        LCNN(dim=4)(U)


# ---------------------------------------------------------------- compile and state dicts

def test_state_dict_round_trip():
    torch.manual_seed(0)
    U, _, _ = setup(2, (4, 4), dtype=torch.float32)
    net = LCNN(dim=2, channels=(3,))
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    buf.seek(0)
    other = LCNN(dim=2, channels=(3,))
    assert not torch.equal(other(U), net(U))
    other.load_state_dict(torch.load(buf))
    assert torch.equal(other(U), net(U))
    assert set(net.train().state_dict()) == set(net.eval().state_dict())
    assert all(not p.is_complex() for p in net.parameters())


def test_compile_matches_eager():
    torch.manual_seed(0)
    U, _, _ = setup(2, (4, 4), dtype=torch.float32)
    net = LCNN(dim=2, channels=(2,))
    compiled = torch.compile(net)
    torch.testing.assert_close(compiled(U), net(U), atol=1e-5, rtol=1e-5)


def test_dagger_channels_closed_form():
    U, _, _ = setup(2, (3, 4))
    W = Plaq(both_orientations=False)(U)
    conv = LConv(1, 1, 1, dim=2, unit=False, complex_weights=False, dagger=True).double()
    assert conv.weights.weight.shape == (1, 2, 5)
    with torch.no_grad():
        conv.weights.weight.zero_()
        conv.weights.weight[0, 1, conv.offsets.index((0, 1))] = 1.0  # the conjugate, one step along 0
    assert rel(conv(U, W), transport(U, W, 0, 1).mH) < 1e-12


def test_lcnn_trains_with_real_gradients():
    torch.manual_seed(0)
    U, _, _ = setup(2, (4, 4), B=8, dtype=torch.float32)
    target = Trace()(Plaq(both_orientations=False)(U))[:, 0].flatten(1).mean(-1, keepdim=True) / 2
    net = LCNN(dim=2, channels=(3,), dagger=True)
    opt = torch.optim.Adam(net.parameters(), lr=0.03)
    losses = []
    for _ in range(40):
        loss = ((net(U) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.grad is not None and not p.grad.is_complex() and torch.isfinite(p.grad).all()
               for p in net.parameters())
    assert losses[-1] < 0.2 * losses[0]


def test_with_the_library_gauge_action_and_checker():
    import symmetries as sym

    if not hasattr(sym.actions, "GaugeAction"):
        pytest.skip("symmetries.actions.GaugeAction is not there yet")
    torch.manual_seed(0)
    U, _, _ = setup(2, (4, 3))
    gauge = sym.groups.LatticeGauge("SU2", (4, 3))
    links, sites = sym.actions.GaugeAction(gauge), sym.actions.GaugeAction(gauge, "site")
    net = LCNN(dim=2, channels=(2,), kernel_size=1).double()
    report = sym.check_equivariance(net, links, sym.actions.invariant(gauge), U, n_samples=16)
    assert report.max_rel_error < 1e-10, report
    conv = LConv(2, 2, 1, dim=2).double()
    report = sym.check_equivariance(lambda u: conv(u, Plaq()(u)), links, sites, U, n_samples=16)
    assert report.max_rel_error < 1e-10, report
