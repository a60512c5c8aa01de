import pytest
import torch
from torch import nn

import symmetries as sym
from symmetries.actions import invariant
from symmetries.groups import O3, SO3, Cyclic, Dihedral, Symmetric
from symmetries.reps import regular, standard, trivial
from symmetries.symmetrize import GroupAveraging
from symmetries.testing import assert_equivariant, check_equivariance


def mlp(d_in, d_out, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, 32), nn.Tanh(), nn.Linear(32, d_out)).to(dtype)


@pytest.mark.parametrize("group", [Cyclic(4), Dihedral(4), Dihedral(3), Cyclic(7)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_finite_average_is_exactly_equivariant(group, dtype):
    V, R = standard(group), regular(group)
    rep_in, rep_out = V + R, V
    base = mlp(rep_in.dim, rep_out.dim, dtype)
    x = torch.randn(9, rep_in.dim, dtype=dtype)
    assert check_equivariance(base, rep_in, rep_out, x).max_rel_error > 1e-2  # the base model is not
    report = assert_equivariant(GroupAveraging(base, rep_in, rep_out), rep_in, rep_out, x)
    assert report.exhaustive and report.n_samples == group.order


def test_symmetric_group_invariance_of_sets():
    G = Symmetric(4)
    rep = standard(G)
    model = GroupAveraging(mlp(4, 1), rep, invariant(G))
    assert model.exact
    x = torch.randn(5, 4, dtype=torch.float64)
    assert_equivariant(model, rep, invariant(G), x, n_samples=24)
    perm = torch.randperm(4)
    torch.testing.assert_close(model(x[:, perm]), model(x), rtol=0, atol=1e-12)


def test_average_of_an_equivariant_model_is_the_model():
    G = Dihedral(5)
    V = standard(G)
    W = sym.equivariant_basis(V, V)  # (k, 2, 2); rotations and a reflection: only multiples of 1
    lin = nn.Linear(2, 2, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.einsum("k,kij->ij", torch.randn(len(W), dtype=torch.float64), W))
    x = torch.randn(6, 2, dtype=torch.float64)
    torch.testing.assert_close(GroupAveraging(lin, V, V)(x), lin(x), rtol=0, atol=1e-13)


def test_average_matches_explicit_sum():
    G = Cyclic(3)
    V = standard(G)
    f = mlp(2, 2)
    x = torch.randn(4, 2, dtype=torch.float64)
    explicit = sum(V.act(g[None], f(V.act(G.inverse(g[None]), x))) for g in G.elements()) / 3
    torch.testing.assert_close(GroupAveraging(f, V, V)(x), explicit, rtol=0, atol=1e-14)


def test_monte_carlo_average_converges_for_so3():
    G = SO3()
    V = standard(G)
    f = mlp(6, 1)
    x = torch.randn(4, 6, dtype=torch.float64)
    g = G.sample(1, generator=torch.Generator().manual_seed(1))
    gx = (2 * V).act(g, x)
    errors = []
    for m in (8, 2048):
        torch.manual_seed(0)
        model = GroupAveraging(f, 2 * V, trivial(G), n_samples=m)
        errors.append(float((model(gx) - model(x)).detach().abs().max()))
    assert errors[1] < errors[0] / 4  # O(m^-1/2) Monte Carlo error
    assert errors[1] < 0.05


def test_mc_generator_makes_draws_reproducible():
    G = O3()
    V = standard(G)
    f = mlp(3, 3)
    x = torch.randn(4, 3, dtype=torch.float64)
    a = GroupAveraging(f, V, V, n_samples=5, generator=torch.Generator().manual_seed(3))(x)
    b = GroupAveraging(f, V, V, n_samples=5, generator=torch.Generator().manual_seed(3))(x)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_bad_input():
    with pytest.raises(ValueError, match="infinite: give n_samples"):
        GroupAveraging(mlp(3, 3), standard(SO3()), standard(SO3()))
    with pytest.raises(ValueError, match="must share one group"):
        GroupAveraging(mlp(2, 2), standard(Cyclic(4)), standard(Cyclic(3)))
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        GroupAveraging(mlp(3, 3), standard(SO3()), standard(SO3()), n_samples=0)
    with pytest.raises(ValueError, match=r"acts on tensors \(\.\.\., 2\)"):
        GroupAveraging(mlp(3, 3), standard(Cyclic(4)), standard(Cyclic(4)))(torch.randn(2, 3, dtype=torch.float64))


def test_state_dict_round_trip_and_checkpoint(tmp_path):
    G = Cyclic(4)
    V = standard(G)
    a, b = GroupAveraging(mlp(2, 2, seed=0), V, V), GroupAveraging(mlp(2, 2, seed=1), V, V)
    torch.save(a.state_dict(), tmp_path / "a.pt")
    b.load_state_dict(torch.load(tmp_path / "a.pt", weights_only=True))
    x = torch.randn(3, 2, dtype=torch.float64)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)
    assert set(a.state_dict()) == set(a.train().state_dict()) == set(a.eval().state_dict())


def test_permutation_rep_on_pairs_exact():
    G = Symmetric(3)
    P = standard(G)
    model = GroupAveraging(mlp(9, 9), P * P, P * P)
    assert_equivariant(model, P * P, P * P, torch.randn(4, 9, dtype=torch.float64))


@pytest.mark.slow
def test_torch_compile():
    G = Dihedral(4)
    V = standard(G)
    model = GroupAveraging(mlp(2, 2, torch.float32), V, V)
    compiled = torch.compile(model)
    x = torch.randn(5, 2)
    torch.testing.assert_close(compiled(x), model(x), rtol=1e-5, atol=1e-6)
