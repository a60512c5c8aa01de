"""Augmentation and averaging with the library's image action."""

import pytest
import torch
from torch import nn

from symmetries.actions import invariant, rotate_image
from symmetries.groups import SO2, Cyclic, Dihedral
from symmetries.reps import regular
from symmetries.symmetrize import Augment, GroupAveraging
from symmetries.testing import assert_equivariant, check_equivariance


def cnn(c_out=3, dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 49, c_out)).to(dtype)


def test_augment_rotates_each_image_by_its_own_quarter_turn():
    G = Cyclic(4)
    x = torch.randn(4, 1, 7, 7, dtype=torch.float64)
    g = torch.tensor([0, 1, 2, 3])
    gx = Augment(rotate_image(G), invariant(G))(x, g=g)
    sense = 1 if torch.equal(gx[1], torch.rot90(x[1], 1, dims=(-2, -1))) else -1  # the image convention
    for i in range(4):
        assert torch.equal(gx[i], torch.rot90(x[i], sense * i, dims=(-2, -1)))
    assert torch.equal(gx[0], x[0])


def test_augment_with_arbitrary_angles_interpolates_and_keeps_the_centre():
    G = SO2()
    x = torch.zeros(3, 1, 9, 9)
    x[:, :, 4, 4] = 1.0  # a dot at the rotation centre stays there
    gx = Augment(rotate_image(G))(x)
    torch.testing.assert_close(gx[:, :, 4, 4], torch.ones(3, 1))


@pytest.mark.parametrize("group", [Cyclic(4), Dihedral(4)])
def test_group_averaged_cnn_is_exactly_invariant_on_the_grid(group):
    act = rotate_image(group)
    model = GroupAveraging(cnn(), act, invariant(group))
    x = torch.randn(3, 1, 7, 7, dtype=torch.float64)
    assert check_equivariance(model.model, act, invariant(group), x).max_rel_error > 1e-3
    report = assert_equivariant(model, act, invariant(group), x)
    assert report.exhaustive


def test_group_averaged_cnn_with_regular_output_is_exactly_equivariant():
    G = Cyclic(4)
    act = rotate_image(G)
    model = GroupAveraging(cnn(4), act, regular(G))
    assert_equivariant(model, act, regular(G), torch.randn(3, 1, 7, 7, dtype=torch.float64))
