"""Set attention (SAB, ISAB) and pooling by attention (PMA): permutations and masks."""


import pytest
import torch

import symmetries as sym
from symmetries.actions import SetPermutation, invariant
from symmetries.nn import AttentionPooling, InducedSetAttention, SetAttention
from symmetries.testing import reload_state_dict

MODULES = {
    "sab": lambda: SetAttention(3, 8, heads=2),
    "isab": lambda: InducedSetAttention(3, 8, inducing=4, heads=2),
    "pma": lambda: AttentionPooling(3, 8, seeds=2, heads=2),
}


@pytest.mark.parametrize("name", list(MODULES))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_attention_permutations(name, dtype, gen):
    torch.manual_seed(0)
    module = MODULES[name]().to(dtype)
    x = torch.randn(3, 6, 3, generator=gen).to(dtype)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[0, 4:] = False
    act_out = invariant() if name == "pma" else SetPermutation(6, 1)
    sym.assert_equivariant(lambda t: module(*t), SetPermutation(6, (1, 1)), act_out, (x, mask), n_samples=12,
                           generator=gen)


@pytest.mark.parametrize("name", list(MODULES))
def test_attention_masks_really_mask(name, gen):
    """Garbage in padded slots changes nothing; a padded set equals the same set unpadded."""
    torch.manual_seed(0)
    module = MODULES[name]().double()
    real = torch.randn(1, 4, 3, dtype=torch.float64, generator=gen)
    padded = torch.cat([real, 1e3 * torch.randn(1, 3, 3, dtype=torch.float64, generator=gen)], 1)
    mask = torch.tensor([[True] * 4 + [False] * 3])
    out_padded, out_real = module(padded, mask), module(real)
    if name == "pma":
        assert torch.allclose(out_padded, out_real, atol=1e-12)
    else:
        assert torch.allclose(out_padded[:, :4], out_real, atol=1e-12)
        assert out_padded[:, 4:].abs().max() == 0


def test_pma_squeezes_one_seed_and_round_trips(gen):
    pma = AttentionPooling(3, 8, seeds=1, heads=4)
    x = torch.randn(2, 5, 3, generator=gen)
    assert pma(x).shape == (2, 8)
    other = reload_state_dict(pma, AttentionPooling(3, 8, seeds=1, heads=4))
    assert torch.equal(other(x), pma(x))


def test_attention_compiles(gen):
    sab = SetAttention(3, 8, heads=2)
    x = torch.randn(2, 5, 3, generator=gen)
    mask = torch.ones(2, 5, dtype=torch.bool)
    compiled = torch.compile(sab, backend="eager")
    assert torch.allclose(compiled(x, mask), sab(x, mask), atol=1e-6)


def test_attention_bad_input():
    with pytest.raises(ValueError, match="divisible by heads"):
        SetAttention(3, 8, heads=3)
    sab = SetAttention(3, 8, heads=2)
    with pytest.raises(ValueError, match=r"\[B, n, 3\]"):
        sab(torch.randn(5, 3))
    with pytest.raises(ValueError, match="empty sets"):
        sab(torch.randn(2, 3, 3), torch.tensor([[True, False, False], [False] * 3]))
