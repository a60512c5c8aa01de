import io

import pytest
import torch

from symmetries.groups import SO2, Cyclic, Dihedral
from symmetries.nn.images import (AntialiasedPool2d, FieldBatchNorm2d, FieldType, GatedNonlinearity2d, GroupPool2d,
                                  NormNonlinearity2d, PointwiseMaxPool2d, PointwiseNonlinearity2d, quotient)
from symmetries.reps import irrep, irreps, regular
from symmetries.testing import assert_equivariant, reload_state_dict

G = Dihedral(4)
REG = FieldType.regular(G, 2)
PERM = REG + FieldType(G, [quotient(G, Cyclic(4)), quotient(G, Dihedral(2))]) + FieldType.trivial(G, 1)
MIXED = PERM + FieldType(G, irreps(G, 0))


def _x(t, n=9, dtype=torch.float64, b=3):
    return torch.randn(b, t.size, n, n, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_nonlinearities_are_exactly_equivariant(dtype):
    gated = FieldType(G, [irrep(G, 1, 1), regular(G)])
    gate = GatedNonlinearity2d(gated)
    for m, t_in, t_out in [
        (PointwiseNonlinearity2d(PERM, "elu"), PERM, PERM),
        (NormNonlinearity2d(MIXED), MIXED, MIXED),
        (NormNonlinearity2d(MIXED, "sigmoid"), MIXED, MIXED),
        (NormNonlinearity2d(MIXED, "squash"), MIXED, MIXED),
        (gate, gate.in_type, gate.out_type),
    ]:
        m = m.to(dtype)
        if getattr(m, "bias", None) is not None:
            torch.nn.init.normal_(m.bias)
        assert_equivariant(m, t_in.action(), t_out.action(), _x(t_in, dtype=dtype))


def test_norm_relu_formula():
    t = FieldType(SO2(), [irrep(SO2(), 1)])
    m = NormNonlinearity2d(t)
    with torch.no_grad():
        m.bias.fill_(-1.0)
    x = torch.zeros(1, 2, 1, 2)
    x[0, :, 0, 0] = torch.tensor([3.0, 4.0])  # norm 5 -> scale relu(5 - 1) / 5
    x[0, :, 0, 1] = torch.tensor([0.3, 0.4])  # norm 0.5 -> 0
    y = m(x)
    assert torch.allclose(y[0, :, 0, 0], torch.tensor([3.0, 4.0]) * 0.8, atol=1e-6)
    assert torch.allclose(y[0, :, 0, 1], torch.zeros(2))


def test_batch_norm_equivariance_statistics_and_export():
    bn = FieldBatchNorm2d(MIXED).double()
    with torch.no_grad():
        bn.weight.uniform_(0.5, 2)
        bn.bias.normal_()
    x = _x(MIXED, b=4) * 3 + 1
    assert_equivariant(bn, MIXED.action(), MIXED.action(), x)
    y = FieldBatchNorm2d(MIXED, affine=False).double()(x)
    # regular fields: zero mean and unit variance per field (over batch, pixels and the field's channels)
    f0 = y[:, :8]
    assert abs(float(f0.mean())) < 1e-12 and abs(float(f0.var(unbiased=False)) - 1) < 1e-4
    # non-trivial irreps are not centred (that would break equivariance), only scaled
    last = y[:, -2:]
    assert abs(float((last**2).mean()) - 1) < 1e-4
    for _ in range(5):
        bn(x)
    bn.eval()
    assert_equivariant(bn, MIXED.action(), MIXED.action(), x)
    plain = bn.export()
    assert isinstance(plain, torch.nn.BatchNorm2d)
    assert torch.allclose(plain(x), bn(x), atol=1e-12)


def test_fused_batch_norm_on_regular_fields_matches_the_general_formula():
    t = REG + FieldType(G, [quotient(G, Cyclic(4))] * 2)  # not all of one size: general path
    t8 = FieldType.regular(G, 3)  # one size: fused path
    for ftype in (t8,):
        fused, general = FieldBatchNorm2d(ftype).double(), FieldBatchNorm2d(ftype).double()
        assert fused._fused
        general._fused = False
        with torch.no_grad():
            fused.weight.uniform_(0.5, 2)
            fused.bias.normal_()
        general.load_state_dict(fused.state_dict())
        x = _x(ftype, b=4) * 2 + 1
        for _ in range(3):
            assert torch.allclose(fused(x), general(x), atol=1e-10)
        assert torch.allclose(fused.running_mean, general.running_mean, atol=1e-12)
        assert torch.allclose(fused.running_var, general.running_var, atol=1e-12)
        fused.eval(), general.eval()
        assert torch.allclose(fused(x), general(x), atol=1e-10)
        assert_equivariant(fused, ftype.action(), ftype.action(), x)
    assert not FieldBatchNorm2d(t)._fused


def test_batch_norm_state_dict_same_in_train_and_eval():
    bn = FieldBatchNorm2d(MIXED)
    keys = list(bn.state_dict())
    bn(_x(MIXED, dtype=torch.float32))
    bn.eval()
    assert list(bn.state_dict()) == keys
    fresh = reload_state_dict(bn, FieldBatchNorm2d(MIXED).eval())
    x = _x(MIXED, dtype=torch.float32)
    assert torch.equal(fresh(x), bn(x))


def test_pooling_is_equivariant():
    for m, t_in, t_out, n in [
        (GroupPool2d(MIXED, "max"), MIXED, None, 9),
        (GroupPool2d(MIXED, "mean"), MIXED, None, 9),
        (AntialiasedPool2d(MIXED), MIXED, MIXED, 11),
        (AntialiasedPool2d(MIXED, stride=3, sigma=1.0), MIXED, MIXED, 13),
        (PointwiseMaxPool2d(PERM, 3, 2), PERM, PERM, 11),
    ]:
        out = m.out_type if t_out is None else t_out
        assert_equivariant(m.double(), t_in.action(), out.action(), _x(t_in, n))


def test_group_pool_values():
    t = FieldType(Cyclic(4), [regular(Cyclic(4)), irrep(Cyclic(4), 1)])
    x = torch.tensor([1.0, 5.0, -2.0, 0.0, 3.0, 4.0])[None, :, None, None]
    assert GroupPool2d(t, "max")(x).flatten().tolist() == [5.0, 5.0]
    assert GroupPool2d(t, "mean")(x).flatten().tolist() == [1.0, 5.0]
    assert GroupPool2d(t).out_type == FieldType.trivial(Cyclic(4), 2)


def test_antialiased_pool_sizes_and_blur():
    t = FieldType.trivial(Cyclic(4), 1)
    m = AntialiasedPool2d(t)
    assert m(torch.randn(1, 1, 29, 29)).shape[-1] == 15
    assert torch.allclose(m(torch.ones(1, 1, 29, 29))[0, 0, 7, 7], torch.tensor(1.0))


def test_bad_inputs():
    irr = FieldType(G, [irrep(G, 1, 1)])
    with pytest.raises(ValueError, match="permutation fields"):
        PointwiseNonlinearity2d(irr)
    with pytest.raises(ValueError, match="permutation fields"):
        PointwiseMaxPool2d(irr)
    with pytest.raises(ValueError, match="activation"):
        PointwiseNonlinearity2d(REG, "nope")
    with pytest.raises(ValueError, match=r"\(B, 16, H, W\)"):
        FieldBatchNorm2d(REG)(torch.randn(2, 15, 5, 5))
    with pytest.raises(ValueError, match=r"\(B, 16, H, W\)"):
        GroupPool2d(REG)(torch.randn(2, 8, 5, 5))
    with pytest.raises(ValueError, match="mode"):
        GroupPool2d(REG, "median")


def test_whole_modules_pickle():
    """torch.save(model) works: field types rebuild their regular and quotient reps."""
    from symmetries.nn.images import R2Conv

    model = torch.nn.Sequential(R2Conv(MIXED, MIXED, 3), FieldBatchNorm2d(MIXED), NormNonlinearity2d(MIXED),
                                GroupPool2d(MIXED))
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    again = torch.load(buf, weights_only=False)
    x = _x(MIXED, dtype=torch.float32)
    assert again[0].in_type == MIXED and torch.equal(again(x), model(x))
