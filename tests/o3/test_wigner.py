import itertools
import math

import pytest
import torch

import symmetries as sym
from symmetries.o3 import angles_to_matrix, matrix_to_angles, wigner_3j, wigner_D


def _random_angles(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, n, generator=g, dtype=torch.float64) * torch.tensor([2 * math.pi, math.pi, 2 * math.pi])[:, None]


def test_wigner_D_l1_is_the_rotation_and_homomorphism():
    a, b, c = _random_angles(6)
    R = angles_to_matrix(a, b, c)
    assert torch.allclose(wigner_D(1, a, b, c), R, atol=1e-13)
    R2 = sym.groups.SO3().sample(6, generator=torch.Generator().manual_seed(3))
    for l in (2, 5, 12):
        D1 = wigner_D(l, *matrix_to_angles(R))
        D2 = wigner_D(l, *matrix_to_angles(R2))
        D12 = wigner_D(l, *matrix_to_angles(R @ R2))
        assert torch.allclose(D1 @ D2, D12, atol=1e-11)
        assert torch.allclose(D1 @ D1.transpose(-1, -2), torch.eye(2 * l + 1, dtype=torch.float64), atol=1e-12)


def test_matrix_angles_round_trip():
    R = sym.groups.SO3().sample(20, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(angles_to_matrix(*matrix_to_angles(R)), R, atol=1e-12)


@pytest.mark.parametrize("ls", [(1, 1, 2), (2, 3, 4), (4, 4, 8), (6, 5, 3), (12, 12, 12), (12, 7, 9)])
def test_wigner_3j_is_invariant_with_unit_norm(ls):
    l1, l2, l3 = ls
    C = wigner_3j(l1, l2, l3)
    assert C.shape == (2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1) and C.dtype == torch.float64
    assert abs(C.norm() - 1) < 1e-14
    a, b, c = _random_angles(2, seed=sum(ls))
    for i in range(2):
        D1, D2, D3 = (wigner_D(l, a[i], b[i], c[i]) for l in ls)
        rotated = torch.einsum("ijk,il,jm,kn->lmn", C, D1, D2, D3)
        assert (rotated - C).abs().max() < 1e-12


def test_wigner_3j_known_values():
    # l1 = l2 = 1 -> l3 = 0 is the dot product, l3 = 1 the cross product (up to sign)
    C0 = wigner_3j(1, 1, 0)[..., 0]
    assert torch.allclose(C0, torch.eye(3, dtype=torch.float64) / math.sqrt(3), atol=1e-15)
    C1 = wigner_3j(1, 1, 1)
    eps = torch.zeros(3, 3, 3, dtype=torch.float64)
    for i, j, k in itertools.permutations(range(3)):
        eps[i, j, k] = 1 if (i, j, k) in [(0, 1, 2), (1, 2, 0), (2, 0, 1)] else -1
    assert torch.allclose(C1, eps / math.sqrt(6), atol=1e-15) or torch.allclose(C1, -eps / math.sqrt(6), atol=1e-15)


def test_wigner_3j_selection_rule_error():
    with pytest.raises(ValueError, match="triangle"):
        wigner_3j(1, 1, 3)
    with pytest.raises(ValueError, match="l must be an int"):
        wigner_3j(1, -1, 1)


def _check_3j_against_e3nn(triples):
    eo = pytest.importorskip("e3nn.o3")
    for l1, l2, l3 in triples:
        ours, theirs = wigner_3j(l1, l2, l3), eo.wigner_3j(l1, l2, l3, dtype=torch.float64)
        assert (ours - theirs).abs().max() < 1e-10, (l1, l2, l3)


def _triples(lmax):
    return [(l1, l2, l3) for l1, l2 in itertools.product(range(lmax + 1), repeat=2)
            for l3 in range(abs(l1 - l2), min(l1 + l2, lmax) + 1)]


def test_cross_check_e3nn(float64_default):
    eo = pytest.importorskip("e3nn.o3")
    _check_3j_against_e3nn(_triples(3) + [(8, 8, 8), (8, 3, 6), (2, 7, 8), (5, 8, 4), (8, 8, 0)])
    a, b, c = _random_angles(5, seed=7)
    for l in range(9):
        assert (wigner_D(l, a, b, c) - eo.wigner_D(l, a, b, c)).abs().max() < 1e-10, l


@pytest.mark.slow
def test_cross_check_e3nn_all_3j_up_to_8(float64_default):
    _check_3j_against_e3nn(_triples(8))
