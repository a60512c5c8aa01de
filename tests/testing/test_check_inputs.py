"""The checker on what real models look like: several arguments, several symmetries at once,
non-finite outputs; its verdict's thresholds and its readable worst element."""

import math

import pytest
import torch

import symmetries as sym
from symmetries.actions import PointCloudAction, ProductAction, SetPermutation, invariant

G = sym.groups


def _cloud(gen, b=4, n=5):
    return torch.randn(b, n, 3, generator=gen, dtype=torch.float64)


def test_outputs_that_are_not_finite_get_no_symmetry_verdict(gen):
    V = sym.reps.standard(G.SO3())
    x = torch.randn(8, 3, generator=gen, dtype=torch.float64)
    report = sym.check_equivariance(lambda v: v.norm(dim=-1, keepdim=True).log() * 0 / 0, V, invariant(), x)
    assert report.verdict == "not finite" and math.isnan(report.max_rel_error)
    assert "f(x) has 8 non-finite values of 8 (8 nan, 0 inf)" in str(report) and "no symmetry verdict" in str(report)
    with pytest.raises(AssertionError, match="not finite"):
        sym.assert_equivariant(lambda v: v / 0, V, V, x)
    # finite at x, infinite at a moved input: found too, with the element that did it
    blowup = sym.check_equivariance(lambda v: 1 / (v[:, :1] - x[:, :1]), V, invariant(), x, n_samples=4, generator=gen)
    assert blowup.verdict == "not finite" or "inf" in str(blowup)


def test_several_arguments_are_moved_one_each(gen):
    pos = _cloud(gen).reshape(-1, 3)
    batch = torch.arange(4).repeat_interleave(5)

    def centred_norms(pos, batch):  # f(pos, batch): rotation and translation invariant
        centre = torch.zeros(4, 3, dtype=pos.dtype).index_add(0, batch, pos) / 5
        return (pos - centre[batch]).norm(dim=-1)

    act = PointCloudAction(G.Euclidean(3))
    report = sym.check_equivariance(centred_norms, (act, None), invariant(), (pos, batch), n_samples=16, generator=gen)
    assert report.verdict == "exact" and report.max_rel_error < 1e-12
    kw = sym.check_equivariance(centred_norms, {"pos": act, "batch": None}, invariant(), {"pos": pos, "batch": batch},
                                n_samples=16, generator=gen)
    assert kw.verdict == "exact"
    broken = sym.check_equivariance(lambda pos, batch: pos[:, 0], (act, None), invariant(), (pos, batch), generator=gen)
    assert broken.verdict == "absent"
    with pytest.raises(ValueError, match=r"act_in is a tuple of 2 actions.*inputs must be a tuple of 2 arguments"):
        sym.check_equivariance(centred_norms, (act, None), invariant(), pos)
    with pytest.raises(ValueError, match="must share one group"):
        sym.check_equivariance(centred_norms, (act, SetPermutation(5)), invariant(), (pos, batch))


def test_several_symmetries_are_reported_per_factor(gen):
    x = _cloud(gen)
    rotate, permute = PointCloudAction(G.SO3()), SetPermutation(5)

    def invariant_model(p):  # invariant to rotations and to relabelling the points
        return (p @ p.transpose(1, 2)).flatten(1).sort(-1).values

    both = sym.check_equivariance(invariant_model, [rotate, permute], invariant(), x, n_samples=16, generator=gen)
    assert isinstance(both, sym.testing.ProductReport) and both.verdict == "exact"
    assert [r.group for r in both.factors] == [G.SO3(), G.Symmetric(5)] and both.factors[1].exhaustive is False

    def first_point(p):  # rotation invariant, but point 0 is special
        return p[:, :1].norm(dim=-1)

    product = ProductAction(rotate, permute)
    assert product.group == G.DirectProduct(G.SO3(), G.Symmetric(5))
    mixed = sym.check_equivariance(first_point, product, invariant(), x, n_samples=16, generator=gen)
    assert [r.verdict for r in mixed.factors] == ["exact", "absent"] and mixed.verdict == "absent"
    assert "SO3(): exact" in str(mixed) and "Symmetric(5): absent" in str(mixed)
    # the product acts as the composition of its factors
    g = product.group.sample(1, generator=gen)
    assert torch.allclose(product.act(g, x), rotate.act(g[0], permute.act(g[1], x)))


def test_thresholds_are_stated_and_can_be_set(gen):
    V = sym.reps.standard(G.SO3())
    x = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    W = torch.eye(3, dtype=torch.float64) + 0.01 * torch.randn(3, 3, generator=gen, dtype=torch.float64)
    report = sym.check_equivariance(lambda v: v @ W.T, V, V, x, generator=gen)
    assert report.verdict == "approximate" and 0.01 < report.max_rel_error < 0.1
    text = str(report)
    assert "exact <= 2.2e-12, approximate < 0.1" in text and "x the exact threshold" in text
    assert report.times_exact == pytest.approx(report.max_rel_error / 2.220446049250313e-12)
    strict = sym.check_equivariance(lambda v: v @ W.T, V, V, x, generator=gen, approximate_tol=0.01)
    assert strict.verdict == "absent"
    loose = sym.check_equivariance(lambda v: v @ W.T, V, V, x, generator=gen, exact_tol=0.09)
    assert loose.verdict == "exact"
    with pytest.raises(ValueError, match="0 < exact_tol < approximate_tol"):
        sym.check_equivariance(lambda v: v, V, V, x, exact_tol=0.5)
    assert sym.testing.exact_tolerance(torch.float32) == pytest.approx(1e4 * 2 ** -23)
    half = sym.check_equivariance(lambda v: v, V, V, x.half())  # rounding of half precision alone
    assert half.exact_tol == pytest.approx(0.01) and half.verdict == "exact"


@pytest.mark.parametrize("group, element, text", [
    (G.O3(), -torch.eye(3, dtype=torch.float64)[None], "identity rotation, then inversion x -> -x"),
    (G.SO3(), torch.tensor([[[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]], dtype=torch.float64),
     "rotation by 90 deg about (0, 0, 1)"),
    (G.O2(), torch.tensor([[[1.0, 0], [0, -1]]], dtype=torch.float64), "rotation by 0 deg after a reflection across the x axis"),
    (G.Cyclic(4), torch.tensor([3]), "rotation by 270 deg (r^3)"),
    (G.Dihedral(4), torch.tensor([[1, 1]]), "rotation by 90 deg after a reflection across the x axis"),
    (G.Symmetric(5), torch.tensor([[2, 0, 1, 4, 3]]), "(0 2 1)(3 4)"),
])
def test_elements_are_described_in_words(group, element, text):
    assert group.describe(element) == text


def test_the_worst_element_is_printed_readably_for_every_kind_of_group(gen):
    x = _cloud(gen)
    report = sym.check_equivariance(lambda p: p[:, :, :1], PointCloudAction(G.Euclidean(3)), invariant(), x,
                                    n_samples=8, generator=gen)
    assert "worst at rotation by" in str(report) and "then translation by (" in str(report)
    assert "tensor of shape" not in str(report)
    perm = sym.check_equivariance(lambda p: p[:, 0], SetPermutation(5), invariant(), x, n_samples=8, generator=gen)
    assert "worst at (" in str(perm)
    c4 = sym.check_equivariance(lambda im: im[:, :, 0, 0], sym.actions.rotate_image(G.Cyclic(4)), invariant(),
                                torch.randn(2, 1, 5, 5, generator=gen, dtype=torch.float64))
    assert "worst at rotation by" in str(c4) and "deg (r^" in str(c4)


def test_complex_outputs_are_compared_in_both_parts(gen):
    """A complex output that is invariant in its real part only is not invariant."""
    V = sym.reps.standard(G.SO3())
    x = torch.randn(6, 3, generator=gen, dtype=torch.float64)
    good = sym.check_equivariance(lambda v: torch.complex(v.norm(dim=-1), v.norm(dim=-1) ** 2), V, invariant(), x)
    assert good.verdict == "exact" and good.dtype == torch.complex128
    bad = sym.check_equivariance(lambda v: torch.complex(v.norm(dim=-1), v[:, 0]), V, invariant(), x)
    assert bad.verdict == "absent"
    nan = sym.check_equivariance(lambda v: torch.complex(v.norm(dim=-1), v[:, 0] / 0), V, invariant(), x)
    assert nan.verdict == "not finite"
