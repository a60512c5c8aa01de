import math

import pytest
import torch

import symmetries as sym
from symmetries.actions import ImageAction, disk_mask, planar_angle, rotate_image, rotate_images
from symmetries.groups import O2, SO2, Cyclic, Dihedral
from symmetries.reps import irrep, regular


def _close(a, b, tol=0.0):
    assert (a - b).abs().max() <= tol


@pytest.mark.parametrize("G", [Cyclic(4), Dihedral(4), Cyclic(2), Dihedral(1)], ids=repr)
@pytest.mark.parametrize("size", [7, 8])
def test_finite_action_is_a_homomorphism_exactly(G, size):
    """act(a, act(b, x)) == act(ab, x) for every pair, on odd and even grids (pixel permutations)."""
    rep = regular(G) if G.order > 1 else None
    act = ImageAction(G, rep)
    x = torch.randn(2, G.order, size, size, dtype=torch.float64)
    els = G.elements()
    for i in range(G.order):
        for j in range(G.order):
            a, b = els[i:i + 1], els[j:j + 1]
            _close(act(a, act(b, x)), act(G.compose(a, b), x))
    _close(act(G.identity(), x), x)


def test_quarter_turn_is_counter_clockwise_and_flip_is_top_bottom():
    x = torch.zeros(1, 1, 3, 3)
    x[0, 0, 0, 2] = 1.0  # top right: (x, y) = (1, 1)
    r = rotate_image(Cyclic(4))(torch.tensor([1]), x)
    assert r[0, 0, 0, 0] == 1.0  # -> top left (-1, 1)
    f = rotate_image(Dihedral(4))(torch.tensor([[0, 1]]), x)
    assert f[0, 0, 2, 2] == 1.0  # y -> -y: bottom right


def test_per_sample_elements_match_one_by_one():
    G = Dihedral(4)
    act = ImageAction(G, irrep(G, 1, 1) + irrep(G, 0, 0))
    x = torch.randn(8, 3, 9, 9, dtype=torch.float64)
    g = G.elements()
    batched = act(g, x)
    for i in range(8):
        _close(batched[i:i + 1], act(g[i:i + 1], x[i:i + 1]))


def test_channels_transform_by_the_rep():
    G = Cyclic(4)
    act = ImageAction(G, irrep(G, 1))
    x = torch.zeros(1, 2, 5, 5, dtype=torch.float64)
    x[0, 0, 2, 2] = 1.0  # a vector (1, 0) at the centre
    out = act(torch.tensor([1]), x)
    _close(out[0, :, 2, 2], torch.tensor([0.0, 1.0], dtype=torch.float64), 1e-15)


def test_so2_quarter_turns_are_exact_and_match_cyclic():
    x = torch.randn(3, 1, 9, 9, dtype=torch.float64)
    R = torch.tensor([[[0.0, -1.0], [1.0, 0.0]]], dtype=torch.float64)
    _close(ImageAction(SO2())(R, x), ImageAction(Cyclic(4))(torch.tensor([1]), x))
    F = torch.tensor([[[1.0, 0.0], [0.0, -1.0]]], dtype=torch.float64)
    _close(ImageAction(O2())(F, x), torch.flip(x, (-2,)))


def test_arbitrary_angles_compose_on_smooth_images():
    """Interpolated rotations: R(a) R(b) ~ R(a + b) inside the disk for smooth images."""
    n = 41
    yy, xx = torch.meshgrid(torch.arange(n) - 20.0, torch.arange(n) - 20.0, indexing="ij")
    x = torch.exp(-((xx - 5) ** 2 + (yy + 3) ** 2) / 30.0)[None, None].double()
    a = rotate_images(rotate_images(x, 20.0), 25.0)
    b = rotate_images(x, 45.0)
    m = disk_mask(n, n, 15)
    assert ((a - b) * m).abs().max() < 0.02
    # a Gaussian blob moves to the rotated position
    peak = torch.nonzero(b[0, 0] == b[0, 0].max())[0]
    c = math.cos(math.pi / 4)  # the blob at (x, y) = (5, 3) turns to (5c - 3s, 5s + 3c), s = c
    px, py = 5 * c - 3 * c, 5 * c + 3 * c
    assert abs(float(peak[1]) - 20 - px) <= 1 and abs(20 - float(peak[0]) - py) <= 1


def test_planar_angle_round_trip():
    G = O2()
    g = G.sample(16, generator=torch.Generator().manual_seed(0))
    theta, s = planar_angle(G, g)
    c, si = torch.cos(theta), torch.sin(theta)
    R = torch.stack([torch.stack([c, -si], -1), torch.stack([si, c], -1)], -2)
    Fs = torch.diag_embed(torch.stack([torch.ones_like(theta), 1 - 2 * s.double()], -1))
    _close(R @ Fs, g, 1e-12)


def test_rotate_images_per_sample_and_exact_multiples():
    x = torch.randn(4, 2, 7, 7)
    out = rotate_images(x, [0, 90, 180, 270])
    for i in range(4):
        _close(out[i], torch.rot90(x[i], i, (-2, -1)))


def test_checker_accepts_image_actions():
    G = Cyclic(4)
    report = sym.check_equivariance(lambda x: x.flip(-1), rotate_image(G), rotate_image(G), torch.randn(2, 1, 5, 5))
    assert report.verdict == "absent"
    report = sym.check_equivariance(lambda x: x.mean((2, 3)), rotate_image(G), sym.actions.invariant(),
                                    torch.randn(2, 1, 5, 5, dtype=torch.float64))
    assert report.verdict == "exact"


def test_bad_inputs():
    G = Cyclic(4)
    with pytest.raises(TypeError, match="planar groups"):
        ImageAction(sym.groups.SO3())
    with pytest.raises(ValueError, match="belongs to"):
        ImageAction(G, regular(Cyclic(8)))
    act = ImageAction(G, regular(G))
    with pytest.raises(ValueError, match="expects 4 channels, got 3"):
        act(torch.tensor([1]), torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        act(torch.tensor([1]), torch.randn(4, 5, 5))
    with pytest.raises(ValueError, match="2 group elements"):
        act(torch.tensor([1, 2]), torch.randn(3, 4, 5, 5))
    with pytest.raises(ValueError, match="square"):
        rotate_image(G)(torch.tensor([1]), torch.randn(1, 1, 5, 7))
    with pytest.raises(ValueError):
        act(torch.tensor([5]), torch.randn(1, 4, 5, 5))
