r"""Normalization of O(3) irreps features that commutes with rotations and reflections.

Scalars (``0e``) are centred and scaled like ordinary features. Every other irrep copy
``x_i`` is only rescaled by a rotation-invariant statistic, the mean squared component
:math:`\overline{x_i^2} = |x_i|^2 / (2l+1)` ('component' normalization):

.. math:: y_i = \gamma_i\, x_i / \sqrt{\langle \overline{x_i^2} \rangle + \epsilon}
          \;(+ \beta_i \text{ for } 0e)

``IrrepsBatchNorm`` averages over the batch (running statistics in eval mode, as e3nn's
``BatchNorm``); ``IrrepsLayerNorm`` averages over the channels of each block, per sample.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from symmetries.o3 import Irreps
from symmetries.nn.o3._checks import check_irreps_input


class _IrrepsNorm(nn.Module):
    def __init__(self, irreps, eps: float, affine: bool):
        super().__init__()
        self.irreps = Irreps(irreps)
        self.eps, self.affine = float(eps), affine
        self.irreps_in = self.irreps_out = self.irreps
        num_scalar = sum(mul for mul, ir in self.irreps if ir.is_scalar())
        if affine:
            self.weight = nn.Parameter(torch.ones(self.irreps.num_irreps))
            self.bias = nn.Parameter(torch.zeros(num_scalar))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def _blocks(self, x):
        """Yield ``(block index, (B, mul, d) view, irrep)``."""
        B = x.shape[0]
        for i, ((mul, ir), sl) in enumerate(zip(self.irreps, self.irreps.slices())):
            yield i, x[:, sl].reshape(B, mul, ir.dim), ir

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_irreps_input(self.irreps, x, f"{type(self).__name__} input")
        batch = x.shape[:-1]
        x = x.reshape(-1, self.irreps.dim)
        parts, iw, ib = [], 0, 0
        for i, xb, ir in self._blocks(x):
            mul = xb.shape[1]
            if ir.is_scalar():
                xb = xb - self._mean(i, xb)
            xb = xb * torch.rsqrt(self._sq(i, xb) + self.eps)
            if self.affine:
                xb = xb * self.weight[iw:iw + mul].to(x.dtype)[:, None]
                if ir.is_scalar():
                    xb = xb + self.bias[ib:ib + mul].to(x.dtype)[:, None]
            iw += mul
            ib += mul if ir.is_scalar() else 0
            parts.append(xb.reshape(x.shape[0], mul * ir.dim))
        return torch.cat(parts, dim=-1).reshape(batch + (self.irreps.dim,))


class IrrepsLayerNorm(_IrrepsNorm):
    r"""Per-sample normalization over the channels of each block: for a block of ``mul``
    copies of an irrep (components :math:`k`),

    .. math::
        y_{uk} = \gamma_u \frac{x_{uk} - \mu}{\sqrt{\frac{1}{\mathrm{mul}\,(2l+1)}
        \sum_{u'k'} (x_{u'k'} - \mu)^2 + \epsilon}} \;(+ \beta_u \text{ for } 0e),

    with :math:`\mu` the mean over the block's channels for ``0e`` and 0 otherwise.

    Args:
        irreps: the irreps of the input and output.
        eps: :math:`\epsilon` (default: 1e-5).
        affine: learn :math:`\gamma` (one per irrep copy, initialised to one) and
            :math:`\beta` (one per ``0e`` channel, initialised to zero) (default: ``True``).

    Shapes:
        - **input:** ``(..., irreps.dim)``
        - **output:** ``(..., irreps.dim)``
    """

    def __init__(self, irreps, eps: float = 1e-5, affine: bool = True):
        super().__init__(irreps, eps, affine)

    def _mean(self, i, xb):
        return xb.mean(dim=1, keepdim=True)

    def _sq(self, i, xb):
        return xb.pow(2).mean(dim=(1, 2), keepdim=True)


class IrrepsBatchNorm(_IrrepsNorm):
    r"""Batch normalization per channel, as e3nn's ``BatchNorm``: for channel :math:`u` of
    an irrep block,

    .. math::
        y_{nuk} = \gamma_u \frac{x_{nuk} - \mu_u}{\sqrt{\langle (x_{uk} - \mu_u)^2 \rangle
        + \epsilon}} \;(+ \beta_u \text{ for } 0e),

    averages :math:`\langle \cdot \rangle` over every leading position :math:`n` and the
    components :math:`k`; :math:`\mu_u` is the mean for ``0e`` and 0 otherwise. Training
    updates the running mean (``0e``) and mean square (all) that eval mode uses,
    :math:`r \leftarrow (1 - m)\, r + m\, \hat r`.

    Args:
        irreps: the irreps of the input and output.
        eps: :math:`\epsilon` (default: 1e-5).
        momentum: :math:`m` (default: 0.1).
        affine: learn :math:`\gamma` (one per irrep copy, initialised to one) and
            :math:`\beta` (one per ``0e`` channel, initialised to zero) (default: ``True``).

    Shapes:
        - **input:** ``(N, irreps.dim)`` or ``(N, ..., irreps.dim)``
        - **output:** same as the input
    """

    def __init__(self, irreps, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        super().__init__(irreps, eps, affine)
        self.momentum = float(momentum)
        num_scalar = sum(mul for mul, ir in self.irreps if ir.is_scalar())
        self.register_buffer("running_mean", torch.zeros(num_scalar))
        self.register_buffer("running_var", torch.ones(self.irreps.num_irreps))
        starts = np.cumsum([0] + [mul for mul, _ in self.irreps])
        scalar_starts = np.cumsum([0] + [mul if ir.is_scalar() else 0 for mul, ir in self.irreps])
        self._offsets = [(int(a), int(b)) for a, b in zip(starts, scalar_starts)]

    def _mean(self, i, xb):
        mul = xb.shape[1]
        s = self._offsets[i][1]
        if self.training:
            m = xb.mean(dim=(0, 2))
            with torch.no_grad():
                self.running_mean[s:s + mul].lerp_(m.detach().to(self.running_mean.dtype), self.momentum)
        else:
            m = self.running_mean[s:s + mul].to(xb.dtype)
        return m[None, :, None]

    def _sq(self, i, xb):
        mul = xb.shape[1]
        s = self._offsets[i][0]
        if self.training:
            v = xb.pow(2).mean(dim=(0, 2))
            with torch.no_grad():
                self.running_var[s:s + mul].lerp_(v.detach().to(self.running_var.dtype), self.momentum)
        else:
            v = self.running_var[s:s + mul].to(xb.dtype)
        return v[None, :, None]
