"""Spherical-harmonic embedding of edge vectors as a module."""

from __future__ import annotations

import torch
from torch import nn

from symmetries.o3 import Irreps, spherical_harmonics


class SphericalHarmonics(nn.Module):
    r"""Spherical harmonics of vectors (e3nn 0.6 conventions) as a module, see
    :func:`~symmetries.o3.spherical_harmonics`: :math:`Y(Rx) = D(R)\, Y(x)`.

    Args:
        irreps_out: an int ``lmax`` (all degrees ``0..lmax`` with parity :math:`(-1)^l`) or
            irreps like ``"0e + 1o + 2e"``.
        normalize: use the direction only (default: ``True``).
        normalization: ``"component"`` (default here, :math:`|Y^l|^2 = 2l+1`), ``"norm"``
            or ``"integral"``.

    Shapes:
        - **input:** vectors ``(..., 3)``
        - **output:** ``(..., irreps_out.dim)``
    """

    def __init__(self, irreps_out, normalize: bool = True, normalization: str = "component"):
        super().__init__()
        if isinstance(irreps_out, int) and not isinstance(irreps_out, bool):
            irreps_out = Irreps.spherical_harmonics(irreps_out)
        self.irreps_out = Irreps(irreps_out)
        self.normalize, self.normalization = normalize, normalization
        spherical_harmonics(self.irreps_out, torch.zeros(1, 3) + 1.0, normalize, normalization)  # validate now

    def forward(self, vectors: torch.Tensor) -> torch.Tensor:
        return spherical_harmonics(self.irreps_out, vectors, self.normalize, self.normalization)

    def extra_repr(self):
        return f"{self.irreps_out}, normalize={self.normalize}, normalization={self.normalization!r}"
