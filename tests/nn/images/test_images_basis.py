import pytest
import torch

from symmetries.groups import O2, SO2, SO3, Cyclic, Dihedral
from symmetries.nn.images import FieldType, HarmonicRep, kernel_basis, quotient
from symmetries.reps import irrep, irreps, regular, trivial


def _rot_flip(K, k, s):
    """Move a kernel grid (..., k, k) by r^k f^s (the same pixel map as the image action)."""
    if s:
        K = torch.flip(K, (-2,))
    return torch.rot90(K, k, (-2, -1))


def _assert_constraint(B, rep_in, rep_out, elements, to_kf):
    r"""kappa(g x) = rho_out(g) kappa(x) rho_in(g)^T  <=>  (g . kappa) = rho_out kappa rho_in^T with
    (g . kappa)(x) = kappa(g^-1 x): rotate the grid of rho_out(g) kappa rho_in(g)^T... checked as
    rho_out(g) kappa(g^-1 x) rho_in(g)^T == kappa(x)."""
    for i in range(len(elements)):
        g = elements[i:i + 1]
        k, s = to_kf(g)
        Ro, Ri = rep_out(g)[0], rep_in(g)[0]
        moved = torch.einsum("op,npqhw,iq->noihw", Ro, _rot_flip(B, k, s), Ri)
        assert torch.allclose(moved, B, rtol=0, atol=1e-12)


def _c4(g):
    return int(g[0]), 0


def _d4(g):
    return int(g[0, 0]), int(g[0, 1])


@pytest.mark.parametrize("basis", ["harmonic", "grid"])
@pytest.mark.parametrize("G,to_kf", [(Cyclic(4), _c4), (Dihedral(4), _d4)], ids=["C4", "D4"])
def test_basis_satisfies_the_kernel_constraint_exactly(G, to_kf, basis):
    reps = [trivial(G), regular(G)] + irreps(G, 0)
    pairs = [(ri, ro, 3) for ri in reps for ro in reps]
    some = reps[:2] + [next(r for r in reps if r.dim == 2)]  # trivial, regular, a 2-d irrep
    pairs += [(ri, ro, 5) for ri in some for ro in some]
    for ri, ro, k in pairs:
        B = kernel_basis(ri, ro, k, basis)
        flat = B.flatten(1)
        assert torch.allclose(flat @ flat.T, torch.eye(len(B), dtype=torch.float64), atol=1e-10)
        _assert_constraint(B, ri, ro, G.elements(), to_kf)


def test_grid_basis_counts_are_pixel_orbits():
    """Invariant kernels on the grid are constant on pixel orbits; G-CNN filter sizes."""
    C4, D4 = Cyclic(4), Dihedral(4)
    assert len(kernel_basis(trivial(C4), trivial(C4), 3, "grid")) == 3  # centre, edges, corners
    assert len(kernel_basis(trivial(C4), trivial(C4), 5, "grid")) == 7
    assert len(kernel_basis(trivial(D4), trivial(D4), 5, "grid")) == 6
    assert len(kernel_basis(trivial(C4), regular(C4), 3, "grid")) == 9  # lifting: one free 3x3 filter
    assert len(kernel_basis(regular(C4), regular(C4), 3, "grid")) == 36  # p4: |G| free 3x3 filters
    assert len(kernel_basis(regular(D4), regular(D4), 3, "grid")) == 72  # p4m


def test_harmonic_counts_for_so2_and_o2():
    """5x5: rings r = 0, 1, 2 with frequencies <= 0, 2, 1."""
    S, O = SO2(), O2()
    assert len(kernel_basis(trivial(S), trivial(S), 5)) == 3
    assert len(kernel_basis(trivial(S), irrep(S, 1), 5)) == 4  # m = 1 on rings 1, 2; a I + b J
    assert len(kernel_basis(trivial(S), irrep(S, 2), 5)) == 2  # m = 2 on ring 1 only
    assert len(kernel_basis(trivial(O), irrep(O, 1, 1), 5)) == 2  # reflections halve it
    assert len(kernel_basis(irrep(O, 1, 0), trivial(O), 5)) == 0  # no odd-parity isotropic kernel
    assert len(kernel_basis(irrep(S, 1), irrep(S, 1), 5)) == 2 * 3 + 2 * 1  # m = 0 (3 rings) + m = 2 (ring 1)


def test_harmonic_rep_is_a_rep():
    for G in (Cyclic(8), Dihedral(8), O2()):
        H = HarmonicRep(G, 3)
        a = G.sample(5, generator=torch.Generator().manual_seed(1))
        b = G.sample(5, generator=torch.Generator().manual_seed(2))
        assert torch.allclose(H(G.compose(a, b)), H(a) @ H(b), atol=1e-12)


def test_so2_basis_is_steerable_off_the_grid():
    """On a 90-degree grid rotation SO(2) kernels are exact too."""
    S = SO2()
    R = torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=torch.float64)
    B = kernel_basis(irrep(S, 1), irrep(S, 2), 7)
    moved = torch.einsum("op,npqhw,iq->noihw", irrep(S, 2)(R)[0], torch.rot90(B, 1, (-2, -1)), irrep(S, 1)(R)[0])
    assert len(B) > 0 and (moved - B).abs().max() < 1e-12


def test_quotient_reps_are_homomorphisms():
    for G, H, dim in [(Cyclic(8), Cyclic(2), 4), (Dihedral(4), Cyclic(4), 2), (Dihedral(4), Cyclic(2), 4),
                      (Dihedral(6), Dihedral(2), 3)]:
        q = quotient(G, H)
        assert q.dim == dim
        els = G.elements()
        for i in range(G.order):
            a = els[i:i + 1].expand(G.order, *els.shape[1:])
            assert torch.equal(q(G.compose(a, els)), q(a) @ q(els))
    with pytest.raises(ValueError, match="quotient"):
        quotient(Cyclic(8), Cyclic(3))


def test_bad_kernels():
    G = Cyclic(4)
    with pytest.raises(ValueError, match="odd"):
        kernel_basis(trivial(G), regular(G), 4)
    with pytest.raises(ValueError, match="grid basis needs"):
        kernel_basis(trivial(Cyclic(8)), regular(Cyclic(8)), 3, "grid")
    with pytest.raises(ValueError, match="expected a rep of"):
        kernel_basis(trivial(G), regular(Cyclic(8)), 3)


def test_field_type_structure_and_errors():
    G = Dihedral(4)
    t = FieldType.regular(G, 2) + FieldType.trivial(G, 1) + FieldType(G, [irrep(G, 1, 1)])
    assert t.size == 8 + 8 + 1 + 2 and len(t) == 4
    assert t.offsets() == [0, 8, 16, 17]
    assert t.field_of_channel().tolist() == [0] * 8 + [1] * 8 + [2] + [3, 3]
    assert "2xregular" in repr(t)
    assert t.rep.dim == t.size
    with pytest.raises(ValueError, match="rep of"):
        FieldType(G, [regular(Cyclic(4))])
    with pytest.raises(ValueError, match="cannot concatenate"):
        t + FieldType.trivial(Cyclic(4), 1)
    with pytest.raises(TypeError, match="planar"):
        FieldType(SO3(), [trivial(SO3())])
    with pytest.raises(ValueError, match="direct sum"):
        FieldType(G, [trivial(G) + trivial(G)])
    with pytest.raises(ValueError, match=r"shape \(B, 19, H, W\)"):
        t.check(torch.randn(1, 18, 5, 5))
