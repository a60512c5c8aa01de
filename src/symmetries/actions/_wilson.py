r"""Gauge-invariant observables of lattice gauge fields: plaquettes, rectangular Wilson loops,
Polyakov loops and the 2D :math:`U(1)` topological charge.

Links are ``U`` of shape ``(B, D, L_0, ..., L_{D-1}, N, N)``, ``U[b, mu, x]`` the parallel
transporter :math:`U_\mu(x)` from :math:`x + \hat\mu` back to :math:`x`, on a periodic lattice.
"""

from __future__ import annotations

import math

import torch

from symmetries.groups import check_unitary


def check_links(U, shape=None, N=None, what: str = "links U", unitary: bool = True) -> tuple[int, tuple, int]:
    r"""Validate a link tensor and return ``(D, lattice shape, N)``.

    Args:
        U: links ``(B, D, L_0, ..., L_{D-1}, N, N)``, complex.
        shape: the expected lattice shape (default: any).
        N: the expected matrix size (default: any).
        what: a name for the messages.
        unitary: also check :math:`\max |U U^\dagger - I|` against the dtype's tolerance.

    Returns:
        ``(D, (L_0, ..., L_{D-1}), N)``.
    """
    if not torch.is_tensor(U) or not U.is_complex():
        got = f"{tuple(U.shape)} {U.dtype}" if torch.is_tensor(U) else type(U).__name__
        raise ValueError(f"{what} must be a complex tensor (B, D, L_0, ..., L_(D-1), N, N), got {got}")
    if U.dim() < 5 or U.shape[-1] != U.shape[-2] or U.shape[1] != U.dim() - 4:
        raise ValueError(f"{what} must have shape (B, D, L_0, ..., L_(D-1), N, N) with D lattice axes, got "
                         f"{tuple(U.shape)} (D = {U.shape[1] if U.dim() > 1 else '?'} but {max(U.dim() - 4, 0)} "
                         f"lattice axes)")
    D, lattice, n = U.shape[1], tuple(U.shape[2:-2]), U.shape[-1]
    if shape is not None and tuple(shape) != lattice:
        raise ValueError(f"{what}: expected a lattice of shape {tuple(shape)}, got {lattice}")
    if N is not None and n != N:
        raise ValueError(f"{what}: expected {N} x {N} link matrices, got {n} x {n}")
    if unitary:
        check_unitary(U, what)
    return D, lattice, n


def shift(x: torch.Tensor, mu: int, steps: int = 1, offset: int = 2) -> torch.Tensor:
    r"""The field at :math:`x + \text{steps}\cdot\hat\mu`: ``torch.roll(x, -steps, dims=offset + mu)``.

    Args:
        x: a field whose lattice axes start at ``offset``.
        mu: the lattice axis.
        steps: how far (default: 1).
        offset: the dimension of lattice axis 0 (default: 2, links ``(B, D, L..., N, N)``;
            1 for sites ``(B, L..., N, N)``).

    Returns:
        the shifted field, shape of ``x``.
    """
    return torch.roll(x, shifts=-steps, dims=offset + mu)


def _planes(D: int, planes):
    if planes is None:
        return [(m, n) for m in range(D) for n in range(m + 1, D)]
    out = []
    for p in planes:
        mu, nu = (int(v) for v in p)
        if not (0 <= mu < D and 0 <= nu < D and mu != nu):
            raise ValueError(f"planes are pairs (mu, nu) of distinct lattice axes in [0, {D}), got {tuple(p)}")
        out.append((mu, nu))
    return out


def _line(Umu: torch.Tensor, mu: int, length: int) -> torch.Tensor:
    """The product U_mu(x) U_mu(x+mu) ... U_mu(x+(length-1)mu) of sites (B, L..., N, N)."""
    out, step = Umu, Umu
    for _ in range(length - 1):
        step = shift(step, mu, offset=1)
        out = out @ step
    return out


def wilson_loop_matrices(U: torch.Tensor, size=(1, 1), planes=None, check: bool = True) -> torch.Tensor:
    r"""Rectangular Wilson loops as matrices, :math:`a` links along :math:`\mu`, :math:`b` along
    :math:`\nu`, based at :math:`x`:

    .. math::
        W_{\mu\nu}^{a\times b}(x) = L_\mu^a(x)\, L_\nu^b(x + a\hat\mu)\,
        L_\mu^a(x + b\hat\nu)^\dagger\, L_\nu^b(x)^\dagger,
        \qquad L_\mu^a(x) = \prod_{k=0}^{a-1} U_\mu(x + k\hat\mu),

    transforming as :math:`\Omega(x) W(x) \Omega(x)^\dagger`.

    Args:
        U: links.
        size: :math:`(a, b)` (default: ``(1, 1)``, the plaquette).
        planes: pairs :math:`(\mu, \nu)` (default: every :math:`\mu < \nu` in order
            ``(0, 1), (0, 2), ..., (1, 2), ...``).
        check: validate ``U`` (shape, unitarity; default: ``True``).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``
        - **output:** ``(B, P, L_0, ..., L_{D-1}, N, N)``, ``P`` planes

    Returns:
        the loop matrices.
    """
    D = check_links(U)[0] if check else U.shape[1]
    a, b = (int(s) for s in size)
    if a < 1 or b < 1:
        raise ValueError(f"Wilson loop sizes are positive (a, b), got {tuple(size)}")
    loops = []
    for mu, nu in _planes(D, planes):
        La, Lb = _line(U[:, mu], mu, a), _line(U[:, nu], nu, b)
        w = La @ shift(Lb, mu, a, offset=1) @ shift(La, nu, b, offset=1).mH @ Lb.mH
        loops.append(w)
    return torch.stack(loops, 1)


def plaquettes(U: torch.Tensor, planes=None) -> torch.Tensor:
    r"""The plaquettes, the smallest Wilson loops,

    .. math::
        U_{\mu\nu}(x) = U_\mu(x)\, U_\nu(x + \hat\mu)\, U_\mu(x + \hat\nu)^\dagger\, U_\nu(x)^\dagger.

    Args:
        U: links (complex, unitary).
        planes: pairs :math:`(\mu, \nu)` (default: every :math:`\mu < \nu`, in order
            ``(0, 1), (0, 2), ..., (1, 2), ...``).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``
        - **output:** ``(B, P, L_0, ..., L_{D-1}, N, N)``, ``P = D(D-1)/2`` by default

    Returns:
        the plaquette matrices, transforming as :math:`\Omega(x) U_{\mu\nu}(x) \Omega(x)^\dagger`.
    """
    return wilson_loop_matrices(U, (1, 1), planes)


def wilson_loops(U: torch.Tensor, size=(1, 1), planes=None, normalize: bool = True) -> torch.Tensor:
    r"""Traces of rectangular :math:`a \times b` Wilson loops (see :func:`wilson_loop_matrices`),
    gauge invariant:

    .. math::
        w_{\mu\nu}(x) = \frac{1}{N} \mathrm{tr}\, W_{\mu\nu}^{a\times b}(x).

    Args:
        U: links.
        size: :math:`(a, b)`, the extent along :math:`\mu` then :math:`\nu` (default: ``(1, 1)``).
        planes: pairs :math:`(\mu, \nu)` (default: every :math:`\mu < \nu`).
        normalize: divide the trace by :math:`N` (default: ``True``).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``
        - **output:** ``(B, P, L_0, ..., L_{D-1})`` complex

    Returns:
        the traced loops at every base point.
    """
    w = torch.diagonal(wilson_loop_matrices(U, size, planes), dim1=-2, dim2=-1).sum(-1)
    return w / U.shape[-1] if normalize else w


def polyakov_loops(U: torch.Tensor, axis: int = 0, normalize: bool = True, trace: bool = True) -> torch.Tensor:
    r"""Polyakov loops, the straight loops winding once around lattice axis ``axis`` (time):

    .. math::
        P(\vec x) = \frac{1}{N} \mathrm{tr} \prod_{t=0}^{L_{axis}-1} U_{axis}(t\,\hat e_{axis} + \vec x),

    gauge invariant (and invariant under translations along ``axis``), one per line of sites
    :math:`\vec x` with coordinate 0 on ``axis``.

    Args:
        U: links.
        axis: the winding direction (default: 0).
        normalize: divide the trace by :math:`N` (default: ``True``).
        trace: return traces; ``False``: the ordered products, which transform as
            :math:`\Omega(\vec x) P \Omega(\vec x)^\dagger` (default: ``True``).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``
        - **output:** ``(B, L_0, ..., L_{D-1})`` without the ``axis`` extent, complex;
          ``(..., N, N)`` appended when ``trace=False``

    Returns:
        the loops.
    """
    D = check_links(U)[0]
    if not 0 <= axis < D:
        raise ValueError(f"axis must be a lattice axis in [0, {D}), got {axis}")
    line = _line(U[:, axis], axis, U.shape[2 + axis]).select(1 + axis, 0)
    if not trace:
        return line
    p = torch.diagonal(line, dim1=-2, dim2=-1).sum(-1)
    return p / U.shape[-1] if normalize else p


def topological_charge(U: torch.Tensor) -> torch.Tensor:
    r"""The topological charge of 2D :math:`U(1)` gauge fields,

    .. math::
        Q = \frac{1}{2\pi} \sum_x \arg U_{01}(x), \qquad \arg \in (-\pi, \pi],

    an integer on a periodic lattice (the plaquette angles sum to a multiple of :math:`2\pi`).

    Args:
        U: 2D :math:`U(1)` links.

    Shapes:
        - **U:** ``(B, 2, L_0, L_1, 1, 1)``
        - **output:** ``(B,)``, the real dtype of ``U``

    Returns:
        :math:`Q` per configuration (integers up to rounding).
    """
    D, _, N = check_links(U)
    if D != 2 or N != 1:
        raise ValueError(f"topological_charge is defined for 2D U(1) links (B, 2, L_0, L_1, 1, 1), got D = {D}, "
                         f"N = {N} (shape {tuple(U.shape)})")
    theta = torch.angle(plaquettes(U)[:, 0, ..., 0, 0])
    theta = torch.where(theta <= -math.pi, theta + 2 * math.pi, theta)  # arg in (-pi, pi]
    return theta.sum((1, 2)) / (2 * math.pi)
