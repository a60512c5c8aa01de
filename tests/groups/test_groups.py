import math

import pytest
import torch

import symmetries as sym
from tests.conftest import ALL_GROUPS

G = sym.groups


def _close(group, a, b):
    return bool(group.equal(a, b, atol=1e-9).all())


def test_axioms(group, gen):
    a, b, c = (group.sample(16, generator=gen) for _ in range(3))
    e = group.power(a, 0)
    assert _close(group, group.compose(group.compose(a, b), c), group.compose(a, group.compose(b, c)))
    assert _close(group, group.compose(a, group.inverse(a)), e)
    assert _close(group, group.compose(group.inverse(a), a), e)
    assert _close(group, group.compose(e, a), a)
    assert _close(group, group.power(a, 3), group.compose(a, group.compose(a, a)))
    assert _close(group, group.power(a, -2), group.inverse(group.compose(a, a)))
    group.check(a)


@pytest.mark.parametrize("group,order", [(G.Cyclic(7), 7), (G.Dihedral(5), 10), (G.Symmetric(4), 24),
                                         (G.DirectProduct(G.Cyclic(3), G.Dihedral(2)), 12)])
def test_finite_elements(group, order):
    els = group.elements()
    assert group.order == order == group.batch_size(els)
    flat = torch.cat([t.reshape(order, -1) for t in (els if isinstance(els, tuple) else (els,))], 1)
    assert len({tuple(r) for r in flat.tolist()}) == order  # all distinct
    # closed under composition: every product is in the list
    keys = {tuple(r) for r in flat.tolist()}
    prods = group.compose(els, group.select(els, 3))
    pflat = torch.cat([t.reshape(order, -1) for t in (prods if isinstance(prods, tuple) else (prods,))], 1)
    assert all(tuple(r) in keys for r in pflat.tolist())


def test_generators_generate_finite_groups():
    for group in (G.Cyclic(6), G.Dihedral(5), G.Symmetric(5)):
        gens = group.discrete_generators
        seen = {tuple(group.identity().reshape(-1).tolist())}
        frontier = [group.identity()]
        while frontier:
            new = []
            for x in frontier:
                for i in range(group.batch_size(gens)):
                    y = group.compose(group.select(gens, i), x)
                    k = tuple(y.reshape(-1).tolist())
                    if k not in seen:
                        seen.add(k)
                        new.append(y)
            frontier = new
        assert len(seen) == group.order


@pytest.mark.parametrize("name", ["SO2", "O2", "SO3", "O3", "O5", "SO4"])
def test_orthogonal_samples(name, gen):
    group = ALL_GROUPS[name]
    g = group.sample(200, generator=gen)
    eye = torch.eye(g.shape[-1], dtype=g.dtype)
    assert torch.allclose(g @ g.transpose(-1, -2), eye.expand_as(g), atol=1e-12)
    det = torch.linalg.det(g)
    if isinstance(group, G.SO):
        assert torch.allclose(det, torch.ones_like(det))
    else:  # Haar on O(n): both components, about equally often
        assert 60 < int((det < 0).sum()) < 140


def test_haar_so3_mean_is_zero(gen):
    # E[R] = 0 under the Haar measure; 20000 samples give |mean| ~ 1/sqrt(3 * 20000)
    R = G.SO3().sample(20000, generator=gen)
    assert R.mean(0).abs().max() < 0.03
    # E[tr R] = 0 and E[(tr R)^2] = 1 for SO(3)
    tr = torch.diagonal(R, dim1=-2, dim2=-1).sum(-1)
    assert abs(float(tr.mean())) < 0.03 and abs(float((tr**2).mean()) - 1) < 0.05


def test_lorentz_preserves_metric(gen):
    eta = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))
    for group in (G.Lorentz(), G.O13()):
        g = group.sample(50, generator=gen)
        assert torch.allclose(g.transpose(-1, -2) @ eta @ g, eta.expand_as(g), atol=1e-9)
    g = G.Lorentz().sample(50, generator=gen)
    assert (g[:, 0, 0] >= 1).all() and torch.allclose(torch.linalg.det(g), torch.ones(50, dtype=g.dtype))


def test_matrix_group_from_generators_symplectic(gen):
    # Sp(2): Lie algebra of Hamiltonian matrices J S, S symmetric; J = [[0, 1], [-1, 0]]
    J = torch.tensor([[0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    S = [torch.tensor(m, dtype=torch.float64) for m in ([[1, 0], [0, 0]], [[0, 1], [1, 0]], [[0, 0], [0, 1]])]
    group = G.MatrixGroup(lie_generators=torch.stack([J @ s for s in S]))
    g = group.sample(20, generator=gen)
    assert torch.allclose(g.transpose(-1, -2) @ J @ g, J.expand_as(g), atol=1e-9)
    assert group.compact is False


def test_dihedral_acts_on_plane():
    D = G.Dihedral(4)
    V = sym.reps.standard(D)
    r, f = D.discrete_generators[:1], D.discrete_generators[1:]
    assert torch.allclose(V(r)[0], torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64), atol=1e-15)
    assert torch.allclose(V(f)[0], torch.diag(torch.tensor([1.0, -1.0], dtype=torch.float64)))
    # f r f = r^-1
    assert bool(D.equal(D.compose(f, D.compose(r, f)), D.inverse(r)).all())


@pytest.mark.parametrize("bad,group,match", [
    (torch.tensor([[0, 1, 1]]), G.Symmetric(3), "permutations"),
    (torch.tensor([5]), G.Cyclic(4), r"\[0, 4\)"),
    (torch.zeros(2, 3, 3), G.SO2(), r"\(n, 2, 2\)"),
    (torch.zeros(2, 2, dtype=torch.long), G.Cyclic(3), "shape"),
    (torch.eye(3)[None], G.Cyclic(3), "long"),
])
def test_bad_elements(bad, group, match):
    with pytest.raises(ValueError, match=match):
        group.check(bad)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="n >= 1"):
        G.Cyclic(0)
    with pytest.raises(ValueError, match="one size"):
        G.MatrixGroup(lie_generators=torch.zeros(1, 2, 2), discrete_generators=torch.zeros(1, 3, 3))
    with pytest.raises(TypeError, match="no elements"):
        G.SO3().elements()


def test_symmetric_order_and_listing():
    assert G.Symmetric(6).order == math.factorial(6)
    with pytest.raises(ValueError, match="too many"):
        G.Symmetric(10).elements()
