r"""Batch normalization of fields.

Per field :math:`f` (of rep :math:`\rho`, dimension ``d``) with :math:`P` the orthogonal
projector onto the invariant vectors of :math:`\rho`:

.. math::  \hat f = \frac{f - P\,\mathbb{E}[f]}{\sqrt{\mathbb{E}|f - P\,\mathbb{E}[f]|^2 / d
           + \epsilon}}\, \gamma + P\beta

with the expectation over the batch and the pixels. Only the invariant part of the mean is
removed and one scale is shared by the whole field, so the map commutes with every
orthogonal :math:`\rho(g)` (for regular fields: one mean and variance per field, as
escnn's ``InnerBatchNorm``; for non-trivial irreps: no centring, as ``NormBatchNorm``). In
eval mode it is a per-channel affine map, exported as ``torch.nn.BatchNorm2d``.
"""

from __future__ import annotations

import torch
from torch import nn

from ._basis import invariant_vectors
from ._conv import is_fx_proxy
from ._field import FieldType
from ._nonlinear import membership


def _invariant_projector(ftype: FieldType) -> torch.Tensor:
    """Block-diagonal ``(C, C)`` projector onto the invariant vectors of each field."""
    P = torch.zeros(ftype.size, ftype.size, dtype=torch.float64)
    cache = {}
    for r, off in zip(ftype.reps, ftype.offsets()):
        if r not in cache:
            U = invariant_vectors(r)  # (n_inv, d) orthonormal
            cache[r] = U.T @ U
        P[off:off + r.dim, off:off + r.dim] = cache[r]
    return P


class FieldBatchNorm2d(nn.Module):
    r"""Equivariant batch norm over fields (see the module docstring).

    ``(B, C, H, W) -> (B, C, H, W)``. Buffers ``running_mean`` ``(C,)`` (invariant part),
    ``running_var`` ``(n_fields,)``; parameters ``weight`` ``(n_fields,)``, ``bias``
    ``(C,)`` projected onto the invariant vectors. ``momentum`` as in ``torch.nn.BatchNorm2d``.
    """

    def __init__(self, in_type: FieldType, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        super().__init__()
        self.in_type = self.out_type = in_type
        self.eps, self.momentum, self.affine = float(eps), float(momentum), affine
        dtype = torch.get_default_dtype()
        n = len(in_type)
        self.register_buffer("_proj", _invariant_projector(in_type).to(dtype), persistent=False)
        M = membership(in_type).to(dtype)
        self.register_buffer("_members", M, persistent=False)
        self.register_buffer("_dims", M.sum(0), persistent=False)
        self.register_buffer("running_mean", torch.zeros(in_type.size))
        self.register_buffer("running_var", torch.ones(n))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        if affine:
            self.weight = nn.Parameter(torch.ones(n))
            self.bias = nn.Parameter(torch.zeros(in_type.size))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def _affine(self, mean, var):
        """Per-channel ``(scale, shift)`` with ``y = x * scale + shift``."""
        inv = torch.rsqrt(var + self.eps)  # (n_fields,)
        if self.weight is not None:
            inv = inv * self.weight
        scale = self._members @ inv
        shift = -mean * scale
        if self.bias is not None:
            shift = shift + self._proj @ self.bias
        return scale, shift

    def forward(self, x):
        if not is_fx_proxy(x):
            self.in_type.check(x)
        if self.training:
            mean = self._proj @ x.mean((0, 2, 3))
            centred = x - mean[None, :, None, None]
            var = ((centred**2).mean((0, 2, 3)) @ self._members) / self._dims
            with torch.no_grad():
                count = x.numel() / x.shape[1] * self._dims
                unbiased = var * count / (count - 1).clamp_min(1)
                self.running_mean.lerp_(mean.detach(), self.momentum)
                self.running_var.lerp_(unbiased.detach(), self.momentum)
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        scale, shift = self._affine(mean, var)
        return x * scale[None, :, None, None] + shift[None, :, None, None]

    def export(self) -> nn.BatchNorm2d:
        """A ``torch.nn.BatchNorm2d`` in eval mode computing the same per-channel affine map."""
        C = self.in_type.size
        bn = nn.BatchNorm2d(C, eps=self.eps, momentum=self.momentum, affine=True,
                            device=self.running_mean.device, dtype=self.running_mean.dtype)
        with torch.no_grad():
            var = self._members @ self.running_var
            bn.running_mean.copy_(self.running_mean)
            bn.running_var.copy_(var)
            bn.weight.copy_(self._members @ self.weight if self.weight is not None else torch.ones(C))
            bn.bias.copy_(self._proj @ self.bias if self.bias is not None else torch.zeros(C))
            bn.num_batches_tracked.copy_(self.num_batches_tracked)
        return bn.eval()

    def extra_repr(self):
        return f"{self.in_type!r}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
