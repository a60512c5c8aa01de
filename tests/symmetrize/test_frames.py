import pytest
import torch
from torch import nn

from symmetries.actions import Action, invariant
from symmetries.groups import O2, O3, SO2, SO3
from symmetries.reps import standard
from symmetries.symmetrize import FrameAveraging, pca_frames


class CloudMLP(nn.Module):
    """No symmetry at all: an MLP on the flattened cloud, output one vector per point."""

    def __init__(self, n, d, d_out=None, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.n, self.d, self.d_out = n, d, d_out or d
        self.net = nn.Sequential(nn.Linear(n * d, 64), nn.Tanh(), nn.Linear(64, n * self.d_out)).double()

    def forward(self, x):
        return self.net(x.flatten(1)).view(x.shape[0], self.n, self.d_out)


def euclid(x, Q, a):
    """(B, N, d) -> Q x + a for one element."""
    return x @ Q.T + a


@pytest.mark.parametrize("group,frames", [(O3(), 8), (SO3(), 4), (O2(), 4), (SO2(), 2)])
def test_pca_frames_are_orthogonal_with_the_right_count_and_determinant(group, frames):
    x = torch.randn(6, 7, group.d, dtype=torch.float64)
    R, t, degenerate = pca_frames(x, special=group.special)
    assert R.shape == (6, frames, group.d, group.d)
    eye = torch.eye(group.d, dtype=torch.float64)
    torch.testing.assert_close(R.transpose(-1, -2) @ R, eye.expand_as(R), rtol=0, atol=1e-12)
    det = torch.linalg.det(R)
    if group.special:
        torch.testing.assert_close(det, torch.ones_like(det), rtol=0, atol=1e-12)
    else:
        assert (det > 0).sum() == (det < 0).sum() == 6 * frames // 2
    torch.testing.assert_close(t, x.mean(1))
    assert not degenerate.any()


@pytest.mark.parametrize("group", [O3(), SO3(), O2(), SO2()])
def test_frame_averaging_is_exactly_euclidean_equivariant(group):
    d, n = group.d, 6
    model = FrameAveraging(CloudMLP(n, d), standard(group), standard(group), output_positions=True)
    x = torch.randn(5, n, d, dtype=torch.float64)
    base_err = 0.0
    for Q, a in zip(group.sample(16, generator=torch.Generator().manual_seed(0)), torch.randn(16, d).double()):
        moved, expected = model(euclid(x, Q, a)), euclid(model(x), Q, a)
        assert (moved - expected).abs().max() <= 1e-10 * expected.abs().max()
        base_err = max(base_err, float((model.model(euclid(x, Q, a)) - euclid(model.model(x), Q, a)).abs().max()))
    assert base_err > 1e-2  # the wrapped model is far from equivariant


def test_so3_frames_are_not_reflection_equivariant_but_o3_frames_are():
    n = 5
    x = torch.randn(4, n, 3, dtype=torch.float64)
    parity = -torch.eye(3, dtype=torch.float64)
    base = CloudMLP(n, 3)
    so3 = FrameAveraging(base, standard(SO3()), standard(SO3()), output_positions=True)
    o3 = FrameAveraging(base, standard(O3()), standard(O3()), output_positions=True)
    assert (o3(x @ parity) - o3(x) @ parity).abs().max() < 1e-10
    assert (so3(x @ parity) - so3(x) @ parity).abs().max() > 1e-3


def test_invariant_output_and_n_frames():
    n = 5
    G = O3()
    base = nn.Sequential(nn.Flatten(), nn.Linear(3 * n, 16), nn.Tanh(), nn.Linear(16, 2)).double()
    model = FrameAveraging(base, standard(G), invariant(G))
    assert model.n_frames == 8
    x = torch.randn(3, n, 3, dtype=torch.float64)
    Q, a = G.sample(1)[0], torch.randn(3, dtype=torch.float64)
    torch.testing.assert_close(model(euclid(x, Q, a)), model(x), rtol=0, atol=1e-12)


class NBodyAction(Action):
    """Test-local action on (positions, velocities, charges) by O(3) matrices."""

    def __init__(self, group):
        self.group = group

    def act(self, g, x):
        pos, vel, charge = x
        Q = g.to(pos.dtype)
        rot = (lambda v: v @ Q[0].T) if len(Q) == 1 else (lambda v: v @ Q.transpose(1, 2))
        return rot(pos), rot(vel), charge


def test_tuple_input_translates_positions_only():
    G, n = O3(), 5

    class Predict(nn.Module):  # positions out, from (positions, velocities, charges); no symmetry
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(7 * n, 3 * n).double()

        def forward(self, x):
            pos, vel, charge = x
            return self.net(torch.cat([pos, vel, charge], -1).flatten(1)).view(-1, n, 3)

    model = FrameAveraging(Predict(), NBodyAction(G), standard(G), positions=0, output_positions=True)
    pos, vel, charge = torch.randn(4, n, 3).double(), torch.randn(4, n, 3).double(), torch.randn(4, n, 1).double()
    Q, a = G.sample(1)[0], torch.randn(3, dtype=torch.float64)
    moved = model((euclid(pos, Q, a), vel @ Q.T, charge))
    torch.testing.assert_close(moved, euclid(model((pos, vel, charge)), Q, a), rtol=0, atol=1e-10)
    # velocities are not translated: a translation-only move shifts the output by exactly a
    torch.testing.assert_close(model((pos + a, vel, charge)), model((pos, vel, charge)) + a, rtol=0, atol=1e-10)


def test_float32_equivariance():
    G, n = SO3(), 6
    model = FrameAveraging(CloudMLP(n, 3).float(), standard(G), standard(G), output_positions=True)
    x = torch.randn(8, n, 3)
    Q, a = G.sample(1)[0].float(), torch.randn(3)
    expected = euclid(model(x), Q, a)
    assert (model(euclid(x, Q, a)) - expected).abs().max() <= 1e-4 * expected.abs().max()


def test_degenerate_eigenvalues_warn_or_raise():
    square = torch.tensor([[[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 2], [0, 0, -2]]]).double()
    _, _, degenerate = pca_frames(square)
    assert degenerate.tolist() == [True]  # eigenvalues 1/3, 1/3, 4/3
    G = O3()
    model = FrameAveraging(CloudMLP(6, 3), standard(G), standard(G), output_positions=True)
    with pytest.warns(UserWarning, match="degenerate"):
        model(square)
    strict = FrameAveraging(CloudMLP(6, 3), standard(G), standard(G), on_degenerate="raise")
    with pytest.raises(ValueError, match="degenerate"):
        strict(square)


def test_bad_input():
    from symmetries.groups import Cyclic

    with pytest.raises(ValueError, match="O\\(d\\), SO\\(d\\) or E\\(d\\)"):
        FrameAveraging(CloudMLP(3, 2), standard(Cyclic(4)), standard(Cyclic(4)))
    model = FrameAveraging(CloudMLP(4, 3), standard(O3()), standard(O3()))
    with pytest.raises(ValueError, match=r"positions must be \(batch, points, 3\)"):
        model(torch.randn(2, 4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="on_degenerate"):
        FrameAveraging(CloudMLP(4, 3), standard(O3()), standard(O3()), on_degenerate="maybe")
    with pytest.raises(ValueError, match="output_positions needs translation"):
        FrameAveraging(CloudMLP(4, 3), standard(O3()), standard(O3()), translation=False, output_positions=True)


def test_checkpoint_round_trip(tmp_path):
    G = O3()
    a = FrameAveraging(CloudMLP(4, 3, seed=0), standard(G), standard(G))
    b = FrameAveraging(CloudMLP(4, 3, seed=1), standard(G), standard(G))
    torch.save(a.state_dict(), tmp_path / "fa.pt")
    b.load_state_dict(torch.load(tmp_path / "fa.pt", weights_only=True))
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


@pytest.mark.parametrize("special", [False, True])
def test_with_the_library_point_cloud_action_of_euclidean_group(special):
    from symmetries.groups import Euclidean
    from symmetries.actions import PointCloudAction
    from symmetries.testing import assert_equivariant

    n, G = 5, Euclidean(3, special=special)
    act_in, act_out = PointCloudAction(G, ("position", "vector", None)), PointCloudAction(G, "position")

    class Predict(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(7 * n, 3 * n).double()

        def forward(self, x):
            pos, vel, charge = x
            return pos + self.net(torch.cat([pos, vel, charge], -1).flatten(1)).view(-1, n, 3)

    model = FrameAveraging(Predict(), act_in, act_out, positions=0)
    assert model.n_frames == (4 if special else 8)
    x = (torch.randn(4, n, 3).double(), torch.randn(4, n, 3).double(), torch.randn(4, n, 1).double())
    assert_equivariant(model, act_in, act_out, x, n_samples=16)
    with pytest.raises(ValueError, match="needs translation=True"):
        FrameAveraging(Predict(), act_in, act_out, positions=0, translation=False)
