"""Group-equivariant and steerable CNNs for rotations and reflections of the plane.

Feature maps are plain tensors ``(B, C, H, W)``; a :class:`FieldType` says how their
channels transform under the point group (Cyclic, Dihedral, SO2, O2), built on
:mod:`symmetries.reps`. Layers take and return field types; :func:`export` turns a trained
model into plain ``torch.nn`` modules::

    import symmetries as sym
    from symmetries.nn.images import FieldType, R2Conv, FieldBatchNorm2d, PointwiseNonlinearity2d, GroupPool2d

    G = sym.groups.Cyclic(8)
    t0, t1 = FieldType.trivial(G, 1), FieldType.regular(G, 16)
    pool = GroupPool2d(t1)
    net = torch.nn.Sequential(R2Conv(t0, t1, 5), FieldBatchNorm2d(t1), PointwiseNonlinearity2d(t1), pool)
    print(sym.check_equivariance(net, t0.action(), pool.out_type.action(disk=True), images))
    plain = sym.nn.images.export(net.eval())  # Conv2d, BatchNorm2d, ReLU, fx graph: no symmetries import

Compared with escnn: no tensor wrapper type, kernel bases solved in closed form or by the
shared constraint solver and cached (a 96 -> 96 regular C8 layer builds in milliseconds once
its basis is known), the same ``state_dict`` in train and eval mode, and exports that run
without this package (TorchScript, ONNX).
"""

from symmetries.nn.images._basis import HarmonicRep, kernel_basis
from symmetries.nn.images._conv import GroupConv2d, R2Conv, R2ConvTranspose
from symmetries.nn.images._export import export
from symmetries.nn.images._field import FieldType, quotient
from symmetries.nn.images._nonlinear import GatedNonlinearity2d, NormNonlinearity2d, PointwiseNonlinearity2d
from symmetries.nn.images._norm import FieldBatchNorm2d
from symmetries.nn.images._pool import AntialiasedPool2d, GroupPool2d, PointwiseMaxPool2d

__all__ = [
    "FieldType", "quotient", "kernel_basis", "HarmonicRep", "R2Conv", "GroupConv2d", "R2ConvTranspose",
    "PointwiseNonlinearity2d", "NormNonlinearity2d", "GatedNonlinearity2d", "FieldBatchNorm2d", "GroupPool2d",
    "AntialiasedPool2d", "PointwiseMaxPool2d", "export",
]
