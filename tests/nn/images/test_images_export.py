import importlib.util
import subprocess
import sys

import pytest
import torch
from torch import nn

from symmetries.groups import Cyclic, Dihedral
from symmetries.nn.images import (AntialiasedPool2d, FieldBatchNorm2d, FieldType, GatedNonlinearity2d, GroupConv2d,
                                  GroupPool2d, NormNonlinearity2d, PointwiseMaxPool2d, PointwiseNonlinearity2d, R2Conv,
                                  R2ConvTranspose, export)
from symmetries.reps import irrep
from symmetries.testing import reload_state_dict

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit:DeprecationWarning")


class Net(nn.Module):
    """A user-defined container mixing symmetries layers with plain ones."""

    def __init__(self, G=Dihedral(4)):
        super().__init__()
        t0 = FieldType.trivial(G, 1)
        r = FieldType.regular(G, 2)
        v = FieldType(G, [irrep(G, 1, 1)] * 2)
        gate = GatedNonlinearity2d(v)
        self.features = nn.Sequential(
            GroupConv2d(t0, r, 5), FieldBatchNorm2d(r), PointwiseNonlinearity2d(r, "relu"), AntialiasedPool2d(r),
            R2Conv(r, gate.in_type, 3), gate, NormNonlinearity2d(v), R2ConvTranspose(v, r, 3, stride=2),
            PointwiseMaxPool2d(r, 3, 2), GroupPool2d(r))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 10))

    def forward(self, x):
        return self.head(self.features(x))


def _trained():
    torch.manual_seed(0)
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(2):
        loss = model(torch.randn(4, 1, 15, 15)).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def test_export_matches_and_contains_no_symmetries_modules():
    model = _trained()
    plain = export(model)
    assert model.training is False and isinstance(model.features[0], GroupConv2d)  # original untouched
    for m in plain.modules():
        assert not type(m).__module__.startswith("symmetries"), type(m)
    x = torch.randn(3, 1, 15, 15)
    with torch.no_grad():
        assert torch.allclose(plain(x), model(x), atol=1e-5)
    assert isinstance(plain.features[0], nn.Conv2d) and isinstance(plain.features[1], nn.BatchNorm2d)
    assert isinstance(plain.features[7], nn.ConvTranspose2d)


def test_exported_model_is_invariant_like_the_original():
    from symmetries.testing import assert_equivariant
    from symmetries.actions import invariant, rotate_image

    model = _trained().double()
    plain = export(model)
    x = torch.randn(2, 1, 15, 15, dtype=torch.float64)
    with torch.no_grad():
        assert_equivariant(plain, rotate_image(Dihedral(4)), invariant(), x)


def test_exported_model_scripts_and_loads_without_symmetries(tmp_path):
    plain = export(_trained())
    scripted = torch.jit.script(plain)
    x = torch.randn(2, 1, 15, 15)
    with torch.no_grad():
        assert torch.allclose(scripted(x), plain(x), atol=1e-6)
    path = tmp_path / "net.pt"
    torch.jit.save(scripted, str(path))
    torch.save(x, tmp_path / "x.pt")
    torch.save(plain(x).detach(), tmp_path / "y.pt")
    code = (
        "import sys; sys.modules['symmetries'] = None\n"  # any import of symmetries would fail
        "import torch\n"
        f"m = torch.jit.load({str(path)!r}); x = torch.load({str(tmp_path / 'x.pt')!r})\n"
        f"y = torch.load({str(tmp_path / 'y.pt')!r})\n"
        "assert torch.allclose(m(x), y, atol=1e-6)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr


def test_exported_state_dict_round_trip():
    plain = export(_trained())
    again = reload_state_dict(plain, export(_trained()))
    x = torch.randn(1, 1, 15, 15)
    with torch.no_grad():
        assert torch.equal(again(x), plain(x))


@pytest.mark.skipif(importlib.util.find_spec("onnx") is None, reason="onnx is not installed")
def test_onnx_export(tmp_path):
    plain = export(_trained())
    x = torch.randn(1, 1, 15, 15)
    path = str(tmp_path / "net.onnx")
    problems = []
    for dynamo in (False, True):  # the TorchScript exporter, then the dynamo one (needs onnxscript)
        try:
            torch.onnx.export(plain, (x,), path, dynamo=dynamo)
            break
        except (ImportError, TypeError) as e:  # exporter or its dependencies missing in this torch
            problems.append(f"dynamo={dynamo}: {e}")
    else:
        pytest.skip(f"no ONNX exporter available: {problems}")
    import onnx

    onnx.checker.check_model(onnx.load(path))
    if importlib.util.find_spec("onnxruntime") is not None:
        import onnxruntime

        sess = onnxruntime.InferenceSession(path)
        (out,) = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})
        with torch.no_grad():
            assert torch.allclose(torch.from_numpy(out), plain(x), atol=1e-4)


def test_export_rejects_unexportable_symmetries_modules():
    from symmetries.nn import EquivariantLinear
    from symmetries.reps import regular

    model = nn.Sequential(EquivariantLinear(regular(Cyclic(4)), regular(Cyclic(4))))
    with pytest.raises(TypeError, match="no plain-torch export"):
        export(model)
