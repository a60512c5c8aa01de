r"""Wigner D matrices and Wigner 3j symbols of SO(3) in e3nn's real basis.

:math:`D^l(\alpha, \beta, \gamma) = e^{\alpha X_y} e^{\beta X_x} e^{\gamma X_y}` (Y-X-Y Euler
angles) with the real generators of :func:`symmetries.reps.so3.so3_generators`; for
``l = 1`` it is the rotation matrix itself. The 3j symbol :math:`C^{l_1 l_2 l_3}` is the
unique (up to sign) invariant tensor,
:math:`C_{ijk} = D^{l_1}_{ii'} D^{l_2}_{jj'} D^{l_3}_{kk'} C_{i'j'k'}`, with Frobenius norm 1.
Its sign follows e3nn 0.6: the complex (Condon-Shortley) Clebsch-Gordan coefficients
:math:`\langle l_1 m_1 l_2 m_2 | l_3 m_3 \rangle` changed to the real basis with
:math:`Q^l` (:func:`symmetries.reps.so3.real_to_complex`):
:math:`C_{jlm} \propto \sum Q^{l_1}_{ij} Q^{l_2}_{kl} \overline{Q^{l_3}_{nm}} \langle i k | n \rangle`.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import torch

from symmetries.reps.so3 import angles_to_matrix, matrix_to_angles, real_to_complex, wigner_D_from_angles

__all__ = ["wigner_D", "wigner_3j", "angles_to_matrix", "matrix_to_angles"]


def wigner_D(l: int, alpha, beta, gamma) -> torch.Tensor:
    r"""Wigner D matrix of Y-X-Y Euler angles, in e3nn's real basis,

    .. math::
        D^l(\alpha, \beta, \gamma) = e^{\alpha X_y} e^{\beta X_x} e^{\gamma X_y},

    the matrix of the rotation :math:`R_y(\alpha) R_x(\beta) R_y(\gamma)` in the irrep ``l``.

    Args:
        l: the degree, an int >= 0.
        alpha: rotation angle about y (tensor or Python float).
        beta: rotation angle about x.
        gamma: rotation angle about y.

    Returns:
        The matrices; Python floats give float64.

    Shapes:
        - **input:** alpha, beta, gamma ``(...)`` (they broadcast)
        - **output:** ``(..., 2l+1, 2l+1)``
    """
    _check_l(l, "wigner_D")
    alpha, beta, gamma = (a if torch.is_tensor(a) else torch.tensor(a, dtype=torch.float64) for a in (alpha, beta, gamma))
    alpha, beta, gamma = torch.broadcast_tensors(alpha, beta, gamma)
    if not alpha.is_floating_point():
        raise TypeError(f"wigner_D needs floating point angles, got {alpha.dtype}")
    if l == 0:
        return alpha.new_ones(alpha.shape + (1, 1))
    return wigner_D_from_angles(l, alpha, beta, gamma)


def irrep_D_from_matrix(l: int, p: int, R: torch.Tensor) -> torch.Tensor:
    r""":math:`p^{(1-\det R)/2} D^l(R \det R)` for orthogonal ``R`` ``(..., 3, 3)``."""
    if not torch.is_tensor(R) or R.dim() < 2 or R.shape[-2:] != (3, 3) or not R.is_floating_point():
        shape = tuple(R.shape) if torch.is_tensor(R) else type(R).__name__
        raise ValueError(f"expected orthogonal 3x3 float matrices (..., 3, 3), got {shape}")
    det = torch.linalg.det(R).sign()
    proper = R * det[..., None, None]
    if l == 0:
        D = R.new_ones(R.shape[:-2] + (1, 1))
    elif l == 1:
        D = proper
    else:
        D = wigner_D_from_angles(l, *matrix_to_angles(proper))
    if p == 1:
        return D
    return D * det[..., None, None]


def _check_l(l, name):
    if not isinstance(l, int) or isinstance(l, bool) or l < 0:
        raise ValueError(f"{name}: l must be an int >= 0, got {l!r}")


def _factorial(n: int) -> int:
    return math.factorial(n)


def _su2_cg(j1: int, m1: int, j2: int, m2: int, j3: int, m3: int) -> float:
    r"""Condon-Shortley :math:`\langle j_1 m_1 j_2 m_2 | j_3 m_3 \rangle` by Racah's formula,
    in exact rational arithmetic (integer spins only)."""
    if m3 != m1 + m2 or abs(m1) > j1 or abs(m2) > j2 or abs(m3) > j3:
        return 0.0
    f = _factorial
    pre = Fraction((2 * j3 + 1) * f(j3 + j1 - j2) * f(j3 - j1 + j2) * f(j1 + j2 - j3), f(j1 + j2 + j3 + 1))
    pre *= f(j3 + m3) * f(j3 - m3) * f(j1 - m1) * f(j1 + m1) * f(j2 - m2) * f(j2 + m2)
    total = Fraction(0)
    for k in range(0, j1 + j2 - j3 + 1):
        terms = (j1 + j2 - j3 - k, j1 - m1 - k, j2 + m2 - k, j3 - j2 + m1 + k, j3 - j1 - m2 + k)
        if min(terms) < 0:
            continue
        den = f(k)
        for t in terms:
            den *= f(t)
        total += Fraction((-1) ** k, den)
    if total == 0:
        return 0.0
    value = math.sqrt(total * total * pre)
    return value if total > 0 else -value


@functools.lru_cache(maxsize=None)
def _wigner_3j_float64(l1: int, l2: int, l3: int) -> torch.Tensor:
    cg = torch.zeros(2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1, dtype=torch.complex128)
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            m3 = m1 + m2
            if abs(m3) <= l3:
                cg[l1 + m1, l2 + m2, l3 + m3] = _su2_cg(l1, m1, l2, m2, l3, m3)
    Q1, Q2, Q3 = real_to_complex(l1), real_to_complex(l2), real_to_complex(l3)
    C = torch.einsum("ij,kl,nm,ikn->jlm", Q1, Q2, Q3.conj(), cg)
    assert C.imag.abs().max() < 1e-12, "3j symbol in the real basis should be real"
    C = C.real
    C = C / C.norm()
    C[C.abs() < 1e-15] = 0.0
    return C.contiguous()


def wigner_3j(l1: int, l2: int, l3: int, dtype=torch.float64, device=None) -> torch.Tensor:
    r"""Wigner 3j symbol :math:`C^{l_1 l_2 l_3}`, of Frobenius norm 1, invariant under every
    rotation:

    .. math::
        C = C \times_1 D^{l_1}(R) \times_2 D^{l_2}(R) \times_3 D^{l_3}(R).

    Computed in float64 from exact rational Clebsch-Gordan coefficients (accurate for
    large l), sign as in e3nn 0.6.

    Args:
        l1, l2, l3: the degrees, with :math:`|l_1 - l_2| \le l_3 \le l_1 + l_2` (else
            ``ValueError``).
        dtype: the dtype of the result (default: float64).
        device: its device (default: the CPU).

    Returns:
        A fresh ``(2l_1+1, 2l_2+1, 2l_3+1)`` tensor.
    """
    for name, l in (("l1", l1), ("l2", l2), ("l3", l3)):
        _check_l(l, f"wigner_3j {name}")
    if not abs(l1 - l2) <= l3 <= l1 + l2:
        raise ValueError(f"wigner_3j({l1}, {l2}, {l3}) breaks the triangle rule |l1-l2| <= l3 <= l1+l2")
    return _wigner_3j_float64(l1, l2, l3).to(dtype=dtype, device=device, copy=True)
