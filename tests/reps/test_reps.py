import pytest
import torch

import symmetries as sym
from symmetries.reps import irrep, irreps, regular, standard, trivial
from tests.conftest import ALL_GROUPS

G = sym.groups


def _reps_of(group):
    V = standard(group)
    out = [trivial(group), V, V + V, V * V, 2 * V + trivial(group), V.dual(), V ** 3 if V.dim <= 3 else V * V]
    if group.order:
        out.append(regular(group))
    if isinstance(group, (G.Cyclic, G.Dihedral)) or (isinstance(group, G.O) and group.n in (2, 3)):
        out += irreps(group, 3)
    return out


def test_homomorphism(group, gen):
    a, b = group.sample(8, generator=gen), group.sample(8, generator=gen)
    ab = group.compose(a, b)
    for rep in _reps_of(group):
        lhs, rhs = rep(ab), rep(a) @ rep(b)
        assert torch.allclose(lhs, rhs, atol=1e-9 * max(1, float(rhs.abs().max()))), rep
        assert rep(a).shape == (8, rep.dim, rep.dim)
        e = rep(group.power(a, 0))
        assert torch.allclose(e, torch.eye(rep.dim, dtype=e.dtype).expand_as(e), atol=1e-10), rep


def test_lie_algebra_rep_is_derivative(group):
    """d rho(A) = d/dt rho(exp(tA)) at t = 0, by central differences."""
    lie = group.lie_generators
    if not len(lie) or isinstance(group, G.DirectProduct):
        pytest.skip("no Lie algebra")
    t = 1e-5
    for rep in _reps_of(group):
        d = rep.drep(lie)
        plus = rep(torch.linalg.matrix_exp(t * lie))
        minus = rep(torch.linalg.matrix_exp(-t * lie))
        assert torch.allclose((plus - minus) / (2 * t), d, atol=1e-6), rep


@pytest.mark.parametrize("name", ["SO2", "O2", "SO3", "O3"])
def test_irreps_orthogonal(name, gen):
    group = ALL_GROUPS[name]
    g = group.sample(10, generator=gen)
    for rep in irreps(group, 4):
        m = rep(g)
        assert torch.allclose(m @ m.transpose(-1, -2), torch.eye(rep.dim, dtype=m.dtype).expand_as(m), atol=1e-12)


@pytest.mark.parametrize("group", [G.Cyclic(5), G.Cyclic(6), G.Dihedral(5), G.Dihedral(6)], ids=str)
def test_character_orthogonality_and_regular_decomposition(group):
    """<chi_a, chi_b> = delta_ab for irreps of real type; the regular rep holds each irrep dim(irrep) times
    (a 2-d real irrep of a cyclic group is two complex irreps: multiplicity 2, norm 2)."""
    els = group.elements()
    table = irreps(group, 0)
    chars = torch.stack([r.character(els) for r in table])
    gram = chars @ chars.T / group.order
    expected = torch.diag(torch.tensor([1.0 if r.dim == 1 or isinstance(group, G.Dihedral) else 2.0 for r in table],
                                       dtype=torch.float64))
    assert torch.allclose(gram, expected, atol=1e-12)
    assert sum(r.dim**2 / gram[i, i] for i, r in enumerate(table)) == pytest.approx(group.order)
    dec = regular(group).decompose()
    # real type (all of D_n's, 1-d ones of C_n): multiplicity dim; complex type (2-d of C_n): once
    assert dec.multiplicities == [r.dim if isinstance(group, G.Dihedral) else 1 for r in dec.irreps]
    assert dec.irreps == table


@pytest.mark.parametrize("rep_fn", [
    lambda: regular(G.Dihedral(4)), lambda: regular(G.Cyclic(5)), lambda: standard(G.O3()) ** 2,
    lambda: standard(G.SO3()) ** 3, lambda: standard(G.SO2()) ** 3 + trivial(G.SO2()),
    lambda: standard(G.O2()) ** 2, lambda: standard(G.Dihedral(3)) * standard(G.Dihedral(3)),
], ids=["reg D4", "reg C5", "O3 V2", "SO3 V3", "SO2 V3+1", "O2 V2", "D3 V2"])
def test_decompose_block_diagonalizes(rep_fn, gen):
    rep = rep_fn()
    dec = rep.decompose()
    Q = dec.Q
    assert torch.allclose(Q @ Q.T, torch.eye(rep.dim, dtype=Q.dtype), atol=1e-10)
    g = rep.group.sample(12, generator=gen)
    block = dec.as_rep()
    assert torch.allclose(Q @ rep(g) @ Q.T, block(g), atol=1e-9)
    assert sum(r.dim * m for r, m in zip(dec.irreps, dec.multiplicities)) == rep.dim


def test_decompose_known_multiplicities():
    dec = (standard(G.O3()) ** 2).decompose()
    assert [(r.index, m) for r, m in zip(dec.irreps, dec.multiplicities)] == [((0, 1), 1), ((1, 1), 1), ((2, 1), 1)]
    dec = (standard(G.SO3()) ** 3).decompose()  # 1 + 3x1 + 2x2 + 3 (dims 1 + 9 + 10 + 7 = 27)
    assert dict(zip([r.index for r in dec.irreps], dec.multiplicities)) == {(0,): 1, (1,): 3, (2,): 2, (3,): 1}
    assert sym.reps.character_multiplicity(regular(G.Dihedral(5)), irrep(G.Dihedral(5), 1, 2)) == 2


def test_irrep_conventions():
    R = G.SO3().sample(4, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(irrep(G.SO3(), 1)(R), R, atol=1e-14)  # l = 1 is Cartesian (x, y, z)
    P = -torch.eye(3, dtype=torch.float64)[None]
    assert float(irrep(G.O3(), 1, -1)(P)[0, 0, 0]) == pytest.approx(-1)
    assert float(irrep(G.O3(), 2, 1)(P)[0, 0, 0]) == pytest.approx(1)
    with pytest.raises(ValueError, match="not an irrep index"):
        irrep(G.Cyclic(4), 3)
    with pytest.raises(ValueError, match="not an irrep index"):
        irrep(G.O3(), 1, 0)


def test_rep_algebra_and_errors():
    V = standard(G.SO3())
    assert (V + V).dim == 6 and (V * V).dim == 9 and (V**3).dim == 27 and (3 * V).dim == 9 and (V**0).dim == 1
    assert V + V == 2 * V and hash(V * V) == hash(V**2)
    with pytest.raises(ValueError, match="belongs to"):
        V + standard(G.O3())
    with pytest.raises(TypeError, match="another Rep"):
        V + 3
    with pytest.raises(TypeError, match="non-negative int"):
        V ** -1
    x = torch.randn(5, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        V.act(G.SO3().sample(1), x)
    with pytest.raises(ValueError, match=r"\(n, 3, 3\)"):
        V.act(torch.eye(2, dtype=torch.float64)[None], x[:, :3])
    with pytest.raises(ValueError, match="batch dimension 2"):
        V.act(G.SO3().sample(2), x[:, :3])


def test_lorentz_dual_differs_and_pairs():
    L = G.Lorentz()
    V = standard(L)
    g = L.sample(5, generator=torch.Generator().manual_seed(3))
    Vd = V.dual()
    assert not torch.allclose(V(g), Vd(g))
    # the pairing V* x V -> R is invariant: rho*(g)^T rho(g) = I
    assert torch.allclose(Vd(g).transpose(-1, -2) @ V(g), torch.eye(4, dtype=g.dtype).expand(5, 4, 4), atol=1e-9)


def test_per_sample_action():
    group = G.SO3()
    V = standard(group)
    g = group.sample(4, generator=torch.Generator().manual_seed(2))
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    y = V.act(g, x)
    for i in range(4):
        assert torch.allclose(y[i], x[i] @ g[i].T)


def test_wigner_d_accurate_near_the_poles():
    """Y-X-Y angles of rotations near the identity or a half-turn about x (beta ~ 0 or pi)
    stay accurate: D^l(R) is a homomorphism to 1e-12 there too."""
    gen = torch.Generator().manual_seed(0)
    L = G.so_generators(3)
    tiny = torch.linalg.matrix_exp(1e-7 * torch.einsum("na,aij->nij", torch.randn(64, 3, generator=gen,
                                                                                   dtype=torch.float64), L))
    flip = torch.diag(torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64))
    R = torch.cat([tiny, tiny @ flip])
    S = G.SO3().sample(128, generator=gen)
    for l in (2, 5):
        D = irrep(G.SO3(), l)
        assert torch.allclose(D(R @ S), D(R) @ D(S), atol=1e-12)
        assert torch.allclose(D(S @ R), D(S) @ D(R), atol=1e-12)


@pytest.mark.parametrize("angle", [1e-3, 0.03, 0.042, 1.0, 3.1])
def test_axis_rotations_exact_for_small_angles(angle):
    """Rotations by small angles (where torch.linalg.matrix_exp loses ~1e-10 in float64) are
    exact to rounding: l = 1 against the closed form, l = 3 against D(a) D(b) = D(a + b)."""
    from symmetries.reps.so3 import axis_rotation

    t = torch.tensor([angle], dtype=torch.float64)
    c, s = float(torch.cos(t)), float(torch.sin(t))
    closed = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=torch.float64)
    assert torch.allclose(axis_rotation(1, 1, t)[0], closed, atol=1e-15, rtol=0)
    half = axis_rotation(3, 0, t / 2)[0]
    assert torch.allclose(half @ half, axis_rotation(3, 0, t)[0], atol=1e-14, rtol=0)


def test_decompositions_print_readable_irrep_names():
    O3, SO3 = sym.groups.O3(), sym.groups.SO3()
    assert str((sym.reps.standard(O3) ** 2).decompose()) == "1x0e + 1x1e + 1x2e"
    assert repr((sym.reps.standard(O3) ** 2).decompose()) == "Decomposition(O3(): 1x0e + 1x1e + 1x2e)"
    assert str((sym.reps.standard(SO3) ** 2).decompose()) == "1x(l=0) + 1x(l=1) + 1x(l=2)"
    assert str(sym.reps.regular(sym.groups.Cyclic(4)).decompose()) == "1x(k=0) + 1x(k=1) + 1x(k=2)"
    assert str(sym.reps.regular(sym.groups.Dihedral(4)).decompose()) == \
        "1x(k=0+) + 1x(k=0-) + 2x(k=1) + 1x(k=2+) + 1x(k=2-)"
    assert repr(sym.reps.irrep(O3, 1, -1)) == "irrep(O3(), 1o)" and str(sym.reps.irrep(O3, 2, 1)) == "2e"
