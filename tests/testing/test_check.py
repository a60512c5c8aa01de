import pytest
import torch

import symmetries as sym
from symmetries.actions import invariant
from symmetries.reps import standard, trivial

G = sym.groups


def test_checker_catches_a_broken_model(gen):
    group = G.SO3()
    V = standard(group)
    W = torch.randn(3, 3, generator=gen, dtype=torch.float64)
    x = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    report = sym.check_equivariance(lambda v: v @ W.T, V, V, x, n_samples=16, generator=gen)
    assert report.max_rel_error > 0.1 and report.verdict == "absent"
    with pytest.raises(AssertionError, match="not equivariant"):
        sym.assert_equivariant(lambda v: v @ W.T, V, V, x, generator=gen)
    # a slightly broken model is "approximate"
    E = torch.eye(3, dtype=torch.float64) + 1e-4 * W
    assert sym.check_equivariance(lambda v: v @ E.T, V, V, x, generator=gen).verdict == "approximate"


def test_checker_on_exact_models(gen):
    group = G.O3()
    V = standard(group)
    x = torch.randn(10, 3, generator=gen, dtype=torch.float64)
    norm = sym.check_equivariance(lambda v: v.norm(dim=-1, keepdim=True), V, invariant(), x, generator=gen)
    assert norm.max_rel_error < 1e-14 and norm.verdict == "exact" and norm.n_samples == 64
    scaled = sym.check_equivariance(lambda v: 3 * v * v.norm(dim=-1, keepdim=True), V, V, x, generator=gen)
    assert scaled.max_abs_error < 1e-13
    # not rotation invariant: the first coordinate
    first = sym.check_equivariance(lambda v: v[:, :1], V, trivial(group), x, generator=gen)
    assert first.verdict == "absent"
    assert "worst at" in str(first)


def test_finite_group_is_checked_exhaustively():
    group = G.Cyclic(4)
    V = standard(group)
    x = torch.randn(6, 2, dtype=torch.float64)
    report = sym.check_equivariance(lambda v: v, V, V, x)
    assert report.exhaustive and report.n_samples == 4


def test_worst_element_is_the_offending_one():
    group = G.Cyclic(4)
    V = standard(group)
    x = torch.randn(6, 2, dtype=torch.float64)
    # equivariant for rotations by 0 and 180 degrees only
    report = sym.check_equivariance(lambda v: torch.stack([v[:, 0], 2 * v[:, 1]], 1), V, V, x)
    assert int(report.worst_element) in (1, 3)
    assert report.per_element_rel_error[0] == 0 and report.per_element_rel_error[2] < 1e-15


def test_mismatched_groups_refused():
    x = torch.randn(4, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="must share one group"):
        sym.check_equivariance(lambda v: v, standard(G.SO3()), standard(G.O3()), x)
