
import pytest
import torch

import symmetries as sym
from symmetries.reps import standard, trivial
from symmetries.testing import reload_state_dict
from tests.conftest import ALL_GROUPS

G = sym.groups


def _io_reps(group):
    V = standard(group)
    rep_in = V + V**2 if V.dim <= 4 else 2 * V
    return rep_in, trivial(group) + V


pytestmark = pytest.mark.usefixtures("float64_default")


def test_equivariant_linear_every_group(group, gen):
    rep_in, rep_out = _io_reps(group)
    layer = sym.nn.EquivariantLinear(rep_in, rep_out)
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(16, rep_in.dim, generator=gen)
    report = sym.assert_equivariant(layer, rep_in, rep_out, x, n_samples=32, generator=gen)
    assert report.max_rel_error <= 1e-10
    assert layer.num_basis == sym.reps.basis_size(rep_in, rep_out)


def test_linear_spans_exactly_the_equivariant_maps(gen):
    V = standard(G.O3())
    rep_in, rep_out = V + V**2, V**3
    layer = sym.nn.EquivariantLinear(rep_in, rep_out, bias=False)
    assert layer.num_basis == 3 + 0  # V -> V^3: 3 maps (Levi-Civita needs V^2 -> V^3 parity: 0 under O(3))
    basis = sym.equivariant_basis(rep_in, rep_out)
    # projecting a random matrix and re-expanding is idempotent and lands in the span
    W = torch.randn(rep_out.dim, rep_in.dim, generator=gen)
    layer.set_matrix(W)
    P = layer.matrix()
    coef = torch.einsum("kij,ij->k", basis, W)
    assert torch.allclose(P, torch.einsum("k,kij->ij", coef, basis), atol=1e-12)
    layer.set_matrix(P)
    assert torch.allclose(layer.matrix(), P, atol=1e-12)
    with pytest.raises(ValueError, match=r"shape \(27, 12\).*got \(12, 27\)"):
        layer.set_matrix(W.T)


def test_bias_only_on_invariant_directions():
    group = G.SO3()
    V = standard(group)
    layer = sym.nn.EquivariantLinear(V, 2 * trivial(group) + V + V**2)
    # invariant directions: 2 scalars + the identity matrix in V^2 = 3
    assert layer.bias.numel() == 3


def test_bias_is_stored_grouped_by_summand():
    """Saved checkpoints list the bias by distinct summand of rep_out, then copy."""
    group = G.SO3()
    V, T = standard(group), trivial(group)
    layer = sym.nn.EquivariantLinear(V, T + V**2 + T)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([1.0, 2.0, 3.0]))
    b = layer.bias_vector()
    assert b[0] == 1 and b[-1] == 2 and torch.allclose(b[1:-1].abs(), 3**0.5 * torch.eye(3).flatten(), atol=1e-14)


@pytest.mark.parametrize("name", ["O3", "SO3", "O5", "Lorentz", "S4", "C5", "D4", "O2", "C2xSO3"])
def test_emlp_every_group(name, gen):
    group = ALL_GROUPS[name]
    rep_in, rep_out = _io_reps(group)
    model = sym.nn.EMLP(rep_in, rep_out, hidden=48, depth=2)
    x = torch.randn(8, rep_in.dim, generator=gen)
    if isinstance(group, G.Lorentz):
        x = x * 0.3  # keep boosted inputs in a moderate range
    report = sym.assert_equivariant(model, rep_in, rep_out, x, n_samples=24, generator=gen)
    assert report.max_rel_error <= 1e-10
    assert model(x).abs().max() > 0


def test_emlp_float32_and_state_dict_roundtrip(gen):
    torch.set_default_dtype(torch.float32)
    group = G.O3()
    rep_in, rep_out = _io_reps(group)
    model = sym.nn.EMLP(rep_in, rep_out, hidden=48, depth=2)
    x = torch.randn(8, rep_in.dim, generator=gen).float()
    sym.assert_equivariant(model, rep_in, rep_out, x, n_samples=16, generator=gen)  # rtol 1e-5 in float32
    clone = reload_state_dict(model, sym.nn.EMLP(rep_in, rep_out, hidden=48, depth=2))
    assert torch.equal(clone(x), model(x))
    model.eval()
    assert model.state_dict().keys() == clone.state_dict().keys()
    # the state dict holds coefficients only: no basis buffers
    assert all("_basis" not in k and "_P" not in k for k in model.state_dict())


def test_emlp_learns_invariant_from_bilinear_products(gen):
    """Linear maps alone cannot produce x.y from two O(3) vectors; the bilinear layer must."""
    torch.manual_seed(0)
    group = G.O3()
    V = standard(group)
    model = sym.nn.EMLP(2 * V, trivial(group), hidden=32, depth=1)
    x = torch.randn(256, 6, generator=gen)
    y = (x[:, :3] * x[:, 3:]).sum(1, keepdim=True)
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(300):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.01 * float(y.var())


def test_bad_input():
    group = G.O3()
    rep_in, rep_out = _io_reps(group)
    model = sym.nn.EMLP(rep_in, rep_out, hidden=24, depth=1)
    with pytest.raises(ValueError, match=rf"\(\.\.\., {rep_in.dim}\).*got \(4, 5\)"):
        model(torch.randn(4, 5))
    layer = sym.nn.EquivariantLinear(rep_in, rep_out)
    with pytest.raises(TypeError, match="float64 weights, got a torch.float32"):
        layer(torch.randn(4, rep_in.dim, dtype=torch.float32))
    with pytest.raises(ValueError, match="belongs to"):
        sym.nn.EquivariantLinear(standard(G.O3()), standard(G.SO3()))


@pytest.mark.slow
def test_emlp_compiles(gen):
    group = G.SO3()
    rep_in, rep_out = _io_reps(group)
    model = sym.nn.EMLP(rep_in, rep_out, hidden=32, depth=1)
    x = torch.randn(8, rep_in.dim, generator=gen)
    compiled = torch.compile(model)
    assert torch.allclose(compiled(x), model(x), atol=1e-12)


def test_float32_model_converted_to_float64_is_exact(gen):
    """Bases are re-rounded from float64 on a dtype change, not carried over from float32."""
    torch.set_default_dtype(torch.float32)
    group = G.O3()
    rep_in, rep_out = _io_reps(group)
    model = sym.nn.EMLP(rep_in, rep_out, hidden=48, depth=2).double()
    x = torch.randn(8, rep_in.dim, generator=gen, dtype=torch.float64)
    assert sym.assert_equivariant(model, rep_in, rep_out, x, n_samples=16, generator=gen).max_rel_error <= 1e-10
