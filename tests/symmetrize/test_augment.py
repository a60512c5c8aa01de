import pytest
import torch

from symmetries.actions import Action, invariant
from symmetries.groups import O3, SO3, Cyclic, Dihedral, Symmetric
from symmetries.reps import standard
from symmetries.symmetrize import Augment


def test_each_sample_gets_its_own_element_and_targets_follow():
    G = SO3()
    V = standard(G)
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 3, dtype=torch.float64)
    aug = Augment(V, V, generator=torch.Generator().manual_seed(0))
    gx, gy = aug(x, y)
    g = G.sample(6, generator=torch.Generator().manual_seed(0))  # the same draw
    torch.testing.assert_close(gx, torch.einsum("bij,bj->bi", g, x), rtol=0, atol=1e-14)
    torch.testing.assert_close(gy, torch.einsum("bij,bj->bi", g, y), rtol=0, atol=1e-14)
    assert not torch.allclose(g[0], g[1])


def test_invariant_targets_unchanged_and_norms_kept():
    G = O3()
    V = standard(G)
    x, y = torch.randn(50, 6, dtype=torch.float64), torch.randn(50, 1, dtype=torch.float64)
    gx, gy = Augment(2 * V, invariant(G))(x, y)
    assert gy is y
    torch.testing.assert_close(gx[:, :3].norm(dim=1), x[:, :3].norm(dim=1))
    torch.testing.assert_close((gx[:, :3] * gx[:, 3:]).sum(1), (x[:, :3] * x[:, 3:]).sum(1))
    assert (gx - x).abs().max() > 0.1
    assert Augment(2 * V)(x).shape == x.shape  # inputs alone


def test_finite_group_reaches_every_element_uniformly():
    G = Dihedral(4)
    V = standard(G)
    aug = Augment(V, generator=torch.Generator().manual_seed(1))
    g = aug.sample(4000)
    counts = torch.bincount(g[:, 0] + 4 * g[:, 1], minlength=8)
    assert counts.min() > 400 and counts.max() < 600  # 500 expected each


def test_permutations_of_sets():
    G = Symmetric(5)
    x = torch.randn(3, 5, dtype=torch.float64)
    g = G.sample(3)
    gx = Augment(standard(G))(x, g=g)
    for i in range(3):  # P e_j = e_{p[j]}: entry j moves to position p[j]
        expected = torch.empty(5, dtype=torch.float64)
        expected[g[i]] = x[i]
        torch.testing.assert_close(gx[i], expected, rtol=0, atol=0)


class Rot90(Action):
    """Test-local C4 action on images (B, C, H, W): exact quarter turns, one per sample."""

    def __init__(self):
        self.group = Cyclic(4)

    def act(self, g, x):
        if len(g) == 1:
            return torch.rot90(x, int(g[0]), dims=(-2, -1))
        return torch.stack([torch.rot90(xi, int(k), dims=(-2, -1)) for xi, k in zip(x, g)])


def test_images_with_a_custom_action():
    x = torch.arange(2 * 9, dtype=torch.float32).reshape(2, 1, 3, 3)
    g = torch.tensor([1, 2])
    gx = Augment(Rot90(), invariant(Cyclic(4)))(x, g=g)
    torch.testing.assert_close(gx[0], torch.rot90(x[0], 1, (-2, -1)))
    torch.testing.assert_close(gx[1], x[1].flip(-1).flip(-2))


def test_dataloader_collate_is_reproducible():
    V = standard(SO3())
    data = torch.utils.data.TensorDataset(torch.randn(10, 3), torch.randn(10, 3))

    def batches(seed):
        aug = Augment(V, V, generator=torch.Generator().manual_seed(seed))
        return [b for b in torch.utils.data.DataLoader(data, batch_size=5, collate_fn=aug.collate)]

    a, b = batches(0), batches(0)
    assert len(a) == 2 and a[0][0].shape == (5, 3)
    torch.testing.assert_close(a[1][0], b[1][0])
    torch.testing.assert_close(a[0][0].norm(dim=1), data.tensors[0][:5].norm(dim=1))
    # inputs and targets moved by the same element: their inner products are kept
    torch.testing.assert_close((a[0][0] * a[0][1]).sum(1), (data.tensors[0][:5] * data.tensors[1][:5]).sum(1))


def test_bad_input():
    with pytest.raises(ValueError, match="must share one group"):
        Augment(standard(Cyclic(4)), standard(Cyclic(3)))
    with pytest.raises(ValueError, match="batch dimension 3"):
        Augment(standard(SO3()))(torch.randn(4, 3), g=SO3().sample(3))
    with pytest.raises(ValueError):
        Augment(standard(Cyclic(4)))(torch.randn(2, 2), g=torch.tensor([7, 1]))
