
import pytest
import torch

import symmetries as sym
from symmetries.nn import (BesselBasis, Gate, IrrepsBatchNorm, IrrepsLayerNorm, IrrepsLinear, NormActivation,
                           PolynomialCutoff, RadialEmbedding, SphericalHarmonics)
from symmetries.o3 import Irreps
from symmetries.testing import assert_equivariant, reload_state_dict

IRREPS = Irreps("4x0e + 2x0o + 3x1o + 2x1e + 2x2e")


def _x(irreps, n=8, dtype=torch.float64, seed=0):
    return irreps.randn(n, -1, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _layers():
    return {
        "linear": IrrepsLinear(IRREPS, "3x0e + 1x0o + 2x1o + 3x1e + 1x2e + 1x2o", biases=True),
        "gate": Gate("4x0e + 2x0o", [torch.nn.functional.silu, torch.tanh], "3x0e + 2x0o", [torch.sigmoid, torch.tanh],
                     "3x1o + 2x2e"),
        "norm_activation": NormActivation(IRREPS, bias=True),
        "batch_norm": IrrepsBatchNorm(IRREPS),
        "layer_norm": IrrepsLayerNorm(IRREPS),
    }


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", list(_layers()))
def test_layers_are_o3_equivariant(name, dtype):
    layer = _layers()[name].to(dtype)
    if name == "norm_activation":
        torch.nn.init.normal_(layer.bias)
    irreps_in = getattr(layer, "irreps_in", IRREPS)
    x = _x(irreps_in, dtype=dtype)
    assert_equivariant(layer, irreps_in.rep, layer.irreps_out.rep, x, n_samples=24)
    if name == "batch_norm":
        layer.eval()
        assert_equivariant(layer, irreps_in.rep, layer.irreps_out.rep, x, n_samples=8)


def test_gate_parities_and_errors():
    gate = _layers()["gate"]
    # silu on 0e, tanh (odd) on 0o stays 0o; the tanh gates flip the parity of the 2e block
    assert gate.irreps_out == Irreps("4x0e + 2x0o + 3x1o + 2x2o")
    with pytest.raises(ValueError, match="odd or even"):
        Gate("", [], "1x0o", torch.sigmoid, "1x1o")
    with pytest.raises(ValueError, match="one gate per gated irrep"):
        Gate("2x0e", torch.relu, "1x0e", torch.sigmoid, "2x1o")
    with pytest.raises(ValueError, match="scalars"):
        Gate("1x1o", torch.relu, "1x0e", torch.sigmoid, "1x1o")
    with pytest.raises(ValueError, match="last dimension of"):
        gate(torch.randn(3, 5))


def test_gate_activation_normalization():
    """Activations are rescaled to unit second moment on standard normal inputs."""
    gate = Gate("1x0e", torch.nn.functional.silu, "", [], "")
    z = torch.randn(400000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert abs(gate(z).pow(2).mean() - 1) < 0.01


def test_norm_layers_statistics():
    x = _x(IRREPS, n=500, seed=3) * 3 + 1
    y = IrrepsBatchNorm(IRREPS, affine=False)(x)
    assert torch.allclose(y[:, :4].mean(0), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    vec = y[:, 6:15].reshape(500, 3, 3)  # the 3x1o block: mean square component is 1
    assert torch.allclose(vec.pow(2).mean(dim=(0, 2)), torch.ones(3, dtype=torch.float64), atol=1e-3)
    z = IrrepsLayerNorm(IRREPS, affine=False)(x)
    assert torch.allclose(z[:, :4].mean(1), torch.zeros(500, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(z[:, 6:15].pow(2).mean(1), torch.ones(500, dtype=torch.float64), atol=1e-3)


def test_batch_norm_eval_uses_running_stats_and_state_dict():
    bn = IrrepsBatchNorm(IRREPS, momentum=1.0)
    x = _x(IRREPS, n=50, dtype=torch.float32, seed=4) * 2
    bn(x)
    keys = list(bn.state_dict())
    bn.eval()
    assert list(bn.state_dict()) == keys
    assert torch.allclose(bn(x), bn.train()(x), atol=1e-5)  # momentum 1: running stats = last batch


def test_linear_paths_and_zero_outputs():
    lin = IrrepsLinear("2x0e + 1x1o", "3x0e + 1x1e", biases=True)
    assert lin.weight_numel == 6 and lin.bias_numel == 3
    torch.nn.init.normal_(lin.bias)
    out = lin(torch.zeros(2, 5))
    assert torch.equal(out[:, 3:], torch.zeros(2, 3)) and torch.equal(out[:, :3], lin.bias.detach().expand(2, 3))


def test_state_dict_round_trip_and_weights_only_load():
    for name, layer in _layers().items():
        fresh = reload_state_dict(layer, _layers()[name])
        x = _x(getattr(layer, "irreps_in", IRREPS), dtype=torch.float32)
        assert torch.equal(fresh(x), layer(x)), name


def test_radial_basis_and_cutoff():
    r = torch.linspace(0.05, 6.0, 200, dtype=torch.float64, requires_grad=True)
    cut = PolynomialCutoff(5.0, p=6)
    f = cut(r)
    (df,) = torch.autograd.grad(f.sum(), r, create_graph=True)
    (d2f,) = torch.autograd.grad(df.sum(), r)
    at = r.detach() >= 5.0
    assert torch.equal(f[at], torch.zeros_like(f[at]))
    # f ~ 56 (1 - r/r_c)^3 near r_c (p = 6): value, slope and curvature all go to zero
    h = torch.tensor([1e-2, 1e-3], dtype=torch.float64)
    rr = (5.0 * (1 - h)).requires_grad_()
    f1 = cut(rr)
    (g1,) = torch.autograd.grad(f1.sum(), rr, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), rr)
    assert torch.allclose(f1, 56 * h ** 3, rtol=0.05)
    assert torch.allclose(g1, -3 * 56 * h ** 2 / 5.0, rtol=0.05) and torch.allclose(g2, 6 * 56 * h / 25.0, rtol=0.1)
    assert abs(cut(torch.tensor(0.0)) - 1) < 1e-15
    bessel = BesselBasis(5.0, 8)(r.detach())
    n = torch.arange(1, 9, dtype=torch.float64)
    expected = 2 / 5.0 * torch.sin(n * torch.pi * r.detach()[:, None] / 5.0) / r.detach()[:, None]
    assert torch.allclose(bessel, expected.float().double(), atol=1e-6)
    emb = RadialEmbedding(5.0, 8)(r.detach())
    assert emb.shape == (200, 8) and torch.equal(emb[at], torch.zeros_like(emb[at]))
    with pytest.raises(ValueError, match="r_max > 0"):
        BesselBasis(0.0)


def test_spherical_harmonics_module():
    sh = SphericalHarmonics(2)
    assert sh.irreps_out == Irreps("0e + 1o + 2e")
    v = torch.randn(5, 3, dtype=torch.float64)
    assert_equivariant(sh, sym.reps.standard(sym.groups.O3()), sh.irreps_out.rep, v, n_samples=16)
    with pytest.raises(ValueError, match="parity"):
        SphericalHarmonics("0e + 1e + 2o")


# ------------------------------------------------------------------ e3nn cross-checks
@pytest.fixture
def e3nn(float64_default):
    e3 = pytest.importorskip("e3nn")
    pytest.importorskip("e3nn.nn")
    pytest.importorskip("e3nn.o3")
    return e3


def test_cross_check_linear(e3nn):
    irreps_out = "3x0e + 1x0o + 2x1o + 3x1e + 1x2e + 1x2o"
    ours = IrrepsLinear(IRREPS + "1x1o", irreps_out, biases=True)
    theirs = e3nn.o3.Linear(IRREPS + "1x1o", irreps_out, biases=True)
    assert ours.weight_numel == theirs.weight_numel
    with torch.no_grad():
        ours.weight.copy_(theirs.weight)
        torch.nn.init.normal_(theirs.bias)
        ours.bias.copy_(theirs.bias)
    x = _x(ours.irreps_in)
    assert (ours(x) - theirs(x)).abs().max() < 1e-12


def test_cross_check_gate(e3nn):
    # e3nn sorts the scalars and gates of its input; these irreps are already in that order
    acts = [torch.tanh, torch.nn.functional.silu]
    ours = Gate("2x0o + 4x0e", acts, "5x0e", torch.sigmoid, "3x1o + 2x2e")
    theirs = e3nn.nn.Gate("2x0o + 4x0e", acts, "5x0e", [torch.sigmoid], "3x1o + 2x2e")
    assert ours.irreps_in.simplify() == Irreps(str(theirs.irreps_in))
    assert ours.irreps_out == Irreps(str(theirs.irreps_out))
    x = _x(ours.irreps_in, n=20)
    # e3nn estimates the second moment by Monte Carlo, we integrate it: agree to ~1e-3
    assert torch.allclose(ours(x), theirs(x), rtol=3e-3, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda scale: IrrepsLinear("3x0e + 2x1o + 1x0e", "4x0e + 2x1o + 1x2e", biases=True, weight_scale=scale),
    lambda scale: sym.nn.FullyConnectedTensorProduct("3x0e + 2x1o", "0e + 1o", "4x0e + 2x1o + 1x1e", weight_scale=scale),
    lambda scale: sym.nn.TensorProduct("3x0e + 2x1o", "2x0e + 1o", "3x0e + 2x1o + 3x1o",
                                       [(0, 0, 0, "uvu"), (1, 1, 0, "uvw"), (1, 0, 1, "uvu"), (0, 1, 2, "uvw")],
                                       weight_scale=scale),
], ids=["linear", "fully-connected", "mixed-modes"])
def test_fan_in_weight_scale_is_the_same_function_and_takes_linear_sized_steps(make):
    """weight_scale='fan_in' holds theta = W / sqrt(n): from the same seed theta is the 'unit'
    module's W times 1/sqrt(fan-in) (of each weight's output block), both modules give the same
    outputs, and one Adam step moves the function's W 1/scale times further (Adam's first
    step moves every parameter by about lr)."""
    torch.manual_seed(0)
    unit = make("unit").double()
    torch.manual_seed(0)
    fan = make("fan_in").double()
    ratio = (fan.weight / unit.weight).detach()
    fan_in = (ratio ** -2).round()  # initialised in float32: the ratio is 1/sqrt(n) to rounding
    assert torch.allclose(ratio, fan_in ** -0.5, rtol=1e-6, atol=0)
    assert len(fan_in.unique()) > 1 and bool((fan_in > 1).all())  # several fan-ins, each above 1
    ratio = fan_in ** -0.5
    with torch.no_grad():  # the same W in float64, so the outputs agree to float64 rounding
        fan.weight.copy_(unit.weight * ratio)
    g = torch.Generator().manual_seed(1)
    if isinstance(unit, IrrepsLinear):
        inputs = (unit.irreps_in.randn(7, -1, generator=g, dtype=torch.float64),)
    else:
        inputs = (unit.irreps_in1.randn(7, -1, generator=g, dtype=torch.float64),
                  unit.irreps_in2.randn(7, -1, generator=g, dtype=torch.float64))
    assert torch.allclose(fan(*inputs), unit(*inputs), atol=1e-12, rtol=0)
    steps = []
    for m in (unit, fan):
        before = m.weight.detach().clone()
        opt = torch.optim.Adam([m.weight], lr=1e-3, eps=1e-30)
        m(*inputs).pow(2).sum().backward()
        opt.step()
        steps.append(m.weight.detach() - before)
    w_step_unit, w_step_fan = steps[0], steps[1] / ratio  # the change of W = theta / scale
    assert torch.allclose(w_step_fan * ratio, w_step_unit, rtol=1e-9, atol=0)


def test_fan_in_weight_scale_bad_input():
    with pytest.raises(ValueError, match="weight_scale must be 'unit' or 'fan_in', got 'path'"):
        IrrepsLinear("2x0e", "2x0e", weight_scale="path")
    with pytest.raises(ValueError, match="weight_scale must be 'unit' or 'fan_in'"):
        sym.nn.FullyConnectedTensorProduct("2x0e", "0e", "2x0e", weight_scale="element")
    with pytest.raises(ValueError, match="needs internal_weights=True"):
        sym.nn.FullyConnectedTensorProduct("2x0e", "0e", "2x0e", shared_weights=False, weight_scale="fan_in")
    tp = sym.nn.FullyConnectedTensorProduct("2x0e + 1x1o", "0e + 1o", "2x0e + 1x1o", weight_scale="fan_in")
    assert "weight_scale='fan_in'" in repr(tp)
    state = tp.state_dict()
    assert set(state) == {"weight"}  # the scale is rebuilt, not saved
    again = sym.nn.FullyConnectedTensorProduct("2x0e + 1x1o", "0e + 1o", "2x0e + 1x1o", weight_scale="fan_in")
    again.load_state_dict(state)
    x1, x2 = Irreps("2x0e + 1x1o").randn(3, -1), Irreps("0e + 1o").randn(3, -1)
    assert torch.equal(again(x1, x2), tp(x1, x2))
