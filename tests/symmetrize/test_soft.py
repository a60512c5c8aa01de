import pytest
import torch
from torch import nn

from symmetries.actions import invariant
from symmetries.groups import SO3, Cyclic
from symmetries.reps import standard
from symmetries.symmetrize import GroupAveraging, equivariance_penalty
from symmetries.testing import check_equivariance


def test_zero_for_an_equivariant_model_positive_otherwise():
    G = Cyclic(4)
    V = standard(G)
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)).double()
    x = torch.randn(32, 2, dtype=torch.float64)
    assert float(equivariance_penalty(GroupAveraging(base, V, V), x, V, V, n_samples=4)) < 1e-28
    assert float(equivariance_penalty(base, x, V, V, n_samples=4)) > 1e-3


def test_equals_mean_squared_error_for_given_elements():
    G = SO3()
    V = standard(G)
    f = nn.Linear(3, 3).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    gen = torch.Generator().manual_seed(7)
    penalty = equivariance_penalty(f, x, V, V, generator=gen)
    g = G.sample(5, generator=torch.Generator().manual_seed(7))
    expected = ((f(V.act(g, x)) - V.act(g, f(x))) ** 2).mean()
    torch.testing.assert_close(penalty, expected, rtol=1e-12, atol=0)


def test_descending_the_penalty_makes_the_model_symmetric():
    G = SO3()
    V = standard(G)
    torch.manual_seed(0)
    f = nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 1))
    x = torch.randn(32, 6)
    before = check_equivariance(f, 2 * V, invariant(G), x, n_samples=16, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(f.parameters(), lr=3e-2)
    for _ in range(60):
        opt.zero_grad()
        equivariance_penalty(f, x, 2 * V, invariant(G), n_samples=2).backward()
        opt.step()
    after = check_equivariance(f, 2 * V, invariant(G), x, n_samples=16, generator=torch.Generator().manual_seed(0))
    assert after.max_abs_error < before.max_abs_error / 5


def test_bad_input():
    V = standard(Cyclic(4))
    with pytest.raises(ValueError, match="n_samples must be >= 1"):
        equivariance_penalty(nn.Linear(2, 2), torch.randn(3, 2), V, V, n_samples=0)
