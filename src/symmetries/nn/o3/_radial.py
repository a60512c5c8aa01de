r"""Radial bases for edge lengths: Bessel functions with a smooth polynomial cutoff (NequIP).

.. math:: B_n(r) = \frac{2}{r_c} \frac{\sin(n \pi r / r_c)}{r}, \qquad n = 1..N

.. math:: f_p(x) = 1 - \frac{(p+1)(p+2)}{2} x^p + p(p+2) x^{p+1} - \frac{p(p+1)}{2} x^{p+2},
          \quad x = r / r_c < 1, \qquad f_p = 0 \text{ for } x \ge 1

:math:`f_p` and its first two derivatives vanish at :math:`r_c`, so energies and forces
are smooth when atoms cross the cutoff (Klicpera et al. 2020, DimeNet; Batzner et al. 2022).
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _check_lengths(r, name):
    if not torch.is_tensor(r) or not r.is_floating_point():
        raise TypeError(f"{name} expects a float tensor of edge lengths, got "
                        f"{r.dtype if torch.is_tensor(r) else type(r).__name__}")


class BesselBasis(nn.Module):
    r"""Bessel features of edge lengths,

    .. math::
        B_n(r) = \frac{2}{r_c} \frac{\sin(\omega_n r / r_c)}{r}, \qquad \omega_n = n \pi,
        \quad n = 1..N.

    Args:
        r_max: the cutoff :math:`r_c > 0`.
        num_basis: :math:`N \ge 1` (default: 8).
        trainable: learn the frequencies :math:`\omega_n` (initialised to :math:`n\pi`)
            (default: ``False``).

    Shapes:
        - **input:** r ``(...,)`` float
        - **output:** ``(..., num_basis)``
    """

    def __init__(self, r_max: float, num_basis: int = 8, trainable: bool = False):
        super().__init__()
        if r_max <= 0 or num_basis < 1:
            raise ValueError(f"BesselBasis needs r_max > 0 and num_basis >= 1, got {r_max}, {num_basis}")
        self.r_max, self.num_basis = float(r_max), int(num_basis)
        freqs = torch.arange(1, num_basis + 1, dtype=torch.get_default_dtype()) * math.pi
        if trainable:
            self.frequencies = nn.Parameter(freqs)
        else:
            self.register_buffer("frequencies", freqs)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        _check_lengths(r, "BesselBasis")
        r = r[..., None]
        return (2.0 / self.r_max) * torch.sin(self.frequencies.to(r.dtype) * r / self.r_max) / r

    def extra_repr(self):
        return f"r_max={self.r_max}, num_basis={self.num_basis}"


class PolynomialCutoff(nn.Module):
    r"""Smooth envelope: 1 at r = 0, 0 with two zero derivatives at ``r_max``,

    .. math::
        f_p(x) = 1 - \frac{(p+1)(p+2)}{2} x^p + p(p+2) x^{p+1} - \frac{p(p+1)}{2} x^{p+2},
        \quad x = r / r_c < 1, \qquad f_p = 0 \text{ for } x \ge 1.

    Args:
        r_max: the cutoff :math:`r_c > 0`.
        p: the exponent :math:`p \ge 1` (default: 6).

    Shapes:
        - **input:** r ``(...,)`` float
        - **output:** ``(...,)``
    """

    def __init__(self, r_max: float, p: int = 6):
        super().__init__()
        if r_max <= 0 or p < 1:
            raise ValueError(f"PolynomialCutoff needs r_max > 0 and p >= 1, got {r_max}, {p}")
        self.r_max, self.p = float(r_max), int(p)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        _check_lengths(r, "PolynomialCutoff")
        p, x = self.p, r / self.r_max
        out = (1.0 - (p + 1) * (p + 2) / 2 * x ** p + p * (p + 2) * x ** (p + 1) - p * (p + 1) / 2 * x ** (p + 2))
        return out * (x < 1.0).to(r.dtype)

    def extra_repr(self):
        return f"r_max={self.r_max}, p={self.p}"


class RadialEmbedding(nn.Module):
    r"""Bessel basis times the polynomial cutoff (NequIP's radial embedding),
    :math:`B_n(r)\, f_p(r / r_c)`.

    Args:
        r_max: the cutoff :math:`r_c`.
        num_basis: the number of Bessel functions (default: 8).
        p: the exponent of :class:`PolynomialCutoff` (default: 6).
        trainable: learn the Bessel frequencies (default: ``False``).

    Shapes:
        - **input:** r ``(...,)`` float
        - **output:** ``(..., num_basis)``
    """

    def __init__(self, r_max: float, num_basis: int = 8, p: int = 6, trainable: bool = False):
        super().__init__()
        self.basis = BesselBasis(r_max, num_basis, trainable)
        self.cutoff = PolynomialCutoff(r_max, p)
        self.num_basis = num_basis

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return self.basis(r) * self.cutoff(r)[..., None]
