r"""The L-CNN layers of Favoni, Ipp, Mueller and Schuh, "Lattice Gauge Equivariant
Convolutional Neural Networks", Phys. Rev. Lett. 128, 032003 (2022).

Every layer works on any lattice dimension ``D``, any ``N`` (U(1) is ``N = 1``, SU(2)
``N = 2``, SU(3) ``N = 3``) and complex64 / complex128. Parameters are real tensors in the
default dtype (complex weights as a real and an imaginary part); ``.double()`` makes a
module for complex128 input.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from symmetries.actions import wilson_loop_matrices
from symmetries.nn.gauge._field import _step, check_features, check_links


def _offsets(D: int, K: int) -> list[tuple[int, int]]:
    """``(mu, k)`` for the straight paths of LConv: ``(0, 0)`` once, then every direction
    ``mu`` with ``k = -K..-1, 1..K``."""
    return [(0, 0)] + [(mu, k) for mu in range(D) for k in (*range(-K, 0), *range(1, K + 1))]


def _eye_like(W: torch.Tensor) -> torch.Tensor:
    return torch.eye(W.shape[-1], dtype=W.dtype, device=W.device)


def _append_unit(W: torch.Tensor) -> torch.Tensor:
    unit = _eye_like(W).expand(W.shape[0], 1, *W.shape[2:])
    return torch.cat([W, unit], 1)


class _Weights(nn.Module):
    """A real or complex weight tensor; real parameters so that state dicts and optimizers
    see only real tensors."""

    def __init__(self, shape, std: float, complex_weights: bool):
        super().__init__()
        self.complex_weights = complex_weights
        self._std = std
        self.weight = nn.Parameter(torch.empty(shape))
        self.weight_imag = nn.Parameter(torch.empty(shape)) if complex_weights else None
        self.reset_parameters()

    def reset_parameters(self):
        std = self._std / math.sqrt(2) if self.complex_weights else self._std
        with torch.no_grad():
            self.weight.normal_(0.0, std)
            if self.weight_imag is not None:
                self.weight_imag.normal_(0.0, std)

    def complex_for(self, W: torch.Tensor) -> torch.Tensor:
        if self.weight_imag is None:
            return self.weight.to(W.dtype)
        return torch.complex(self.weight, self.weight_imag).to(W.dtype)


class Plaq(nn.Module):
    r"""The plaquettes as the initial site features: for every plane :math:`\mu < \nu`

    .. math::

        U_{\mu\nu}(x) = U_\mu(x)\, U_\nu(x+\hat\mu)\, U_\mu(x+\hat\nu)^\dagger\, U_\nu(x)^\dagger

    and, with ``both_orientations`` (the paper's choice, default), the opposite orientation
    :math:`U_{\nu\mu}(x) = U_{\mu\nu}(x)^\dagger` right after it. Each transforms as
    :math:`\Omega(x) U_{\mu\nu}(x) \Omega(x)^\dagger`.

    Args:
        both_orientations: also return :math:`U_{\nu\mu}(x)`; ``C = D (D - 1)`` channels,
            else ``C = D (D - 1) / 2``.

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``, complex
        - **output:** ``(B, C, L_0, ..., L_{D-1}, N, N)``, channels in the order of the
          planes ``(0, 1), (0, 2), ..., (D-2, D-1)``
    """

    def __init__(self, both_orientations: bool = True):
        super().__init__()
        self.both_orientations = both_orientations

    def channels(self, D: int) -> int:
        """The number of output channels on a ``D``-dimensional lattice."""
        n = D * (D - 1) // 2
        return 2 * n if self.both_orientations else n

    def forward(self, U: torch.Tensor) -> torch.Tensor:
        D, _ = check_links(U)
        if D < 2:
            raise ValueError(f"plaquettes need a lattice of dimension D >= 2, got D = {D}")
        P = wilson_loop_matrices(U, (1, 1), check=False)  # (B, planes, L..., N, N), checked above
        if not self.both_orientations:
            return P
        return torch.stack([P, P.mH], 2).flatten(1, 2)  # each plane, then its reverse

    def extra_repr(self):
        return f"both_orientations={self.both_orientations}"


class LConv(nn.Module):
    r"""Lattice gauge equivariant convolution (L-Conv): straight paths of up to ``K`` steps
    along every axis, each neighbour parallel-transported to :math:`x`,

    .. math::

        W'_i(x) = \sum_{j, \mu, k} w_{i j \mu k}\, U_{x \to x+k\hat\mu}\, W_j(x+k\hat\mu)\,
        U_{x \to x+k\hat\mu}^\dagger, \qquad k = -K, \dots, K,

    with the :math:`k = 0` term counted once (one weight ``w_{ij0}``, not one per axis) and
    :math:`U_{x \to x+k\hat\mu}` as in :func:`~symmetries.nn.gauge.transport`. With
    ``unit`` the unit matrix is an extra input channel ``j`` (it transports to itself, so
    it adds a learned multiple of :math:`\mathbb{1}`, a bias); with ``dagger`` the
    conjugates :math:`W_j^\dagger` are extra input channels too. Covariant:
    :math:`W' \to \Omega(x) W' \Omega(x)^\dagger`.

    Args:
        in_channels: the number of input channels.
        out_channels: the number of output channels.
        kernel_size: ``K``, the longest path, ``k = -K..K`` (``0``: channel mixing on the site).
        dim: the lattice dimension ``D``.
        unit: append the unit matrix as an input channel (default ``True``, as the paper).
        complex_weights: complex weights :math:`w` (default ``True``); else real.
        dagger: append the conjugates :math:`W_j^\dagger` as input channels (default ``False``).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``, complex
        - **W:** ``(B, in_channels, L_0, ..., L_{D-1}, N, N)``, same dtype
        - **output:** ``(B, out_channels, L_0, ..., L_{D-1}, N, N)``

    The weights are ``weights.weight`` (and ``weights.weight_imag``), ``(out_channels,
    in_channels (1 + dagger) + unit, 1 + 2 K D)``: input channels ``W``, then ``W^dagger``,
    then the unit; the last axis over ``k = 0`` then ``mu = 0..D-1`` with
    ``k = -K..-1, 1..K`` (the order of ``offsets``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, dim: int = 2, unit: bool = True,
                 complex_weights: bool = True, dagger: bool = False):
        super().__init__()
        if kernel_size < 0 or dim < 1 or in_channels < 1 or out_channels < 1:
            raise ValueError(f"LConv needs in_channels, out_channels, dim >= 1 and kernel_size >= 0, got "
                             f"{in_channels}, {out_channels}, {dim}, {kernel_size}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.dim, self.unit, self.dagger = kernel_size, dim, unit, dagger
        self.offsets = _offsets(dim, kernel_size)
        n_in = in_channels * (1 + int(dagger)) + int(unit)
        self.weights = _Weights((out_channels, n_in, len(self.offsets)), 1 / math.sqrt(n_in * len(self.offsets)),
                                complex_weights)

    @property
    def complex_weights(self) -> bool:
        return self.weights.complex_weights

    def reset_parameters(self):
        """Redraw the weights, Gaussian with variance ``1 / (fan-in)``."""
        self.weights.reset_parameters()

    def forward(self, U: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        D, _ = check_links(U)
        if D != self.dim:
            raise ValueError(f"LConv built for a {self.dim}-dimensional lattice, got links of a {D}-dimensional one "
                             f"(shape {tuple(U.shape)})")
        check_features(W, U, self.in_channels)
        K = self.kernel_size
        moved = [W]
        for mu in range(D):
            for sign in (-1, 1):
                V, steps = W, []
                for _ in range(K):
                    V = _step(U, V, mu, sign)
                    steps.append(V)
                moved.extend(reversed(steps) if sign < 0 else steps)
        V = torch.stack(moved, 2)  # (B, C, O, L..., N, N), O in the order of self.offsets
        if self.dagger:  # transport commutes with the conjugate
            V = torch.cat([V, V.mH], 1)
        w = self.weights.complex_for(W)
        out = torch.einsum("ijo,bjo...->bi...", w[:, :V.shape[1]], V)
        if self.unit:
            bias = w[:, -1].sum(-1)  # (out,)
            shape = (1, self.out_channels) + (1,) * (W.dim() - 2)
            out = out + bias.reshape(shape) * _eye_like(W)
        return out

    def extra_repr(self):
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, dim={self.dim}, "
                f"unit={self.unit}, complex_weights={self.complex_weights}, dagger={self.dagger}")


class LBilin(nn.Module):
    r"""Lattice gauge equivariant bilinear layer (L-Bilin): site-wise matrix products of two
    sets of covariant features, mixed by weights,

    .. math::

        W''_i(x) = \sum_{j, k} \alpha_{i j k}\, W_j(x)\, W'_k(x).

    With ``unit`` the unit matrix is appended to both inputs, so the sum also holds the
    linear terms :math:`W_j`, :math:`W'_k` and a multiple of :math:`\mathbb{1}` (the paper's
    residual and bias terms); with ``dagger`` the conjugates :math:`W_j^\dagger`,
    :math:`W'^\dagger_k` are appended first. Covariant, since :math:`\Omega W \Omega^\dagger \Omega W'
    \Omega^\dagger = \Omega W W' \Omega^\dagger`.

    Args:
        in_channels: channels of ``W``.
        in_channels2: channels of ``W'`` (default ``in_channels``).
        out_channels: output channels (default ``in_channels``).
        unit: append the unit matrix to both inputs (default ``True``).
        complex_weights: complex :math:`\alpha` (default ``True``); else real.
        dagger: append the conjugates of both inputs as channels (default ``False``).

    Shapes:
        - **W:** ``(B, in_channels, L_0, ..., L_{D-1}, N, N)``, complex
        - **W2:** ``(B, in_channels2, L_0, ..., L_{D-1}, N, N)``, same dtype; omitted: ``W``
        - **output:** ``(B, out_channels, L_0, ..., L_{D-1}, N, N)``
    """

    def __init__(self, in_channels: int, in_channels2: int | None = None, out_channels: int | None = None,
                 unit: bool = True, complex_weights: bool = True, dagger: bool = False):
        super().__init__()
        in_channels2 = in_channels if in_channels2 is None else in_channels2
        out_channels = in_channels if out_channels is None else out_channels
        if min(in_channels, in_channels2, out_channels) < 1:
            raise ValueError(f"LBilin needs channels >= 1, got {in_channels}, {in_channels2}, {out_channels}")
        self.in_channels, self.in_channels2, self.out_channels = in_channels, in_channels2, out_channels
        self.unit, self.dagger = unit, dagger
        n1, n2 = (c * (1 + int(dagger)) + int(unit) for c in (in_channels, in_channels2))
        self.weights = _Weights((out_channels, n1, n2), 1 / math.sqrt(n1 * n2), complex_weights)

    @property
    def complex_weights(self) -> bool:
        return self.weights.complex_weights

    def reset_parameters(self):
        """Redraw the weights, Gaussian with variance ``1 / (fan-in)``."""
        self.weights.reset_parameters()

    def forward(self, W: torch.Tensor, W2: torch.Tensor | None = None) -> torch.Tensor:
        check_features(W, channels=self.in_channels)
        if W2 is None:
            W2 = W
        check_features(W2, channels=self.in_channels2, name="features W2")
        if W2.shape[0] != W.shape[0] or W2.shape[2:] != W.shape[2:] or W2.dtype != W.dtype:
            raise ValueError(f"LBilin: W2 must match W in batch, lattice, N and dtype: expected shape "
                             f"{(W.shape[0], self.in_channels2, *W.shape[2:])} and {W.dtype}, got "
                             f"{tuple(W2.shape)} and {W2.dtype}")
        if self.dagger:
            W, W2 = torch.cat([W, W.mH], 1), torch.cat([W2, W2.mH], 1)
        if self.unit:
            W, W2 = _append_unit(W), _append_unit(W2)
        a = self.weights.complex_for(W)
        Y = torch.einsum("ijk,bk...->bij...", a, W2)  # (B, out, n1, L..., N, N)
        return (W.unsqueeze(1) @ Y).sum(2)

    def extra_repr(self):
        return (f"{self.in_channels}, {self.in_channels2}, out_channels={self.out_channels}, unit={self.unit}, "
                f"complex_weights={self.complex_weights}, dagger={self.dagger}")


_NU = {
    "step": lambda t: (t > 0).to(t.dtype),
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
}


class LAct(nn.Module):
    r"""Lattice gauge equivariant activation (L-Act): every matrix scaled by a function of
    its gauge-invariant trace,

    .. math::

        W_i(x) \to \nu\!\left(\mathrm{Re}\,\mathrm{tr}\, W_i(x) / N\right) W_i(x).

    The default :math:`\nu = \Theta` (``"step"``) is the ReLU-like choice of the paper:
    :math:`W` is kept where :math:`\mathrm{Re}\,\mathrm{tr}\, W > 0` and zeroed elsewhere
    (for ``N = 1`` and real :math:`W` it is the ReLU).

    Args:
        nu: ``"step"`` (default), ``"relu"``, ``"sigmoid"``, ``"tanh"``, or a callable from
            a real tensor to a real tensor of the same shape.

    Shapes:
        - **W:** ``(B, C, L_0, ..., L_{D-1}, N, N)``, complex
        - **output:** same
    """

    def __init__(self, nu: str | Callable[[torch.Tensor], torch.Tensor] = "step"):
        super().__init__()
        if isinstance(nu, str):
            if nu not in _NU:
                raise ValueError(f"nu must be a callable or one of {sorted(_NU)}, got {nu!r}")
        elif not callable(nu):
            raise TypeError(f"nu must be a callable or one of {sorted(_NU)}, got {type(nu).__name__}")
        self.nu = nu

    def forward(self, W: torch.Tensor) -> torch.Tensor:
        check_features(W)
        t = torch.diagonal(W, dim1=-2, dim2=-1).real.sum(-1) / W.shape[-1]
        fn = _NU[self.nu] if isinstance(self.nu, str) else self.nu
        return fn(t)[..., None, None].to(W.dtype) * W

    def extra_repr(self):
        return f"nu={self.nu!r}"


class Trace(nn.Module):
    r"""Gauge-invariant outputs: the traces of the site features, real and imaginary parts
    as channels,

    .. math::

        y_i(x) = \mathrm{Re}\,\mathrm{tr}\, W_i(x), \qquad y_{C+i}(x) = \mathrm{Im}\,\mathrm{tr}\, W_i(x).

    Shapes:
        - **W:** ``(B, C, L_0, ..., L_{D-1}, N, N)``, complex
        - **output:** ``(B, 2 C, L_0, ..., L_{D-1})``, real (float32 for complex64,
          float64 for complex128)
    """

    def forward(self, W: torch.Tensor) -> torch.Tensor:
        check_features(W)
        tr = torch.diagonal(W, dim1=-2, dim2=-1).sum(-1)
        return torch.cat([tr.real, tr.imag], 1)
