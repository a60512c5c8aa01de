r"""Equivariant linear maps between O(3) irreps (e3nn's ``o3.Linear``, same weight layout).

Only blocks of the same irrep are connected (Schur's lemma): for each output block ``o``

.. math:: y^{o}_{w k} = \frac{1}{\sqrt{\sum_{i \to o} \mathrm{mul}_i}}
          \sum_{i:\, ir_i = ir_o} \sum_u W^{(i, o)}_{u w}\, x^{i}_{u k} \;+\; b^{o}_w [ir_o = 0e]

('element' normalization: unit-variance inputs give unit-variance outputs with N(0, 1)
weights). One matrix product per output block.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from symmetries.o3 import Irreps
from symmetries.nn.o3._checks import check_irreps_input


class IrrepsLinear(nn.Module):
    r"""Linear map between O(3) irreps (e3nn's ``o3.Linear``), connecting only blocks of the
    same irrep (Schur's lemma): for each output block ``o``

    .. math::
        y^{o}_{w k} = \frac{1}{\sqrt{n_o}} \sum_{i:\, ir_i = ir_o} \sum_u W^{(i, o)}_{u w}\,
        x^{i}_{u k} + b^{o}_w [ir_o = 0e], \qquad n_o = \sum_{i \to o} \mathrm{mul}_i.

    Args:
        irreps_in, irreps_out: irreps; an output irrep absent from the input gets zeros
            (plus its bias, if scalar).
        biases: learn a bias for the ``0e`` outputs, initialised to zero (default: ``False``).
        weight_scale: ``'unit'`` (default, e3nn 0.6): ``weight`` is :math:`W \sim N(0, 1)` and
            the forward divides by :math:`\sqrt{n}`, the output block's fan-in. ``'fan_in'``:
            ``weight`` is :math:`\theta = W / \sqrt{n}` and the forward uses it as it is: the
            same function of :math:`W`, but Adam changes the output at the pace it changes an
            ``nn.Linear``'s, not :math:`\sqrt{n}` times slower.

    ``weight``: flat ``(weight_numel,)``, the concatenation over paths ``(i_in, i_out)`` (input
    index major) of ``(mul_in, mul_out)`` blocks -- e3nn 0.6's layout.

    Shapes:
        - **input:** ``(..., irreps_in.dim)``
        - **output:** ``(..., irreps_out.dim)``
    """

    def __init__(self, irreps_in, irreps_out, biases: bool = False, weight_scale: str = "unit"):
        super().__init__()
        self.irreps_in, self.irreps_out = Irreps(irreps_in), Irreps(irreps_out)
        self.paths = [(i, o) for i, (_, ir_i) in enumerate(self.irreps_in)
                      for o, (_, ir_o) in enumerate(self.irreps_out) if ir_i == ir_o]
        self.weight_numel = sum(self.irreps_in[i].mul * self.irreps_out[o].mul for i, o in self.paths)
        if weight_scale not in ("unit", "fan_in"):
            raise ValueError(f"weight_scale must be 'unit' or 'fan_in', got {weight_scale!r}")
        self.weight_scale = weight_scale
        scalars = [o for o, (mul, ir) in enumerate(self.irreps_out) if ir.is_scalar()]
        self.bias_numel = sum(self.irreps_out[o].mul for o in scalars) if biases else 0
        if biases:
            self.bias = nn.Parameter(torch.zeros(self.bias_numel))
        else:
            self.register_parameter("bias", None)
        self._plan = []  # per output block: [(input block, weight offset)], fan-in, bias offset
        offset, bias_offset = 0, 0
        offsets = {}
        for i, o in self.paths:
            offsets[(i, o)] = offset
            offset += self.irreps_in[i].mul * self.irreps_out[o].mul
        for o, (mul, ir) in enumerate(self.irreps_out):
            ins = [(i, offsets[(i, oo)]) for i, oo in self.paths if oo == o]
            fan_in = sum(self.irreps_in[i].mul for i, _ in ins)
            b = None
            if biases and ir.is_scalar():
                b, bias_offset = bias_offset, bias_offset + mul
            self._plan.append((ins, fan_in, b))
        self._slices_in = self.irreps_in.slices()
        w = torch.randn(self.weight_numel)
        if weight_scale == "fan_in" and self.paths:  # each path's block at 1 / sqrt(its output's fan-in)
            w = w * torch.cat([torch.full((self.irreps_in[i].mul * self.irreps_out[o].mul,), self._plan[o][1] ** -0.5)
                               for i, o in self.paths])
        self.weight = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_irreps_input(self.irreps_in, x, "input")
        batch = x.shape[:-1]
        x = x.reshape(-1, self.irreps_in.dim)
        B = x.shape[0]
        w = self.weight.to(x.dtype)
        parts = []
        for o, (mul_o, ir_o) in enumerate(self.irreps_out):
            ins, fan_in, b = self._plan[o]
            d = ir_o.dim
            if ins:
                W = torch.cat([w[off:off + self.irreps_in[i].mul * mul_o].view(self.irreps_in[i].mul, mul_o)
                               for i, off in ins], dim=0)
                if self.weight_scale == "unit":
                    W = W * (1.0 / math.sqrt(fan_in))
                xs = [x[:, self._slices_in[i]].view(B, self.irreps_in[i].mul, d) for i, _ in ins]
                xs = torch.cat(xs, dim=1) if len(xs) > 1 else xs[0]
                if d == 1:
                    y = xs.view(B, xs.shape[1]) @ W
                else:
                    y = (xs.transpose(1, 2) @ W).transpose(1, 2).reshape(B, mul_o * d)
            else:
                y = x.new_zeros(B, mul_o * d)
            if b is not None:
                y = y + self.bias[b:b + mul_o].to(x.dtype)
            parts.append(y)
        out = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        return out.reshape(batch + (self.irreps_out.dim,))

    def extra_repr(self):
        return (f"{self.irreps_in} -> {self.irreps_out}, weight_numel={self.weight_numel}, biases={self.bias is not None}"
                + (f", weight_scale={self.weight_scale!r}" if self.weight_scale != "unit" else ""))
