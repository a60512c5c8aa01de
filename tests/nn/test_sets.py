"""DeepSets and the Maron et al. permutation-equivariant linear layers."""

import math

import pytest
import torch

import symmetries as sym
from symmetries.actions import SetPermutation, invariant
from symmetries.groups import Symmetric
from symmetries.nn import DeepSets, DeepSetsLayer, EquivariantDeepSets, PermutationLinear, set_partitions, set_pool
from symmetries.reps import equivariant_basis, standard, trivial
from symmetries.testing import reload_state_dict


def _bell(k):
    return len(set_partitions(list(range(k))))


def test_bell_numbers():
    assert [_bell(k) for k in range(7)] == [1, 1, 2, 5, 15, 52, 203]


@pytest.mark.parametrize("k,l,count", [(1, 1, 2), (1, 2, 5), (2, 1, 5), (2, 2, 15), (0, 1, 1), (0, 2, 2),
                                       (1, 0, 1), (2, 0, 2)])
def test_maron_basis_matches_equivariant_basis(k, l, count):
    """The layer's maps span exactly the solver's space of S_n-equivariant maps, with the
    published counts (Maron et al. 2019: 2, 5, 5, 15; biases 1 and 2)."""
    n = 5
    G = Symmetric(n)
    V = standard(G)
    rep_in, rep_out = (V ** k if k else trivial(G)), (V ** l if l else trivial(G))
    basis = equivariant_basis(rep_in, rep_out).reshape(-1, n ** (k + l))
    assert basis.shape[0] == count
    layer = PermutationLinear(k, l, 1, 1) if (k, l) != (0, 0) else None
    mats = layer.basis_matrices(n).reshape(layer.num_maps, -1)
    assert layer.num_maps == count
    assert torch.linalg.matrix_rank(mats) == count
    residual = mats - (mats @ basis.T) @ basis  # projection onto the solver's span
    assert residual.abs().max() < 1e-12


@pytest.mark.parametrize("l,count", [(1, 1), (2, 2)])
def test_bias_counts(l, count):
    G = Symmetric(4)
    assert equivariant_basis(trivial(G), standard(G) ** l).shape[0] == count
    assert PermutationLinear(1, l, 3, 3).bias.shape[0] == count


def test_small_n_degenerates_like_solver():
    """For n = 2 the 15 maps 2 -> 2 become dependent: they span the solver's space, whose
    dimension is the number of partitions of 4 indices into at most 2 blocks, 1 + 7 = 8."""
    G = Symmetric(2)
    V = standard(G)
    layer = PermutationLinear(2, 2, 1, 1)
    mats = layer.basis_matrices(2).reshape(15, -1)
    k = equivariant_basis(V ** 2, V ** 2).shape[0]
    assert k == 8
    assert torch.linalg.matrix_rank(mats) == k


def _pair_layout(k):
    return 1 if k == 1 else 2


@pytest.mark.parametrize("k,l", [(1, 1), (1, 2), (2, 1), (2, 2), (2, 0), (1, 0)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_permutation_linear_equivariant(k, l, dtype, gen):
    torch.manual_seed(0)
    n, b = 6, 3
    layer = PermutationLinear(k, l, 4, 5, reduce="sum").to(dtype)
    x = torch.randn(b, *([n] * k), 4, generator=gen).to(dtype)
    act_out = SetPermutation(n, l) if l else invariant()
    sym.assert_equivariant(layer, SetPermutation(n, k), act_out, x, n_samples=16, generator=gen)


def test_permutation_linear_from_vectors(gen):
    layer = PermutationLinear(0, 2, 3, 2).double()
    x = torch.randn(4, 3, dtype=torch.float64, generator=gen)
    y = layer(x, n=5)
    assert y.shape == (4, 5, 5, 2)
    # an invariant input gives an invariant 2-tensor: constant off the diagonal and on it
    off = ~torch.eye(5, dtype=torch.bool)
    assert torch.allclose(y[:, off], y[:, off][:, :1].expand(-1, 20, -1))
    with pytest.raises(ValueError, match="set size"):
        layer(x)


@pytest.mark.parametrize("k,l", [(1, 1), (1, 2), (2, 1), (2, 2)])
def test_permutation_linear_masks_really_mask(k, l, gen):
    """Padding content cannot change real outputs; padded outputs are zero; a padded set
    gives the outputs of the unpadded set (mean reduction uses the real size)."""
    torch.manual_seed(1)
    layer = PermutationLinear(k, l, 3, 2, reduce="mean").double()
    n, real = 7, 4
    small = torch.randn(1, *([real] * k), 3, dtype=torch.float64, generator=gen)
    big = torch.randn(1, *([n] * k), 3, dtype=torch.float64, generator=gen) * 100
    big[(slice(None),) + (slice(0, real),) * k] = small
    mask = torch.zeros(1, n, dtype=torch.bool)
    mask[:, :real] = True
    out_big = layer(big, mask)
    out_small = layer(small)
    inner = (slice(None),) + (slice(0, real),) * l
    assert torch.allclose(out_big[inner], out_small, atol=1e-12, rtol=0)
    if l:
        full = mask if l == 1 else mask[:, :, None] & mask[:, None, :]
        assert out_big[~full].abs().max() == 0


def test_permutation_linear_compile_and_state_dict(gen):
    layer = PermutationLinear(2, 2, 3, 3)
    x = torch.randn(2, 5, 5, 3, generator=gen)
    compiled = torch.compile(layer, backend="eager", fullgraph=True)
    assert torch.allclose(compiled(x), layer(x), atol=1e-6)
    other = reload_state_dict(layer, PermutationLinear(2, 2, 3, 3))
    assert torch.equal(other(x), layer(x))


def test_permutation_linear_bad_input():
    with pytest.raises(ValueError, match="in_order must be"):
        PermutationLinear(3, 1, 2, 2)
    with pytest.raises(ValueError, match="reduce"):
        PermutationLinear(1, 1, 2, 2, reduce="max")
    layer = PermutationLinear(2, 1, 2, 2)
    with pytest.raises(ValueError, match=r"\[B, n, n, 2\]"):
        layer(torch.randn(3, 4, 2))
    with pytest.raises(ValueError, match="n x n"):
        layer(torch.randn(3, 4, 5, 2))
    with pytest.raises(ValueError, match="mask must be a bool tensor"):
        layer(torch.randn(3, 4, 4, 2), torch.ones(3, 5, dtype=torch.bool))


# ------------------------------------------------------------------ DeepSets
@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_deepsets_invariant_and_equivariant(reduce, dtype, gen):
    torch.manual_seed(0)
    x = torch.randn(4, 7, 3, generator=gen).to(dtype)
    inv = DeepSets(3, 2, hidden=16, reduce=reduce).to(dtype)
    sym.assert_equivariant(inv, SetPermutation(7), invariant(), x, n_samples=16, generator=gen)
    eq = EquivariantDeepSets(3, 2, hidden=16, layers=3, reduce=reduce).to(dtype)
    sym.assert_equivariant(eq, SetPermutation(7), SetPermutation(7), x, n_samples=16, generator=gen)


def test_deepsets_layer_is_lambda_plus_gamma_sum(gen):
    """y = Lambda x + Gamma sum(x) + b exactly (Zaheer et al. 2017, eq. 4)."""
    layer = DeepSetsLayer(3, 2, reduce="sum").double()
    x = torch.randn(2, 5, 3, dtype=torch.float64, generator=gen)
    lam, gam, b = layer.elementwise.weight, layer.pooled.weight, layer.elementwise.bias
    expected = x @ lam.T + (x.sum(1, keepdim=True) @ gam.T) + b
    assert torch.allclose(layer(x), expected, atol=1e-13)


def test_deepsets_masks_and_batches_of_different_sizes(gen):
    """A padded batch of sets of sizes 2, 5, 3 gives each set's own output, whatever the padding holds."""
    torch.manual_seed(0)
    sizes = [2, 5, 3]
    sets = [torch.randn(s, 3, dtype=torch.float64, generator=gen) for s in sizes]
    x = torch.randn(3, 5, 3, dtype=torch.float64, generator=gen) * 1e3  # garbage padding
    mask = torch.zeros(3, 5, dtype=torch.bool)
    for i, s in enumerate(sets):
        x[i, : len(s)] = s
        mask[i, : len(s)] = True
    for reduce in ("sum", "mean", "max"):
        inv = DeepSets(3, 2, hidden=8, reduce=reduce).double()
        eq = EquivariantDeepSets(3, 2, hidden=8, reduce=reduce).double()
        out_inv, out_eq = inv(x, mask), eq(x, mask)
        for i, s in enumerate(sets):
            assert torch.allclose(out_inv[i], inv(s[None])[0], atol=1e-12)
            assert torch.allclose(out_eq[i, : len(s)], eq(s[None])[0], atol=1e-12)
        assert out_eq[~mask].abs().max() == 0


def test_set_pool_closed_forms(gen):
    x = torch.randn(2, 4, 3, dtype=torch.float64, generator=gen)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    assert torch.allclose(set_pool(x, mask, "mean")[0], x[0, :2].mean(0))
    assert torch.allclose(set_pool(x, mask, "max")[0], x[0, :2].amax(0))
    assert torch.allclose(set_pool(x, mask, "sum")[1], x[1].sum(0))


def test_deepsets_state_dict_round_trip(gen):
    model = DeepSets(3, 2, hidden=8)
    other = reload_state_dict(model, DeepSets(3, 2, hidden=8))
    x = torch.randn(2, 4, 3, generator=gen)
    assert torch.equal(model(x), other(x))


def test_sets_bad_input():
    model = DeepSets(3, 2)
    with pytest.raises(ValueError, match=r"\[B, n, 3\]"):
        model(torch.randn(4, 3))
    with pytest.raises(ValueError, match="3 channels"):
        model(torch.randn(2, 4, 5))
    with pytest.raises(ValueError, match="empty sets"):
        model(torch.randn(2, 4, 3), torch.tensor([[True] * 4, [False] * 4]))
    with pytest.raises(ValueError, match="empty sets"):
        model(torch.randn(2, 0, 3))
    with pytest.raises(ValueError, match="mask must be a bool"):
        model(torch.randn(2, 4, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match="reduce"):
        DeepSets(3, 2, reduce="median")
    assert math.isfinite(float(model(torch.randn(2, 4, 3)).detach().sum()))
