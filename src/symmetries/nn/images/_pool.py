r"""Pooling: over the group (invariant fields) and over space (anti-aliased, max).

- :class:`GroupPool2d`: each field to one invariant channel: max or mean over the channels
  of a permutation field (regular, quotient), the norm :math:`|f|` of any other field.
- :class:`AntialiasedPool2d`: Gaussian blur then subsampling (Zhang 2019); the blur is
  isotropic, so the map is exactly equivariant to 90-degree rotations and flips when the
  strided grid is centred (odd sizes), and close to equivariant for other angles.
- :class:`PointwiseMaxPool2d`: channel-wise max pooling, for permutation fields.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from symmetries.nn.images._conv import is_fx_proxy
from symmetries.nn.images._field import FieldType
from symmetries.nn.images._nonlinear import acts_by_permutations


class GroupPool2d(nn.Module):
    r"""Pool every field to one invariant channel: the max or mean over the channels of a
    permutation field (trivial, regular, quotient), the norm :math:`|f|` of any other field
    (irreps). ``out_type`` is ``n_fields`` trivial fields. Exports to a
    ``torch.fx.GraphModule``.

    Args:
        in_type: the field type of the input.
        mode: ``"max"`` (default) or ``"mean"``, for the permutation fields.

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``
        - **output:** ``(B, len(in_type), H, W)``
    """

    def __init__(self, in_type: FieldType, mode: str = "max"):
        super().__init__()
        if mode not in ("max", "mean"):
            raise ValueError(f"mode must be 'max' or 'mean', got {mode!r}")
        self.in_type, self.mode = in_type, mode
        self.out_type = FieldType.trivial(in_type.group, len(in_type))
        groups = {}  # (dim, permutation?) -> field indices
        perm = {r: acts_by_permutations(r) for r in set(in_type.reps)}
        for j, r in enumerate(in_type.reps):
            groups.setdefault((r.dim, perm[r]), []).append(j)
        offsets = in_type.offsets()
        self._kinds = []
        order = []
        for i, ((d, is_perm), fields) in enumerate(groups.items()):
            idx = torch.tensor([[offsets[j] + c for c in range(d)] for j in fields], dtype=torch.long)
            self.register_buffer(f"_index_{i}", idx, persistent=False)
            self._kinds.append(is_perm)
            order.extend(fields)
        self.register_buffer("_order", torch.argsort(torch.tensor(order)), persistent=False)
        self._identity_order = order == sorted(order)

    def forward(self, x):
        if not is_fx_proxy(x):
            self.in_type.check(x)
        parts = []
        for i, is_perm in enumerate(self._kinds):
            idx = getattr(self, f"_index_{i}")
            f = x[:, idx]  # (B, n, d, H, W)
            if not is_perm:
                parts.append(torch.sqrt((f * f).sum(2)))
            elif self.mode == "max":
                parts.append(f.amax(2))
            else:
                parts.append(f.mean(2))
        out = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        return out if self._identity_order else out[:, self._order]

    def export(self) -> nn.Module:
        return torch.fx.symbolic_trace(self)

    def extra_repr(self):
        return f"{self.in_type!r}, mode={self.mode!r}"


def gaussian_taps(sigma: float) -> torch.Tensor:
    """Normalized 2-d Gaussian ``(k, k)`` with ``k = 2 ceil(2 sigma) + 1`` (float64)."""
    r = max(1, math.ceil(2 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g2 = g[:, None] * g[None, :]
    return g2 / g2.sum()


class AntialiasedPool2d(nn.Module):
    r"""Anti-aliased subsampling (Zhang 2019): depthwise Gaussian blur, then keep every
    ``stride``-th pixel,

    .. math::
        y(p) = \sum_q G_\sigma(q)\, x(s p + q), \qquad G_\sigma(q) \propto e^{-|q|^2 / 2\sigma^2},
        \quad |q_i| \le \lceil 2\sigma \rceil.

    Linear and channel-wise, so it acts on any field type; odd ``H`` keeps the grid centred
    and 90-degree rotations exact. Exports to a fixed depthwise ``torch.nn.Conv2d``.

    Args:
        in_type: the field type of input and output.
        stride: :math:`s` (default: 2).
        sigma: :math:`\sigma` in pixels (default: ``0.6 * stride``).

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``, zero-padded
        - **output:** ``(B, in_type.size, (H - 1) // stride + 1, (W - 1) // stride + 1)``
    """

    def __init__(self, in_type: FieldType, stride: int = 2, sigma: float | None = None):
        super().__init__()
        self.in_type = self.out_type = in_type
        self.stride = int(stride)
        self.sigma = 0.6 * self.stride if sigma is None else float(sigma)
        taps = gaussian_taps(self.sigma)
        self.padding = (taps.shape[-1] - 1) // 2
        weight = taps.expand(in_type.size, 1, *taps.shape).contiguous()
        self.register_buffer("_taps", weight.to(torch.get_default_dtype()), persistent=False)

    def forward(self, x):
        if not is_fx_proxy(x):
            self.in_type.check(x)
        return F.conv2d(x, self._taps.to(x.dtype), None, self.stride, self.padding, 1, self.in_type.size)

    def export(self) -> nn.Conv2d:
        C, k = self.in_type.size, self._taps.shape[-1]
        conv = nn.Conv2d(C, C, k, self.stride, self.padding, groups=C, bias=False, device=self._taps.device,
                         dtype=self._taps.dtype)
        with torch.no_grad():
            conv.weight.copy_(self._taps)
        return conv

    def extra_repr(self):
        return f"{self.in_type!r}, stride={self.stride}, sigma={self.sigma:g}"


class PointwiseMaxPool2d(nn.Module):
    r"""Channel-wise max pooling with a centred odd window, for permutation fields
    (``torch.nn.MaxPool2d(kernel_size, stride, padding=(kernel_size - 1) // 2)``, which it
    exports to).

    Args:
        in_type: the field type of input and output; every field must act by
            permutations (else ``ValueError``).
        kernel_size: the window, odd (default: 3).
        stride: the stride (default: 2).

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``
        - **output:** ``(B, in_type.size, (H - 1) // stride + 1, (W - 1) // stride + 1)``
    """

    def __init__(self, in_type: FieldType, kernel_size: int = 3, stride: int = 2):
        super().__init__()
        for i, r in enumerate(in_type.reps):
            if not acts_by_permutations(r):
                raise ValueError(f"max pooling is equivariant only on permutation fields; field {i} is {r!r}: "
                                 f"use AntialiasedPool2d")
        if int(kernel_size) % 2 == 0:
            raise ValueError(f"kernel_size must be odd (a centred window), got {kernel_size}")
        self.in_type = self.out_type = in_type
        self.pool = nn.MaxPool2d(int(kernel_size), int(stride), (int(kernel_size) - 1) // 2)

    def forward(self, x):
        if not is_fx_proxy(x):
            self.in_type.check(x)
        return self.pool(x)

    def export(self) -> nn.Module:
        return self.pool
