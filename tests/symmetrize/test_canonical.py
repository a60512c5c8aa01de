import pytest
import torch
from torch import nn

from symmetries.actions import invariant
from symmetries.groups import O, O2, O3, SO2, SO3
from symmetries.reps import standard
from symmetries.symmetrize import Canonicalization, OrthogonalCanonicalizer, PointCloudCanonicalizer, orthogonalize
from symmetries.testing import assert_equivariant, check_equivariance


def mlp(d_in, d_out, dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(d_in, 32), nn.Tanh(), nn.Linear(32, d_out)).to(dtype)


@pytest.mark.parametrize("special", [False, True])
def test_orthogonalize_is_orthogonal_and_equivariant(special):
    G = SO3() if special else O3()
    A = torch.randn(5, 3, 3, dtype=torch.float64)
    Q = orthogonalize(A, special)
    torch.testing.assert_close(Q.transpose(1, 2) @ Q, torch.eye(3, dtype=torch.float64).expand(5, 3, 3),
                               rtol=0, atol=1e-12)
    if special:
        torch.testing.assert_close(torch.linalg.det(Q), torch.ones(5, dtype=torch.float64))
    g = G.sample(5)
    torch.testing.assert_close(orthogonalize(g @ A, special), g @ Q, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [2, 3, 5])
def test_vectors_under_o_n_invariant_model(n):
    G = O(n)
    rep = 2 * standard(G)
    model = Canonicalization(mlp(2 * n, 1), OrthogonalCanonicalizer(2, n).double(), rep, invariant(G))
    x = torch.randn(6, 2 * n, dtype=torch.float64)
    assert check_equivariance(model.model, rep, invariant(G), x, n_samples=8).max_rel_error > 1e-3
    assert_equivariant(model, rep, invariant(G), x, n_samples=16)


def test_vectors_equivariant_output_when_vectors_span():
    G = O3()
    rep_in, rep_out = 3 * standard(G), standard(G)
    model = Canonicalization(mlp(9, 3), OrthogonalCanonicalizer(3, 3).double(), rep_in, rep_out)
    assert_equivariant(model, rep_in, rep_out, torch.randn(6, 9, dtype=torch.float64))


def test_so_n_canonicalizer_with_special_frames():
    G = SO3()
    rep_in = 3 * standard(G)
    model = Canonicalization(mlp(9, 3), OrthogonalCanonicalizer(3, 3, special=True).double(), rep_in, standard(G))
    assert_equivariant(model, rep_in, standard(G), torch.randn(6, 9, dtype=torch.float64))


def test_float32():
    G = O3()
    rep = 2 * standard(G)
    model = Canonicalization(mlp(6, 1, torch.float32), OrthogonalCanonicalizer(2, 3), rep, invariant(G))
    assert_equivariant(model, rep, invariant(G), torch.randn(16, 6), rtol=1e-4)


@pytest.mark.parametrize("group", [O2(), SO2(), O3(), SO3()])
def test_point_clouds_are_euclidean_equivariant(group):
    d, n = group.d, 6

    class Cloud(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp(n * d, n * d)

        def forward(self, x):
            return self.net(x.flatten(1)).view(x.shape)

    V = standard(group)
    canon = PointCloudCanonicalizer(d, special=group.special).double()
    model = Canonicalization(Cloud(), canon, V, V, translation=True, output_positions=True)
    x = torch.randn(5, n, d, dtype=torch.float64)
    for Q, a in zip(group.sample(8), torch.randn(8, d, dtype=torch.float64)):
        expected = model(x) @ Q.T + a
        torch.testing.assert_close(model(x @ Q.T + a), expected, rtol=0, atol=1e-10)
    perm = torch.randperm(n)  # the canonicalizer ignores the order of the points
    torch.testing.assert_close(canon(x[:, perm]), canon(x), rtol=0, atol=1e-12)


def test_gradients_flow_and_are_finite_when_vectors_span_a_subspace():
    G = O(5)
    rep = 2 * standard(G)
    model = Canonicalization(mlp(10, 1), OrthogonalCanonicalizer(2, 5).double(), rep, invariant(G))
    model(torch.randn(8, 10, dtype=torch.float64)).square().mean().backward()
    grads = [p.grad for p in model.canonicalizer.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_bad_input():
    with pytest.raises(ValueError, match=r"expected 2 vectors of dim 3 as \(batch, 6\)"):
        OrthogonalCanonicalizer(2, 3)(torch.randn(4, 5))
    with pytest.raises(ValueError, match=r"positions must be \(batch, points, 3\)"):
        PointCloudCanonicalizer(3)(torch.randn(4, 5, 2))
    with pytest.raises(ValueError, match="must share one group"):
        Canonicalization(mlp(3, 3), OrthogonalCanonicalizer(1, 3), standard(O3()), standard(SO3()))


def test_state_dict_round_trip(tmp_path):
    G = O3()
    rep = 2 * standard(G)
    a = Canonicalization(mlp(6, 1), OrthogonalCanonicalizer(2, 3).double(), rep, invariant(G))
    torch.manual_seed(5)
    b = Canonicalization(nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 1)).double(),
                         OrthogonalCanonicalizer(2, 3).double(), rep, invariant(G))
    torch.save(a.state_dict(), tmp_path / "c.pt")
    b.load_state_dict(torch.load(tmp_path / "c.pt", weights_only=True))
    x = torch.randn(3, 6, dtype=torch.float64)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


def test_with_the_library_point_cloud_action_of_euclidean_group():
    from symmetries.groups import Euclidean
    from symmetries.actions import PointCloudAction

    n, G = 5, Euclidean(2)
    act = PointCloudAction(G, ("position", None))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp(3 * n, 2 * n)

        def forward(self, x):
            pos, charge = x
            return pos + self.net(torch.cat([pos, charge], -1).flatten(1)).view(-1, n, 2)

    model = Canonicalization(Model(), PointCloudCanonicalizer(2, positions=0).double(), act,
                             PointCloudAction(G, "position"), positions=0)
    x = (torch.randn(4, n, 2, dtype=torch.float64), torch.randn(4, n, 1, dtype=torch.float64))
    assert_equivariant(model, act, PointCloudAction(G, "position"), x, n_samples=16)
