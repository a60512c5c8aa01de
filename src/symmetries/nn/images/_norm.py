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
import torch.nn.functional as F
from torch import nn

from symmetries.nn.images._basis import invariant_vectors
from symmetries.nn.images._conv import is_fx_proxy
from symmetries.nn.images._field import FieldType
from symmetries.nn.images._nonlinear import acts_by_permutations, membership


def _invariant_directions(ftype: FieldType) -> torch.Tensor:
    """``(C, K)``: the invariant vectors of every field as columns, scaled to max entry 1
    (a regular field's is all ones), so coefficients are per-channel values."""
    cols = []
    for r, off in zip(ftype.reps, ftype.offsets()):
        for u in invariant_vectors(r):
            col = torch.zeros(ftype.size, dtype=torch.float64)
            col[off:off + r.dim] = u / u.abs().max()
            cols.append(col)
    return torch.stack(cols, 1) if cols else torch.zeros(ftype.size, 0, dtype=torch.float64)


class FieldBatchNorm2d(nn.Module):
    r"""Equivariant batch norm over fields: per field :math:`f` (of rep :math:`\rho`,
    dimension ``d``) with :math:`P` the orthogonal projector onto the invariant vectors of
    :math:`\rho`,

    .. math::
        \hat f = \frac{f - P\,\mathbb{E}[f]}{\sqrt{\mathbb{E}|f - P\,\mathbb{E}[f]|^2 / d
        + \epsilon}}\, \gamma + P\beta,

    the expectation over the batch and the pixels (running statistics in eval mode, where
    it is a per-channel affine map, exported as ``torch.nn.BatchNorm2d``).

    Buffers ``running_mean`` ``(K,)`` (coefficients of the invariant directions: one per
    regular, quotient or trivial field, none for a non-trivial irrep) and ``running_var``
    ``(n_fields,)``; parameters ``weight`` ``(n_fields,)`` and ``bias`` ``(K,)``. When every
    field is a regular/quotient/trivial field of one size, it runs as one fused
    ``batch_norm`` over the fields (escnn's ``InnerBatchNorm``).

    Args:
        in_type: the field type of input and output.
        eps: :math:`\epsilon` (default: 1e-5).
        momentum: as in ``torch.nn.BatchNorm2d`` (default: 0.1).
        affine: learn :math:`\gamma` (initialised to one) and :math:`\beta` (to zero)
            (default: ``True``).

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``
        - **output:** ``(B, in_type.size, H, W)``
    """

    def __init__(self, in_type: FieldType, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        super().__init__()
        self.in_type = self.out_type = in_type
        self.eps, self.momentum, self.affine = float(eps), float(momentum), affine
        dtype = torch.get_default_dtype()
        n = len(in_type)
        E = _invariant_directions(in_type)  # (C, K)
        K = E.shape[1]
        M = membership(in_type).double()
        dims = {r.dim for r in in_type.reps}
        self._fused = K == n and len(dims) == 1 and all(acts_by_permutations(r) for r in set(in_type.reps))
        self.register_buffer("_expand", E.to(dtype), persistent=False)
        coef = E.T / (E**2).sum(0)[:, None]  # (K, C): coefficients of the projection (orthogonal columns)
        self.register_buffer("_coef", coef.to(dtype), persistent=False)
        self.register_buffer("_members", M.to(dtype), persistent=False)
        self.register_buffer("_dims", M.sum(0).to(dtype), persistent=False)
        self.register_buffer("running_mean", torch.zeros(K))
        self.register_buffer("running_var", torch.ones(n))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        if affine:
            self.weight = nn.Parameter(torch.ones(n))
            self.bias = nn.Parameter(torch.zeros(K))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        if not is_fx_proxy(x):
            self.in_type.check(x)
        if self._fused:
            B, C, H, W = x.shape
            n = len(self.in_type)
            if self.training:
                self.num_batches_tracked += 1
            y = F.batch_norm(x.reshape(B, n, (C // n) * H, W), self.running_mean, self.running_var, self.weight,
                             self.bias, self.training, self.momentum, self.eps)
            return y.reshape(B, C, H, W)
        if self.training:
            var_c, mean_c = torch.var_mean(x, dim=(0, 2, 3), unbiased=False)
            coef = self._coef @ mean_c  # (K,)
            mean = self._expand @ coef  # invariant part of the mean, per channel
            var = ((var_c + (mean_c - mean) ** 2) @ self._members) / self._dims  # (n_fields,)
            with torch.no_grad():
                count = x.numel() / x.shape[1] * self._dims
                self.running_mean.lerp_(coef.detach(), self.momentum)
                self.running_var.lerp_((var * count / (count - 1).clamp_min(1)).detach(), self.momentum)
                self.num_batches_tracked += 1
        else:
            mean, var = self._expand @ self.running_mean, self.running_var
        inv = torch.rsqrt(var + self.eps)
        if self.weight is not None:
            inv = inv * self.weight
        scale = self._members @ inv
        shift = -mean * scale
        if self.bias is not None:
            shift = shift + self._expand @ self.bias
        return torch.addcmul(shift[None, :, None, None], x, scale[None, :, None, None])

    def export(self) -> nn.BatchNorm2d:
        """A ``torch.nn.BatchNorm2d`` in eval mode computing the same per-channel affine map."""
        C = self.in_type.size
        bn = nn.BatchNorm2d(C, eps=self.eps, momentum=self.momentum, affine=True,
                            device=self.running_mean.device, dtype=self.running_var.dtype)
        with torch.no_grad():
            E, M = self._expand, self._members
            bn.running_mean.copy_(E @ self.running_mean)
            bn.running_var.copy_(M @ self.running_var)
            bn.weight.copy_(M @ self.weight if self.weight is not None else torch.ones(C))
            bn.bias.copy_(E @ self.bias if self.bias is not None else torch.zeros(C))
            bn.num_batches_tracked.copy_(self.num_batches_tracked)
        return bn.eval()

    def extra_repr(self):
        return f"{self.in_type!r}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
