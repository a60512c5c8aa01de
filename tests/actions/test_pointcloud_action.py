"""The Euclidean group E(n) and the point-cloud action."""

import pytest
import torch

import symmetries as sym
from symmetries.groups import Euclidean
from symmetries.actions import PointCloudAction, invariant
from symmetries.groups import O3, SO3
from symmetries.reps import irrep, standard, trivial


@pytest.mark.parametrize("special", [False, True])
def test_euclidean_group_axioms(special, gen):
    G = Euclidean(3, special=special)
    a, b, c = (G.sample(8, generator=gen) for _ in range(3))
    G.check(a)
    assert G.equal(G.compose(G.compose(a, b), c), G.compose(a, G.compose(b, c))).all()
    assert G.equal(G.compose(a, G.inverse(a)), G.identity().expand(8, 4, 4)).all()
    q = Euclidean.linear(a)
    assert torch.allclose(q @ q.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(8, 3, 3), atol=1e-12)
    det = torch.linalg.det(q)
    if special:
        assert torch.allclose(det, torch.ones(8, dtype=torch.float64))
    else:
        many = torch.linalg.det(Euclidean.linear(G.sample(64, generator=gen)))
        assert (many < 0).any() and (many > 0).any()
    assert torch.equal(Euclidean.from_parts(q, Euclidean.translation(a)), a)
    assert G.linear_group == (SO3() if special else O3())
    assert PointCloudAction(G, standard(sym.groups.SO(3) if special else sym.groups.O(3))).linear_group == G.linear_group
    # the Lie algebra: 3 rotations + 3 translations, and exp stays in the group
    assert G.lie_generators.shape == (6, 4, 4)
    G.check(torch.linalg.matrix_exp(G.lie_generators.sum(0))[None])


def test_euclidean_check_rejects_non_homogeneous():
    G = Euclidean(2)
    bad = torch.eye(3, dtype=torch.float64)[None].clone()
    bad[0, 2, 0] = 1.0
    with pytest.raises(ValueError, match="last row must be"):
        G.check(bad)
    with pytest.raises(ValueError, match=r"shape \(n, 3, 3\)"):
        G.check(torch.eye(4, dtype=torch.float64)[None])


def test_action_is_a_group_action(gen):
    """act(a, act(b, x)) == act(ab, x), act(e, x) == x, for positions, vectors, pseudovectors and reps."""
    G = Euclidean(3)
    layout = {"pos": "position", "vel": "vector", "spin": "pseudovector", "q": None, "t2": standard(sym.groups.O(3)) ** 2}
    act = PointCloudAction(G, layout)
    x = {"pos": torch.randn(4, 5, 3, dtype=torch.float64, generator=gen),
         "vel": torch.randn(4, 5, 3, dtype=torch.float64, generator=gen),
         "spin": torch.randn(4, 5, 3, dtype=torch.float64, generator=gen),
         "q": torch.randn(4, 5, 1, dtype=torch.float64, generator=gen),
         "t2": torch.randn(4, 5, 9, dtype=torch.float64, generator=gen)}
    a, b = G.sample(1, generator=gen), G.sample(1, generator=gen)
    lhs, rhs = act.act(a, act.act(b, x)), act.act(G.compose(a, b), x)
    for k in x:
        assert torch.allclose(lhs[k], rhs[k], atol=1e-12)
    same = act.act(G.identity(), x)
    assert all(torch.allclose(same[k], x[k]) for k in x)
    # closed forms
    q, t = Euclidean.linear(a)[0], Euclidean.translation(a)[0]
    assert torch.allclose(lhs["q"], x["q"])
    moved = act.act(a, x)
    assert torch.allclose(moved["pos"], x["pos"] @ q.T + t)
    assert torch.allclose(moved["vel"], x["vel"] @ q.T)
    assert torch.allclose(moved["spin"], torch.linalg.det(q) * x["spin"] @ q.T)


def test_per_sample_and_per_graph_elements(gen):
    G = Euclidean(2)
    act = PointCloudAction(G, ("position", "vector"))
    x = (torch.randn(3, 4, 2, dtype=torch.float64, generator=gen), torch.randn(3, 4, 2, dtype=torch.float64, generator=gen))
    g = G.sample(3, generator=gen)
    out = act.act(g, x)
    for i in range(3):
        single = act.act(G.select(g, i), tuple(t[i:i + 1] for t in x))
        assert torch.allclose(out[0][i:i + 1], single[0]) and torch.allclose(out[1][i:i + 1], single[1])
    # flat nodes with a batch vector: element batch[k] moves node k
    flat = PointCloudAction(G, ("position", "batch"))
    batch = torch.tensor([0, 0, 1, 1, 1, 2])
    pos = torch.randn(6, 2, dtype=torch.float64, generator=gen)
    moved, _ = flat.act(g, (pos, batch))
    for k in range(6):
        ref, _ = flat.act(G.select(g, int(batch[k])), (pos[k:k + 1], batch[k:k + 1]))
        assert torch.allclose(moved[k:k + 1], ref)
    assert flat.batch_size((pos, batch)) == 3


def test_with_checker_and_o3_irreps(gen):
    """The centroid is E(3)-equivariant; pairwise distances are invariant; an l=2 feature follows its irrep."""
    G = Euclidean(3)
    pos = torch.randn(4, 6, 3, dtype=torch.float64, generator=gen)
    sym.assert_equivariant(lambda p: p.mean(1, keepdim=True), PointCloudAction(G), PointCloudAction(G), pos,
                           n_samples=16, generator=gen)
    sym.assert_equivariant(lambda p: torch.cdist(p, p), PointCloudAction(G), invariant(), pos, n_samples=16,
                           generator=gen)
    D2 = irrep(O3(), 2, 1)
    act = PointCloudAction(O3(), ("position", D2))
    feats = torch.randn(4, 6, 5, dtype=torch.float64, generator=gen)
    sym.assert_equivariant(lambda t: t[1] * t[0].norm(dim=-1, keepdim=True), act,
                           PointCloudAction(O3(), D2), (pos, feats), n_samples=16, generator=gen)


def test_augmentation_moves_each_sample(gen):
    Augment = sym.symmetrize.Augment
    act = PointCloudAction(Euclidean(3), ("position", "vector", None))
    x = (torch.randn(5, 4, 3, generator=gen), torch.randn(5, 4, 3, generator=gen), torch.randn(5, 4, 1, generator=gen))
    y = torch.randn(5, 4, 3, generator=gen)
    gx, gy = Augment(act, PointCloudAction(Euclidean(3)), generator=gen)(x, y)
    assert torch.allclose(gx[1].norm(dim=-1), x[1].norm(dim=-1), atol=1e-5)  # speeds preserved
    assert torch.equal(gx[2], x[2])
    d_before, d_after = torch.cdist(x[0], y), torch.cdist(gx[0], gy)
    assert torch.allclose(d_before, d_after, atol=1e-4)  # inputs and targets moved by the same element


def test_pointcloud_bad_input(gen):
    G = Euclidean(3)
    with pytest.raises(TypeError, match="Euclidean"):
        PointCloudAction(sym.groups.Cyclic(4))
    with pytest.raises(ValueError, match="unknown point-cloud entry"):
        PointCloudAction(G, ("position", "velocity"))
    with pytest.raises(ValueError, match="acts on features through O"):
        PointCloudAction(G, ("position", standard(SO3())))
    act = PointCloudAction(G, ("position", "vector"))
    g = G.sample(1, generator=gen)
    with pytest.raises(ValueError, match="must have 3 coordinates"):
        act.act(g, (torch.randn(4, 2), torch.randn(4, 3)))
    with pytest.raises(ValueError, match="tuple of 2 entries"):
        act.act(g, (torch.randn(4, 3),))
    with pytest.raises(ValueError, match="one per sample"):
        act.act(G.sample(3, generator=gen), (torch.randn(4, 5, 3), torch.randn(4, 5, 3)))
    with pytest.raises(ValueError, match="float tensor"):
        act.act(g, (torch.ones(4, 3, dtype=torch.long), torch.randn(4, 3)))
    with pytest.raises(ValueError):
        act.act(torch.eye(3, dtype=torch.float64)[None], (torch.randn(4, 3), torch.randn(4, 3)))
    assert PointCloudAction(O3(), trivial(O3())).act(O3().sample(1), torch.ones(2, 1)).shape == (2, 1)
