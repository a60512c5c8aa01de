"""Group-equivariant and steerable CNNs for rotations and reflections of the plane.

Feature maps are plain tensors ``(B, C, H, W)``; a :class:`FieldType` says how their
channels transform under the point group (Cyclic, Dihedral, SO2, O2), built on
:mod:`symmetries.reps`. Layers take and return field types; :func:`export` turns a trained
model into plain ``torch.nn`` modules.
"""

from ._basis import HarmonicRep, kernel_basis
from ._conv import GroupConv2d, R2Conv, R2ConvTranspose
from ._export import export
from ._field import FieldType, quotient
from ._nonlinear import GatedNonlinearity2d, NormNonlinearity2d, PointwiseNonlinearity2d
from ._norm import FieldBatchNorm2d
from ._pool import AntialiasedPool2d, GroupPool2d, PointwiseMaxPool2d

__all__ = [
    "FieldType", "quotient", "kernel_basis", "HarmonicRep", "R2Conv", "GroupConv2d", "R2ConvTranspose",
    "PointwiseNonlinearity2d", "NormNonlinearity2d", "GatedNonlinearity2d", "FieldBatchNorm2d", "GroupPool2d",
    "AntialiasedPool2d", "PointwiseMaxPool2d", "export",
]
