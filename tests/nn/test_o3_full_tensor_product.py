"""Tensor products without weights (FullTensorProduct, ElementwiseTensorProduct): e3nn's
layout and values, O(3) equivariance, closed forms, and bad input."""

import pytest
import torch

import symmetries as sym
from symmetries.nn import ElementwiseTensorProduct, FullTensorProduct

FULL_CASES = [("2x0e + 3x1o + 1x2e", "0e + 2x1o + 1e", None),
              ("2x0e + 3x1o + 1x2e", "0e + 2x1o + 1e", ["0e", "1o", "2e"]),
              ("1x1o + 2x2o", "2x0o + 1x1e", None)]
ELEMENTWISE_CASES = [("3x0e + 2x1o", "2x1o + 3x0e"), ("4x1o", "1x0e + 3x2e")]


def _inputs(tp, n, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tp.irreps_in1.randn(n, -1, generator=g, dtype=dtype), tp.irreps_in2.randn(n, -1, generator=g, dtype=dtype)


def _products():
    return [FullTensorProduct(*case) for case in FULL_CASES] + [ElementwiseTensorProduct(*c) for c in ELEMENTWISE_CASES]


@pytest.mark.parametrize("case", FULL_CASES, ids=["full", "filtered", "odd-parities"])
def test_full_product_equals_e3nn(e3nn_o3, case):
    ours, theirs = FullTensorProduct(*case), e3nn_o3.FullTensorProduct(*case)
    assert str(ours.irreps_out) == str(theirs.irreps_out)
    assert [tuple(i[:4]) for i in ours.instructions] == [tuple(i[:4]) for i in theirs.instructions]
    x1, x2 = _inputs(ours, 9, torch.float64)
    assert (ours(x1, x2) - theirs(x1, x2)).abs().max() < 1e-12


@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=["reordered", "split-blocks"])
def test_elementwise_product_equals_e3nn(e3nn_o3, case):
    ours, theirs = ElementwiseTensorProduct(*case), e3nn_o3.ElementwiseTensorProduct(*case)
    assert (str(ours.irreps_in1), str(ours.irreps_in2), str(ours.irreps_out)) == (
        str(theirs.irreps_in1), str(theirs.irreps_in2), str(theirs.irreps_out))
    x1, x2 = _inputs(ours, 9, torch.float64)
    assert (ours(x1, x2) - theirs(x1, x2)).abs().max() < 1e-12


def test_norm_normalization_equals_e3nn(e3nn_o3):
    ours = FullTensorProduct("2x1o + 1x2e", "1x1o", irrep_normalization="norm")
    theirs = e3nn_o3.FullTensorProduct("2x1o + 1x2e", "1x1o", irrep_normalization="norm")
    x1, x2 = _inputs(ours, 9, torch.float64)
    assert (ours(x1, x2) - theirs(x1, x2)).abs().max() < 1e-12


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_equivariant_under_o3(dtype, tol):
    """z(D1 x1, D2 x2) = D_out z(x1, x2) for 12 random O(3) elements, reflections included."""
    R = sym.groups.O3().sample(12, generator=torch.Generator().manual_seed(3)).to(dtype)
    for tp in _products():
        x1, x2 = _inputs(tp, 5, dtype)
        out = tp(x1, x2)
        for g in R:
            D1, D2, Do = (irreps.D_from_matrix(g).to(dtype) for irreps in (tp.irreps_in1, tp.irreps_in2, tp.irreps_out))
            moved = tp(x1 @ D1.T, x2 @ D2.T)
            assert (moved - out @ Do.T).abs().max() <= tol * max(1.0, float(out.abs().max()))


def test_full_product_of_vectors_is_dot_cross_and_traceless_part():
    """1o x 1o: the 0e output is a.b / sqrt(3), the 1e output (a x b) / sqrt(2), and the
    product is an isometry: |z|^2 = |a|^2 |b|^2 (so the 2e part is the rest)."""
    a, b = torch.randn(2, 6, 3, dtype=torch.float64).unbind(0)
    z = FullTensorProduct("1o", "1o")(a, b)
    assert torch.allclose(z[:, 0], (a * b).sum(-1) / 3 ** 0.5, atol=1e-14)
    assert torch.allclose(z[:, 1:4], torch.linalg.cross(a, b) / 2 ** 0.5, atol=1e-14)
    assert torch.allclose(z.pow(2).sum(-1), a.pow(2).sum(-1) * b.pow(2).sum(-1), atol=1e-12)


def test_component_normalized_full_product_is_an_isometry():
    """With every output kept, sqrt(2l+1) C maps V1 (x) V2 onto the sum of its irreps
    isometrically: |z|^2 = |x1|^2 |x2|^2 for every sample."""
    tp = FullTensorProduct(*FULL_CASES[0][:2])
    x1, x2 = _inputs(tp, 11, torch.float64)
    assert torch.allclose(tp(x1, x2).pow(2).sum(-1), x1.pow(2).sum(-1) * x2.pow(2).sum(-1), rtol=1e-12, atol=0)


def test_leading_dimensions_broadcast_and_empty_batch():
    tp = FullTensorProduct("2x0e + 1x1o", "1x1o")
    x1, x2 = _inputs(tp, 6, torch.float64)
    out = tp(x1.view(2, 3, -1), x2[:3])  # (2, 3, .) with (3, .)
    assert torch.allclose(out.view(6, -1), tp(x1, x2[:3].repeat(2, 1)), atol=1e-14)
    assert tp(x1[:0], x2[:0]).shape == (0, tp.irreps_out.dim)
    assert not list(tp.parameters()) and tp.state_dict() == {}


def test_bad_input():
    with pytest.raises(ValueError, match="pairs the irreps channel by channel: 2x0e has 2 and 3x0e has 3"):
        ElementwiseTensorProduct("2x0e", "3x0e")
    with pytest.raises(ValueError, match="filter_ir_out must be irreps"):
        FullTensorProduct("1o", "1o", filter_ir_out=["vector"])
    with pytest.raises(ValueError, match="irrep_normalization must be 'component' or 'norm'"):
        FullTensorProduct("1o", "1o", irrep_normalization="none")
    tp = FullTensorProduct("2x0e + 1x1o", "1x1o")
    with pytest.raises(ValueError, match=r"x1 has shape \(4, 4\) but irreps 2x0e\+1x1o need a last dimension of 5"):
        tp(torch.zeros(4, 4), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="leading dimensions do not broadcast"):
        tp(torch.zeros(4, 5), torch.zeros(3, 3))


@pytest.mark.slow
def test_torch_compile_matches_eager():
    tp = FullTensorProduct("2x0e + 1x1o", "1x1o + 1x2e")
    x1, x2 = _inputs(tp, 8, torch.float32)
    assert torch.allclose(torch.compile(tp)(x1, x2), tp(x1, x2), atol=1e-5)
