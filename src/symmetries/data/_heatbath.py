r"""Local Monte Carlo kernels of the Wilson action for one checkerboard of links at a time.

A link :math:`U` with staple sum :math:`A` has the local weight
:math:`\exp(\frac{\beta}{N}\mathrm{Re}\,\mathrm{tr}\,UA)` times Haar measure. The kernels here
draw from it (heat bath) or move along its level sets (over-relaxation), elementwise over any
batch of links:

- :math:`U(1)`: von Mises angles (Best and Fisher);
- :math:`SU(2)`: :math:`U = XV^\dagger` with :math:`A = kV`, :math:`X = a_0 + i\vec a\cdot\vec\sigma`,
  :math:`a_0` from Creutz's method (small :math:`\beta k`) or Kennedy-Pendleton's;
- :math:`SU(3)`: Cabibbo-Marinari, :math:`U \mapsto R_3 R_2 R_1 U` with each :math:`R_s` in one
  of the three :math:`SU(2)` subgroups, drawn by the :math:`SU(2)` heat bath on the quaternion
  part of the :math:`2\times 2` block of :math:`UA` (coupling :math:`2\beta/3`).
"""

from __future__ import annotations

import math

import torch

_MAX_REJECTIONS = 1000
# the three SU(2) subgroups of SU(3), acting on rows (i, j)
_SU3_SUBGROUPS = ((0, 1), (1, 2), (0, 2))


def _uniform(shape, generator, device):
    return 1 - torch.rand(shape, generator=generator, dtype=torch.float64, device=device)  # (0, 1]


def _von_mises(kappa: torch.Tensor, generator) -> torch.Tensor:
    """Angles with density proportional to exp(kappa cos phi) (Best and Fisher's rejection)."""
    kappa = kappa.clamp_min(1e-8)
    tau = 1 + torch.sqrt(1 + 4 * kappa ** 2)
    rho = (tau - torch.sqrt(2 * tau)) / (2 * kappa)
    r = (1 + rho ** 2) / (2 * rho)
    out = torch.zeros_like(kappa)
    todo = torch.ones_like(kappa, dtype=torch.bool)
    for _ in range(_MAX_REJECTIONS):
        u1, u2, u3 = (_uniform(kappa.shape, generator, kappa.device) for _ in range(3))
        z = torch.cos(math.pi * u1)
        f = (1 + r * z) / (r + z)
        c = kappa * (r - f)
        ok = (c * (2 - c) - u2 > 0) | (torch.log(c / u2) + 1 - c >= 0)
        phi = torch.sign(u3 - 0.5) * torch.acos(f.clamp(-1, 1))
        take = todo & ok
        out = torch.where(take, phi, out)
        todo = todo & ~ok
        if not bool(todo.any()):
            break
    return out


def _su2_a0(alpha: torch.Tensor, generator) -> torch.Tensor:
    """a0 in [-1, 1] with density proportional to sqrt(1 - a0^2) exp(alpha a0): Creutz's method for
    alpha < 2, Kennedy-Pendleton's above."""
    alpha = alpha.clamp_min(1e-8)
    out = torch.ones_like(alpha)
    todo = torch.ones_like(alpha, dtype=torch.bool)
    kp = alpha >= 2
    for _ in range(_MAX_REJECTIONS):
        r1, r2, r3, r4 = (_uniform(alpha.shape, generator, alpha.device) for _ in range(4))
        lam2 = -(torch.log(r1) + torch.cos(2 * math.pi * r2) ** 2 * torch.log(r3)) / (2 * alpha)
        a_kp = 1 - 2 * lam2
        ok_kp = r4 ** 2 <= 1 - lam2
        y = torch.exp(-2 * alpha) + (1 - torch.exp(-2 * alpha)) * r1  # uniform in [e^{-2 alpha}, 1]
        a_cr = (1 + torch.log(y) / alpha).clamp(-1, 1)
        ok_cr = r4 <= torch.sqrt((1 - a_cr ** 2).clamp_min(0))
        a0, ok = torch.where(kp, a_kp, a_cr), torch.where(kp, ok_kp, ok_cr)
        take = todo & ok
        out = torch.where(take, a0, out)
        todo = todo & ~ok
        if not bool(todo.any()):
            break
    return out


def _su2_from_quaternion(a0, a1, a2, a3, dtype):
    """a0 + i a.sigma as (..., 2, 2)."""
    top = torch.stack([torch.complex(a0, a3), torch.complex(a2, a1)], -1)
    bottom = torch.stack([torch.complex(-a2, a1), torch.complex(a0, -a3)], -1)
    return torch.stack([top, bottom], -2).to(dtype)


def _quaternion_part(w: torch.Tensor):
    """The SU(2) multiple k V (V in SU(2), k >= 0) nearest a 2x2 complex block: (w + s2 w* s2) / 2,
    returned as (k, V); Re tr(r w) = Re tr(r k V) for every r in SU(2)."""
    alpha = (w[..., 0, 0] + w[..., 1, 1].conj()) / 2
    beta_ = (w[..., 0, 1] - w[..., 1, 0].conj()) / 2
    k = torch.sqrt(alpha.abs() ** 2 + beta_.abs() ** 2)
    kk = k.clamp_min(torch.finfo(k.dtype).tiny)
    alpha, beta_ = alpha / kk, beta_ / kk
    V = torch.stack([torch.stack([alpha, beta_], -1), torch.stack([-beta_.conj(), alpha.conj()], -1)], -2)
    return k, V


def _su2_draw(k: torch.Tensor, V: torch.Tensor, coupling: float, generator) -> torch.Tensor:
    """r in SU(2) with density proportional to exp(coupling/2 Re tr(r k V)), as X V^dagger."""
    a0 = _su2_a0(coupling * k.to(torch.float64), generator)
    cos_t = 2 * _uniform(a0.shape, generator, a0.device) - 1
    phi = 2 * math.pi * _uniform(a0.shape, generator, a0.device)
    rad = torch.sqrt((1 - a0 ** 2).clamp_min(0))
    sin_t = torch.sqrt((1 - cos_t ** 2).clamp_min(0))
    X = _su2_from_quaternion(a0, rad * sin_t * torch.cos(phi), rad * sin_t * torch.sin(phi), rad * cos_t, V.dtype)
    return X @ V.mH


def _left_rows(M: torch.Tensor, r: torch.Tensor, i: int, j: int) -> torch.Tensor:
    """R M for R the SU(3) element with the SU(2) block r on rows and columns (i, j)."""
    rows = r @ M[..., (i, j), :]
    out = M.clone()
    out[..., i, :], out[..., j, :] = rows[..., 0, :], rows[..., 1, :]
    return out


def _su3_subgroup_steps(Umu, A, step, subgroups=_SU3_SUBGROUPS):
    """Cabibbo-Marinari: left-multiply the link by an SU(2) element of each subgroup in turn, chosen
    by ``step(k, V)`` from the subgroup's block k V of U A (which then moves on with the link)."""
    W = Umu @ A
    for i, j in subgroups:
        w = W[..., (i, j), :][..., :, (i, j)]
        k, V = _quaternion_part(w)
        r = torch.where((k > 0)[..., None, None], step(k, V), torch.eye(2, dtype=V.dtype, device=V.device))
        Umu, W = _left_rows(Umu, r, i, j), _left_rows(W, r, i, j)
    return Umu


def heatbath(Umu: torch.Tensor, A: torch.Tensor, beta: float, generator) -> torch.Tensor:
    """Heat-bath update of links ``Umu`` (..., N, N) with staples ``A``, N = 1, 2 or 3."""
    N = Umu.shape[-1]
    if N == 1:
        a = A[..., 0, 0].to(torch.complex128)
        phi = _von_mises(beta * a.abs(), generator) - torch.angle(a)
        return torch.polar(torch.ones_like(phi), phi)[..., None, None].to(Umu.dtype)
    if N == 2:
        k, V = _quaternion_part(A)
        return torch.where((k > 0)[..., None, None], _su2_draw(k, V, beta, generator), Umu)
    # exp(beta/3 Re tr(r kV)) = exp((2 beta/3)/2 Re tr(r kV)): the SU(2) heat bath at coupling 2 beta / 3
    return _su3_subgroup_steps(Umu, A, lambda k, V: _su2_draw(k, V, 2 * beta / 3, generator))


def overrelax(Umu: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    r"""Over-relaxation of links ``Umu`` with staples ``A``: the reflection that keeps
    :math:`\mathrm{Re}\,\mathrm{tr}\,UA` (:math:`\theta \mapsto -\theta - 2\arg A` for U(1);
    :math:`U \mapsto V^\dagger U^\dagger V^\dagger` for SU(2); for SU(3) the same reflection
    :math:`R = V^{\dagger 2}` of the current subgroup element in each SU(2) subgroup: each step is
    an involution that keeps the action, so their product keeps the distribution, and the three in
    reverse order undo it)."""
    N = Umu.shape[-1]
    if N == 1:
        a = A / A.abs().clamp_min(torch.finfo(A.real.dtype).tiny)
        return (Umu * a * a).conj()
    if N == 2:
        k, V = _quaternion_part(A)
        return torch.where((k > 0)[..., None, None], V.mH @ Umu.mH @ V.mH, Umu)
    return _su3_subgroup_steps(Umu, A, lambda k, V: V.mH @ V.mH)
