"""Learned canonicalization of images: h(g x) = g h(x), and any model made invariant with it."""

import pytest
import torch
from torch import nn

import symmetries as sym
from symmetries.symmetrize import Canonicalization, ImageCanonicalizer


def _batched(group, g, n):
    return g.expand(n, *g.shape)


@pytest.mark.parametrize("group", [sym.groups.Cyclic(4), sym.groups.Dihedral(4)], ids=["C4", "D4"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_canonical_element_is_equivariant_on_the_grid(group, dtype):
    torch.manual_seed(0)
    canon = ImageCanonicalizer(group, 2).to(dtype)
    x = torch.randn(16, 2, 11, 11, dtype=dtype)
    h = canon(x)
    assert h.shape == (16, *group.identity().shape[1:])
    act = sym.actions.rotate_image(group)
    for g in group.elements():  # every element, exactly
        g = _batched(group, g, 16)
        assert torch.equal(canon(act.act(g, x)), group.compose(g, h))
    assert len(torch.unique(h, dim=0)) > 1  # not a constant map


def test_canonicalization_makes_a_plain_cnn_exactly_invariant():
    torch.manual_seed(0)
    C4 = sym.groups.Cyclic(4)
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 9 * 9, 3)).double()
    x = torch.randn(8, 1, 11, 11, dtype=torch.float64)
    act_in = sym.actions.rotate_image(C4)
    assert sym.check_equivariance(cnn, act_in, sym.actions.invariant(), x).verdict != "exact"
    model = Canonicalization(cnn, ImageCanonicalizer(C4, 1).double(), act_in, sym.actions.invariant())
    report = sym.check_equivariance(model, act_in, sym.actions.invariant(), x)
    assert report.verdict == "exact" and report.max_rel_error <= 1e-12


def test_prior_loss_teaches_upright_images_the_identity():
    torch.manual_seed(0)
    C4 = sym.groups.Cyclic(4)
    canon = ImageCanonicalizer(C4, 1, channels=4)
    upright = torch.zeros(32, 1, 9, 9)
    upright[:, 0, 1:4, 3:6] = 1.0  # a bar in the top half: a pose to recognise
    upright = upright + 0.1 * torch.randn_like(upright)
    before = float(canon.prior_loss(upright).detach())
    opt = torch.optim.Adam(canon.parameters(), lr=0.02)
    for _ in range(60):
        opt.zero_grad()
        canon.prior_loss(upright).backward()
        opt.step()
    assert float(canon.prior_loss(upright).detach()) < 0.3 * before
    assert (canon(upright) == 0).float().mean() > 0.9
    turned = sym.actions.rotate_image(C4).act(torch.full((32,), 1), upright)
    assert (canon(turned) == 1).float().mean() > 0.9  # and a quarter turn of them the quarter turn


def test_other_groups_use_steerable_filters_and_bad_input_is_refused():
    canon = ImageCanonicalizer(sym.groups.Cyclic(8), 1, channels=2)
    assert canon(torch.randn(3, 1, 15, 15)).shape == (3,)
    with pytest.raises(ValueError, match=r"expects images \(B, 1, H, W\), got \(3, 2, 15, 15\)"):
        canon(torch.randn(3, 2, 15, 15))
    with pytest.raises(TypeError, match="needs Cyclic"):
        ImageCanonicalizer(sym.groups.SO2(), 1)
