r"""Equivariant nonlinearities on O(3) irreps: gates and norm activations.

Gate (Weiler et al. 2018; e3nn's ``nn.Gate``): the input is ``scalars + gates + gated``;

.. math:: y = \big[\sigma_s(s),\; \sigma_g(g_1)\, x_1, \dots, \sigma_g(g_n)\, x_n\big]

one gate scalar per gated irrep. Activations are rescaled to unit second moment on
N(0, 1) inputs (:class:`Normalize2Mom`). An odd scalar (``0o``) may only go through an odd
or even function, which makes the output odd or even.

Norm activation: :math:`y_i = \sigma(|x_i| + b_i)\, x_i / |x_i|` on every irrep.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from symmetries.o3 import Irrep, Irreps
from symmetries.nn.o3._checks import check_irreps_input


@functools.lru_cache(maxsize=None)
def _second_moment(act) -> float:
    z, w = np.polynomial.hermite_e.hermegauss(200)  # weight exp(-z^2/2)
    with torch.no_grad():
        f = act(torch.from_numpy(z)).double().numpy()
    return float((w * f * f).sum() / w.sum())


class Normalize2Mom(nn.Module):
    r"""An activation rescaled to unit second moment on N(0, 1) inputs,

    .. math::
        x \mapsto c\, f(x), \qquad c = E_{z \sim N(0,1)}[f(z)^2]^{-1/2},

    :math:`c` computed once by Gauss-Hermite quadrature.

    Args:
        act: the elementwise function :math:`f` (``ValueError`` if it is zero on N(0, 1)).

    Shapes:
        - **input:** any
        - **output:** same as the input
    """

    def __init__(self, act):
        super().__init__()
        self.act = act
        m = _second_moment(act)
        if not m > 0:
            raise ValueError(f"activation {act!r} is zero on N(0, 1) inputs; it cannot be normalized")
        self.cst = m ** -0.5

    def forward(self, x):
        return self.act(x) * self.cst


def _parity(act) -> int:
    """+1 if ``act`` is even, -1 if odd, 0 otherwise (tested on a grid)."""
    x = torch.linspace(0.1, 5.0, 50, dtype=torch.float64)
    with torch.no_grad():
        a, b = act(x), act(-x)
    if torch.allclose(a, b, atol=1e-9):
        return 1
    if torch.allclose(a, -b, atol=1e-9):
        return -1
    return 0


def _act_irreps(irreps: Irreps, acts, name: str) -> Irreps:
    """Output irreps of scalar activations (parity of 0o inputs through odd / even functions)."""
    out = []
    for (mul, ir), act in zip(irreps, acts):
        if ir.l != 0:
            raise ValueError(f"{name} must be scalars (l = 0), got {ir} in {irreps}")
        if ir.p == -1 and act is not None:
            par = _parity(act)
            if par == 0:
                raise ValueError(f"{name}: odd scalar {ir} needs an odd or even activation, {act!r} is neither")
            ir = Irrep(0, par)
        out.append((mul, ir))
    return Irreps(out)


def _acts(acts, irreps, name):
    acts = list(acts) if isinstance(acts, (list, tuple)) else [acts] * len(irreps)
    if len(acts) != len(irreps):
        raise ValueError(f"{name}: {len(irreps)} blocks in {irreps} need {len(irreps)} activations, got {len(acts)}")
    return acts


class Gate(nn.Module):
    r"""Gated nonlinearity (Weiler et al. 2018; e3nn's ``nn.Gate``) on the input
    ``scalars + gates + gated``,

    .. math::
        y = \big[\sigma_s(s),\; \sigma_g(g_1)\, x_1, \dots, \sigma_g(g_n)\, x_n\big],

    one gate scalar per gated irrep. Activations are rescaled to unit second moment on
    N(0, 1) inputs (:class:`Normalize2Mom`); an odd scalar (``0o``) may only go through an
    odd or even function, which makes the output odd or even (and a gated irrep's parity
    times its gate's). Activations are a callable for all blocks or one per block
    (``None`` = identity).

    Args:
        irreps_scalars: scalars passed through their activations.
        act_scalars: the activations :math:`\sigma_s` of the scalars.
        irreps_gates: one scalar per gated irrep (``irreps_gates.num_irreps ==
            irreps_gated.num_irreps``).
        act_gates: the activations :math:`\sigma_g` of the gates.
        irreps_gated: irreps multiplied by their gate.

    Shapes:
        - **input:** ``(..., irreps_in.dim)``, ``irreps_in = scalars + gates + gated``
        - **output:** ``(..., irreps_out.dim)``
    """

    def __init__(self, irreps_scalars, act_scalars, irreps_gates, act_gates, irreps_gated):
        super().__init__()
        irreps_scalars, irreps_gates, irreps_gated = Irreps(irreps_scalars), Irreps(irreps_gates), Irreps(irreps_gated)
        if irreps_gates.num_irreps != irreps_gated.num_irreps:
            raise ValueError(f"Gate needs one gate per gated irrep: {irreps_gates} has {irreps_gates.num_irreps} "
                             f"scalars, {irreps_gated} has {irreps_gated.num_irreps} irreps")
        act_scalars, act_gates = _acts(act_scalars, irreps_scalars, "act_scalars"), _acts(act_gates, irreps_gates, "act_gates")
        scalars_out = _act_irreps(irreps_scalars, act_scalars, "irreps_scalars")
        gates_out = _act_irreps(irreps_gates, act_gates, "irreps_gates")
        self.irreps_scalars, self.irreps_gates, self.irreps_gated = irreps_scalars, irreps_gates, irreps_gated
        self.irreps_in = irreps_scalars + irreps_gates + irreps_gated
        gate_parity = [ir.p for mul, ir in gates_out for _ in range(mul)]
        gated_out, k = [], 0
        for mul, ir in irreps_gated:
            ps = set(gate_parity[k:k + mul])
            k += mul
            if len(ps) != 1:
                raise ValueError(f"gates of the {mul}x{ir} block mix parities; split it into blocks of one gate parity")
            gated_out.append((mul, Irrep(ir.l, ir.p * ps.pop())))
        self.irreps_out = scalars_out + Irreps(gated_out)
        self.act_scalars = nn.ModuleList([Normalize2Mom(a) if a is not None else nn.Identity() for a in act_scalars])
        self.act_gates = nn.ModuleList([Normalize2Mom(a) if a is not None else nn.Identity() for a in act_gates])
        # gated block j uses gates [g0, g0 + mul); repeat each gate over its irrep's components
        index = torch.cat([torch.arange(mul).repeat_interleave(ir.dim) + off
                           for (mul, ir), off in zip(irreps_gated, np.cumsum([0] + [m for m, _ in irreps_gated])[:-1])]
                          ) if irreps_gated.dim else torch.zeros(0, dtype=torch.long)
        self.register_buffer("_gate_index", index, persistent=False)
        self._n = (irreps_scalars.dim, irreps_gates.dim, irreps_gated.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_irreps_input(self.irreps_in, x, "Gate input")
        s, g, v = torch.split(x, self._n, dim=-1)
        parts = []
        if self._n[0]:
            parts += [act(s[..., sl]) for act, sl in zip(self.act_scalars, self.irreps_scalars.slices())]
        if self._n[2]:
            gates = torch.cat([act(g[..., sl]) for act, sl in zip(self.act_gates, self.irreps_gates.slices())], dim=-1)
            parts.append(v * gates[..., self._gate_index])
        return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]

    def extra_repr(self):
        return f"{self.irreps_in} -> {self.irreps_out}"


def gate_for(irreps, act=nn.functional.silu, act_gates=torch.sigmoid) -> "Gate":
    """The :class:`Gate` whose output is ``irreps``: its scalars through ``act``, every
    other irrep multiplied by ``act_gates`` of its own ``0e`` gate.

    Args:
        irreps: the output irreps.
        act: the activation of the scalars (default: SiLU).
        act_gates: the activation of the gates (default: sigmoid).

    Returns:
        The :class:`Gate`. Its ``irreps_in`` is what the layer before it should produce:
        ``scalars + num_gated x 0e + gated``.
    """
    irreps = Irreps(irreps)
    scalars = Irreps([(m, ir) for m, ir in irreps if ir.l == 0])
    gated = Irreps([(m, ir) for m, ir in irreps if ir.l > 0])
    return Gate(scalars, act, Irreps([(gated.num_irreps, "0e")]) if gated.dim else "", act_gates, gated)


class NormActivation(nn.Module):
    r"""Norm activation on every irrep copy ``i`` (norm over its components),

    .. math::
        y_i = \sigma(|x_i| + b_i)\, \frac{x_i}{|x_i|}, \qquad
        |x_i| = \sqrt{\textstyle\sum_k x_{ik}^2 + \epsilon^2}.

    Args:
        irreps: the irreps of the input and output.
        act: :math:`\sigma` (default: sigmoid).
        bias: learn :math:`b_i`, one per irrep copy, initialised to zero (default: ``False``).
        epsilon: keeps the division finite at :math:`x_i = 0` (default: 1e-8).

    Shapes:
        - **input:** ``(..., irreps.dim)``
        - **output:** ``(..., irreps.dim)``
    """

    def __init__(self, irreps, act=torch.sigmoid, bias: bool = False, epsilon: float = 1e-8):
        super().__init__()
        self.irreps_in = self.irreps_out = Irreps(irreps)
        self.act, self.epsilon = act, float(epsilon)
        n = self.irreps_in.num_irreps
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None
        index = torch.cat([torch.arange(mul).repeat_interleave(ir.dim) + off
                           for (mul, ir), off in zip(self.irreps_in, np.cumsum([0] + [m for m, _ in self.irreps_in])[:-1])])
        self.register_buffer("_index", index, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_irreps_input(self.irreps_in, x, "NormActivation input")
        sq = torch.zeros(x.shape[:-1] + (self.irreps_in.num_irreps,), dtype=x.dtype, device=x.device)
        sq = sq.index_add(-1, self._index, x * x)
        norm = (sq + self.epsilon ** 2).sqrt()
        n = norm if self.bias is None else norm + self.bias.to(x.dtype)
        scale = self.act(n) / norm
        return x * scale[..., self._index]
