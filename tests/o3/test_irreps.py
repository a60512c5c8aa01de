import pytest
import torch

import symmetries as sym
from symmetries.o3 import Irrep, Irreps


def test_irrep_parsing_and_properties():
    assert Irrep("1o") == Irrep(1, -1) == Irrep((1, -1)) == (1, -1)
    assert Irrep("2y") == Irrep(2, 1) and Irrep("3y") == Irrep(3, -1)
    assert Irrep("2e").dim == 5 and Irrep("0e").is_scalar() and not Irrep("0o").is_scalar()
    assert str(Irrep(3, -1)) == "3o"
    assert list(Irrep("1o") * Irrep("1o")) == [Irrep("0e"), Irrep("1e"), Irrep("2e")]
    assert list(Irrep("2e") * Irrep("1o")) == [Irrep("1o"), Irrep("2o"), Irrep("3o")]


@pytest.mark.parametrize("bad", ["1x", "1q", "-1e", "e", "1.5o", "2x1o + ", "3 * 1o"])
def test_bad_irreps_strings(bad):
    with pytest.raises(ValueError, match="cannot parse|multiplicity"):
        Irreps(bad)


def test_bad_irrep_values():
    with pytest.raises(ValueError, match="parity"):
        Irrep(1, 0)
    with pytest.raises(ValueError, match="degree"):
        Irrep(-1, 1)


def test_irreps_structure():
    irreps = Irreps("16x0e + 8x1o + 4x2e")
    assert irreps.dim == 16 + 24 + 20 and irreps.num_irreps == 28 and irreps.lmax == 2
    assert [(mul, (l, p)) for mul, (l, p) in irreps] == [(16, (0, 1)), (8, (1, -1)), (4, (2, 1))]
    assert irreps.slices() == [slice(0, 16), slice(16, 40), slice(40, 60)]
    assert str(irreps) == "16x0e+8x1o+4x2e" and Irreps(str(irreps)) == irreps
    assert irreps == "16x0e+8x1o+4x2e" and irreps[1:] == Irreps("8x1o+4x2e")
    assert irreps.count("1o") == 8 and "2e" in irreps and "2o" not in irreps
    assert Irreps("1o") == Irreps([(1, (1, -1))]) == Irreps(Irrep("1o")) == Irreps(["1o"])


def test_irreps_algebra():
    a, b = Irreps("2x0e + 1x1o"), Irreps("1x1o + 3x2e")
    assert a + b == Irreps("2x0e+1x1o+1x1o+3x2e")
    assert (a + b).simplify() == Irreps("2x0e+2x1o+3x2e")
    assert 2 * a == a * 2 == Irreps("2x0e+1x1o+2x0e+1x1o")
    assert Irreps("0x1e + 2x0e + 0x2o").simplify() == Irreps("2x0e")
    with pytest.raises(TypeError, match="int"):
        a * b


def test_irreps_sort():
    irreps = Irreps("1x2e + 3x0e + 2x1o + 1x0o + 1x1e")
    s = irreps.sort()
    assert s.irreps == Irreps("1x0o+3x0e+2x1o+1x1e+1x2e")
    assert all(s.irreps[i] == irreps[s.inv[i]] for i in range(len(irreps)))
    assert all(irreps[j] == s.irreps[s.p[j]] for j in range(len(irreps)))


def test_randn_shapes_and_norm():
    irreps = Irreps("5x0e + 3x2e")
    g = torch.Generator().manual_seed(0)
    assert irreps.randn(4, 2, -1).shape == (4, 2, 20)
    assert irreps.randn(7, -1, 3).shape == (7, 20, 3)
    x = irreps.randn(200000, -1, normalization="norm", generator=g, dtype=torch.float64)
    sq = x[:, 5:].reshape(-1, 3, 5).pow(2).sum(-1).mean()
    assert abs(sq - 1) < 0.02


def test_rep_is_the_sum_of_o3_irreps():
    G = sym.groups.O3()
    irreps = Irreps("2x0e + 1x1o + 1x2o")
    plain = sym.reps.SumRep([sym.reps.irrep(G, 0, 1)] * 2 + [sym.reps.irrep(G, 1, -1), sym.reps.irrep(G, 2, -1)])
    assert irreps.rep == plain and irreps.as_rep() == plain and irreps.rep.dim == 10
    g = G.sample(16, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(irreps.rep(g), plain(g), atol=1e-12)


def test_D_from_matrix_is_a_representation_with_parity():
    G = sym.groups.O3()
    gen = torch.Generator().manual_seed(2)
    a, b = G.sample(8, generator=gen), G.sample(8, generator=gen)
    irreps = Irreps("1x0o + 1x1o + 1x1e + 2x2e + 1x3o")
    Da, Db, Dab = irreps.D_from_matrix(a), irreps.D_from_matrix(b), irreps.D_from_matrix(a @ b)
    assert torch.allclose(Da @ Db, Dab, atol=1e-12)
    assert torch.allclose(Da @ Da.transpose(-1, -2), torch.eye(irreps.dim, dtype=torch.float64), atol=1e-12)
    minus = -torch.eye(3, dtype=torch.float64)[None]
    parity = torch.cat([torch.full((mi.dim,), float(mi.ir.p)) for mi in irreps]).double()
    assert torch.equal(irreps.D_from_matrix(minus)[0], torch.diag(parity))
    proper = a * torch.linalg.det(a).sign()[:, None, None]
    assert torch.allclose(Irrep("1o").D_from_matrix(a), a, atol=1e-14)
    assert torch.allclose(Irrep("1e").D_from_matrix(a), proper, atol=1e-14)


def test_D_from_matrix_bad_input():
    with pytest.raises(ValueError, match="3x3"):
        Irreps("1o").D_from_matrix(torch.eye(4))
