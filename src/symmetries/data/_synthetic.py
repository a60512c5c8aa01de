"""Synthetic tasks of the EMLP paper (Finzi, Welling & Wilson 2021), generated offline."""

from __future__ import annotations

import torch
import torch.nn.functional as F

MINKOWSKI = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))


def _gaussian(n: int, dim: int, seed: int) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def o5_invariant(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""O(5)-invariant regression: :math:`x_1, x_2 \sim N(0, I_5)`,

    .. math:: f(x_1, x_2) = \sin|x_1| - \tfrac12 |x_2|^3 + \frac{x_1 \cdot x_2}{|x_1||x_2|}.

    Args:
        n: the number of samples.
        seed: seeds the inputs (default: 0).

    Returns:
        ``(x, y)``: inputs ``(n, 10)`` (rep ``2 V``) and targets ``(n, 1)``, float64.
    """
    x = _gaussian(n, 10, seed)
    x1, x2 = x[:, :5], x[:, 5:]
    r1, r2 = x1.norm(dim=1), x2.norm(dim=1)
    y = torch.sin(r1) - 0.5 * r2**3 + (x1 * x2).sum(1) / (r1 * r2)
    return x, y[:, None]


def o3_inertia(n: int, seed: int = 0, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    r"""O(3)-equivariant inertia tensor of ``k`` point masses,

    .. math::
        I = \sum_i m_i (|r_i|^2 \mathbb{1} - r_i r_i^T), \qquad
        m_i = \mathrm{softplus}(z_i), \quad z_i, r_i \sim N(0, 1).

    Args:
        n: the number of samples.
        seed: seeds the inputs (default: 0).
        k: the number of point masses (default: 5).

    Returns:
        ``(x, y)``: inputs ``(n, 4k)`` = ``k`` masses then ``k`` positions (rep
        ``k T_0 + k V``), and targets ``(n, 9)`` (rep ``V^{\otimes 2}``, row-major), float64.
    """
    x = _gaussian(n, 4 * k, seed)
    x[:, :k] = F.softplus(x[:, :k])
    m, r = x[:, :k], x[:, k:].reshape(n, k, 3)
    r2 = (r**2).sum(-1)[..., None, None]
    inertia = (m[..., None, None] * (r2 * torch.eye(3, dtype=x.dtype) - r[..., :, None] * r[..., None, :])).sum(1)
    return x, inertia.reshape(n, 9)


def lorentz_scattering(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Lorentz-invariant electron-muon scattering matrix element of four 4-momenta
    :math:`p_1..p_4 \sim N(0, I/16)` (time component first, metric
    :math:`\eta = \mathrm{diag}(1,-1,-1,-1)`), as in the EMLP paper:

    .. math::
        L_e^{\mu\nu} = p_1^\mu p_3^\nu - (p_1 \cdot p_3 - p_1 \cdot p_1)\,\eta^{\mu\nu},\quad
        L_{\mu,\mu\nu} = p_{2\mu} p_{4\nu} - (p_2 \cdot p_4 - p_2 \cdot p_2)\,\eta_{\mu\nu},\quad
        |M|^2 = 4 L_e^{\mu\nu} L_{\mu,\mu\nu}.

    Args:
        n: the number of samples.
        seed: seeds the inputs (default: 0).

    Returns:
        ``(x, y)``: inputs ``(n, 16)`` (rep ``4 V``) and targets ``(n, 1)``, float64.
    """
    x = _gaussian(n, 16, seed) / 4
    p1, p2, p3, p4 = x.reshape(n, 4, 4).unbind(1)
    eta = MINKOWSKI

    def dot(a, b):
        return ((a @ eta) * b).sum(-1)

    Le = p1[:, :, None] * p3[:, None, :] - (dot(p1, p3) - dot(p1, p1))[:, None, None] * eta
    Lmu = (p2 @ eta)[:, :, None] * (p4 @ eta)[:, None, :] - (dot(p2, p4) - dot(p2, p2))[:, None, None] * eta
    return x, 4 * (Le * Lmu).sum((-1, -2))[:, None]
