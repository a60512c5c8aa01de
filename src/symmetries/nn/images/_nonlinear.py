r"""Equivariant nonlinearities on field types.

- :class:`PointwiseNonlinearity2d`: :math:`\sigma` on every channel; equivariant because
  permutation fields (trivial, regular, quotient) only permute channels.
- :class:`NormNonlinearity2d`: :math:`f \mapsto f\, \sigma(|f| + b) / |f|` per field; any
  orthogonal rep keeps :math:`|f|`, so any field works (irreps of SO(2), O(2), ...).
- :class:`GatedNonlinearity2d`: :math:`f \mapsto f\, \mathrm{sigmoid}(s)` with one scalar
  gate field ``s`` per gated field (Weiler et al. 2018).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from symmetries.nn.images._conv import is_fx_proxy
from symmetries.nn.images._field import FieldType

_ACTIVATIONS = {"relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh,
                "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU, "softplus": nn.Softplus}


def activation(fn) -> nn.Module:
    """A ``torch.nn`` activation module from a name (``"relu"``, ``"elu"``, ...) or a module."""
    if isinstance(fn, nn.Module):
        return fn
    if isinstance(fn, str) and fn in _ACTIVATIONS:
        return _ACTIVATIONS[fn]()
    raise ValueError(f"activation must be an nn.Module or one of {sorted(_ACTIVATIONS)}, got {fn!r}")


def acts_by_permutations(rep) -> bool:
    """Whether every ``rep(g)`` is a permutation matrix (checked on generators and samples)."""
    if rep.is_permutation:
        return True
    G = rep.group
    if len(G.lie_generators) and rep.drep(G.lie_generators).abs().max() > 1e-12:
        return False
    gens = G.discrete_generators
    mats = rep(gens) if G.batch_size(gens) else None
    if mats is None:
        return True
    ok = ((mats.abs() < 1e-12) | ((mats - 1).abs() < 1e-12)).all() and torch.allclose(
        mats.sum(-1), torch.ones_like(mats.sum(-1)))
    return bool(ok)


def membership(ftype: FieldType) -> torch.Tensor:
    """``(size, n_fields)`` 0/1 matrix: channel ``c`` belongs to field ``j``."""
    M = torch.zeros(ftype.size, len(ftype))
    M[torch.arange(ftype.size), ftype.field_of_channel()] = 1.0
    return M


class PointwiseNonlinearity2d(nn.Module):
    r"""An activation applied to every channel, :math:`y_c = \sigma(x_c)`: equivariant for
    trivial, regular and quotient fields, whose reps permute channels. Exports to the
    activation itself.

    Args:
        in_type: the field type of input and output; every field must act by
            permutations (else ``ValueError``).
        fn: a name (``"relu"`` (default), ``"elu"``, ``"gelu"``, ``"silu"``, ``"tanh"``,
            ``"sigmoid"``, ``"leaky_relu"``, ``"softplus"``) or an ``nn.Module``.

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``
        - **output:** ``(B, in_type.size, H, W)``
    """

    def __init__(self, in_type: FieldType, fn="relu"):
        super().__init__()
        for i, r in enumerate(in_type.reps):
            if not acts_by_permutations(r):
                raise ValueError(f"pointwise nonlinearities are equivariant only on permutation fields (trivial, "
                                 f"regular, quotient); field {i} is {r!r}: use NormNonlinearity2d or "
                                 f"GatedNonlinearity2d")
        self.in_type = self.out_type = in_type
        self.fn = activation(fn)

    def forward(self, x):
        if not is_fx_proxy(x):
            self.in_type.check(x)
        return self.fn(x)

    def export(self) -> nn.Module:
        return self.fn


class NormNonlinearity2d(nn.Module):
    r"""Norm nonlinearity, per field :math:`f`:

    .. math::
        f \mapsto f\, \frac{\mathrm{relu}(|f| + b)}{|f|}\ (\texttt{"relu"}), \quad
        f\, \mathrm{sigmoid}(|f| + b)\ (\texttt{"sigmoid"}), \quad
        f\, \frac{|f|}{1 + |f|^2}\ (\texttt{"squash"}),

    with :math:`|f| = \sqrt{\sum_c f_c^2 + \epsilon^2}`. Any orthogonal field rep: the norm
    is invariant. Exports to a ``torch.fx.GraphModule``.

    Args:
        in_type: the field type of input and output.
        fn: ``"relu"`` (default), ``"sigmoid"`` or ``"squash"``.
        bias: learn :math:`b`, one per field, initialised to 0 (default: ``True``; never for
            ``"squash"``).
        eps: :math:`\epsilon` (default: 1e-6).

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``
        - **output:** ``(B, in_type.size, H, W)``
    """

    def __init__(self, in_type: FieldType, fn: str = "relu", bias: bool = True, eps: float = 1e-6):
        super().__init__()
        if fn not in ("relu", "sigmoid", "squash"):
            raise ValueError(f"fn must be 'relu', 'sigmoid' or 'squash', got {fn!r}")
        self.in_type = self.out_type = in_type
        self.fn, self.eps = fn, float(eps)
        self.register_buffer("_members", membership(in_type)[:, :, None, None].to(torch.get_default_dtype()),
                             persistent=False)
        self.bias = nn.Parameter(torch.zeros(len(in_type))) if bias and fn != "squash" else None

    def forward(self, x):
        if not is_fx_proxy(x):
            self.in_type.check(x)
        M = self._members.to(x.dtype)
        sq = F.conv2d(x * x, M.transpose(0, 1))  # (B, n_fields, H, W): squared norm of each field
        norm = torch.sqrt(sq + self.eps**2)
        b = 0.0 if self.bias is None else self.bias.to(x.dtype)[None, :, None, None]
        if self.fn == "relu":
            scale = torch.relu(norm + b) / norm
        elif self.fn == "sigmoid":
            scale = torch.sigmoid(norm + b)
        else:
            scale = norm / (1 + sq)
        return x * F.conv2d(scale, M)

    def export(self) -> nn.Module:
        return torch.fx.symbolic_trace(self)

    def extra_repr(self):
        return f"{self.in_type!r}, fn={self.fn!r}"


class GatedNonlinearity2d(nn.Module):
    r"""Gated nonlinearity (Weiler et al. 2018): ``in_type = gated + n_gated scalar gates``
    (gates last); output ``gated``, each field multiplied by the activation of its gate,

    .. math::
        f_i \mapsto f_i\, \mathrm{sigmoid}(s_i).

    Equivariant for any field reps since the gates are invariant. Exports to a
    ``torch.fx.GraphModule``.

    Args:
        gated: the field type of the gated fields and of the output.
        gate_fn: the gate activation, a name or an ``nn.Module`` as in
            :class:`PointwiseNonlinearity2d` (default: ``"sigmoid"``).

    Shapes:
        - **input:** ``(B, gated.size + len(gated), H, W)``
        - **output:** ``(B, gated.size, H, W)``
    """

    def __init__(self, gated: FieldType, gate_fn="sigmoid"):
        super().__init__()
        self.out_type = gated
        self.in_type = gated + FieldType.trivial(gated.group, len(gated))
        self.gate = activation(gate_fn)
        self.register_buffer("_members", membership(gated)[:, :, None, None].to(torch.get_default_dtype()),
                             persistent=False)

    def forward(self, x):
        if not is_fx_proxy(x):
            self.in_type.check(x)
        c = self.out_type.size
        gates = self.gate(x[:, c:])
        return x[:, :c] * F.conv2d(gates, self._members.to(x.dtype))

    def export(self) -> nn.Module:
        return torch.fx.symbolic_trace(self)

    def extra_repr(self):
        return f"{self.out_type!r}"
