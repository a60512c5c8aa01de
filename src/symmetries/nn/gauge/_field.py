r"""Link variables, covariant site features and parallel transport on a periodic lattice.

Links ``U`` are ``(B, D, L_0, ..., L_{D-1}, N, N)`` complex tensors, ``U[b, mu, x]`` the
transporter :math:`U_\mu(x)` from :math:`x + \hat\mu` back to :math:`x`; under a gauge
transformation :math:`U_\mu(x) \to \Omega(x) U_\mu(x) \Omega(x+\hat\mu)^\dagger`. Site
features ``W`` are ``(B, C, L_0, ..., L_{D-1}, N, N)`` and transform as
:math:`W(x) \to \Omega(x) W(x) \Omega(x)^\dagger`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def check_links(U: torch.Tensor) -> tuple[int, int]:
    """Check a link field ``(B, D, L_0, ..., L_{D-1}, N, N)``; return ``(D, N)``."""
    if not isinstance(U, torch.Tensor):
        raise TypeError(f"links U must be a torch.Tensor, got {type(U).__name__}")
    if not U.is_complex():
        raise TypeError(f"links U must be complex (complex64 or complex128), got {U.dtype}")
    if U.dim() < 5:
        raise ValueError(f"links U must have shape (B, D, L_0, ..., L_(D-1), N, N) with D >= 1, got shape "
                         f"{tuple(U.shape)}")
    D, N = U.dim() - 4, U.shape[-1]
    if U.shape[1] != D:
        raise ValueError(f"links U of shape {tuple(U.shape)}: a {D}-dimensional lattice {tuple(U.shape[2:-2])} "
                         f"needs D = {D} directions in dim 1, got {U.shape[1]}")
    if U.shape[-2] != N:
        raise ValueError(f"links U must end in square (N, N) matrices, got shape {tuple(U.shape)}")
    return D, N


def check_features(W: torch.Tensor, U: torch.Tensor | None = None, channels: int | None = None,
                   name: str = "features W") -> None:
    """Check site features ``(B, C, L_0, ..., L_{D-1}, N, N)``, against the links ``U``
    (same batch, lattice, ``N`` and dtype) and the expected number of channels ``C``."""
    if not isinstance(W, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(W).__name__}")
    if not W.is_complex():
        raise TypeError(f"{name} must be complex (complex64 or complex128), got {W.dtype}")
    if W.dim() < 5 or W.shape[-1] != W.shape[-2]:
        raise ValueError(f"{name} must have shape (B, C, L_0, ..., L_(D-1), N, N), got shape {tuple(W.shape)}")
    if channels is not None and W.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} channels in dim 1, got {W.shape[1]} "
                         f"(shape {tuple(W.shape)})")
    if U is not None:
        D, N = check_links(U)
        if W.dim() != U.dim():
            raise ValueError(f"{name} of shape {tuple(W.shape)} do not match the {D}-dimensional lattice of the "
                             f"links, shape {tuple(U.shape)}: expected (B, C, {', '.join(map(str, U.shape[2:-2]))}, "
                             f"{N}, {N})")
        if W.shape[0] != U.shape[0] or W.shape[2:-2] != U.shape[2:-2]:
            raise ValueError(f"{name}: expected batch {U.shape[0]} and lattice {tuple(U.shape[2:-2])} as the links, "
                             f"got batch {W.shape[0]} and lattice {tuple(W.shape[2:-2])}")
        if W.shape[-1] != N:
            raise ValueError(f"{name}: expected {N} x {N} matrices as the links, got {W.shape[-2]} x {W.shape[-1]}")
        if W.dtype != U.dtype:
            raise TypeError(f"{name}: expected dtype {U.dtype} as the links, got {W.dtype}")


def _step(U: torch.Tensor, W: torch.Tensor, mu: int, sign: int) -> torch.Tensor:
    """``W(x + sign mu)`` transported back to ``x`` by one link."""
    link = U[:, mu].unsqueeze(1)  # (B, 1, L..., N, N)
    axis = 2 + mu
    if sign > 0:  # U_mu(x) W(x + mu) U_mu(x)^dag
        return link @ torch.roll(W, -1, axis) @ link.mH
    back = torch.roll(link, 1, axis)  # U_mu(x - mu), the link from x back to x - mu
    return back.mH @ torch.roll(W, 1, axis) @ back


def transport(U: torch.Tensor, W: torch.Tensor, mu: int, k: int) -> torch.Tensor:
    r"""Parallel transport of site features by ``k`` steps along direction ``mu`` (``k < 0``:
    against it), on a straight path:

    .. math::

        W'(x) = U_{x \to x + k\hat\mu}\, W(x + k\hat\mu)\, U_{x \to x + k\hat\mu}^\dagger,
        \qquad U_{x \to x + k\hat\mu} = U_\mu(x) U_\mu(x+\hat\mu) \cdots U_\mu(x + (k-1)\hat\mu)

    for ``k > 0`` and :math:`U_\mu(x-\hat\mu)^\dagger \cdots U_\mu(x+k\hat\mu)^\dagger` for
    ``k < 0``. The result transforms as :math:`\Omega(x) W'(x) \Omega(x)^\dagger`.

    Args:
        U: the links.
        W: site features on the same lattice.
        mu: the direction, ``0 <= mu < D``.
        k: the number of steps, any integer (``0`` returns ``W``).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``, complex
        - **W:** ``(B, C, L_0, ..., L_{D-1}, N, N)``, same dtype
        - **output:** ``(B, C, L_0, ..., L_{D-1}, N, N)``
    """
    check_features(W, U)
    D = U.shape[1]
    if not 0 <= mu < D:
        raise ValueError(f"direction mu must be in 0..{D - 1} for a {D}-dimensional lattice, got {mu}")
    sign = 1 if k > 0 else -1
    for _ in range(abs(k)):
        W = _step(U, W, mu, sign)
    return W


def transport_path(U: torch.Tensor, W: torch.Tensor, path: Sequence[tuple[int, int]]) -> torch.Tensor:
    r"""Parallel transport of site features along a path of straight segments: ``path =
    [(mu_1, k_1), (mu_2, k_2), ...]`` goes from :math:`x` ``k_1`` steps along ``mu_1``, then
    ``k_2`` along ``mu_2``, ..., to the end point :math:`y`, and

    .. math::

        W'(x) = U_{x \to y}\, W(y)\, U_{x \to y}^\dagger,

    with :math:`U_{x \to y}` the ordered product of the links along the path (see
    :func:`transport`).

    Args:
        U: the links.
        W: site features on the same lattice.
        path: the segments ``(mu, k)``, in order from ``x``.

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``, complex
        - **W:** ``(B, C, L_0, ..., L_{D-1}, N, N)``, same dtype
        - **output:** ``(B, C, L_0, ..., L_{D-1}, N, N)``
    """
    for mu, k in reversed(list(path)):
        W = transport(U, W, mu, k)
    check_features(W, U)
    return W
