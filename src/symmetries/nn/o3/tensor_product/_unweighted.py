r"""Tensor products without weights: every product of two irreps features (e3nn 0.6's
``FullTensorProduct`` and ``ElementwiseTensorProduct``, same output layout and normalization).

For blocks :math:`x^{(1)}_{u i}` (irrep :math:`l_1`) and :math:`x^{(2)}_{v j}` (:math:`l_2`), each
irrep :math:`l_3` of :math:`l_1 \otimes l_2` gives the block

.. math::

    \text{full } (uvuv):\quad z_{(u v) k} = \alpha\, C^{l_1 l_2 l_3}_{i j k}\, x^{(1)}_{u i} x^{(2)}_{v j}
    \qquad\qquad \text{elementwise } (uuu):\quad z_{u k} = \alpha\, C^{l_1 l_2 l_3}_{i j k}\, x^{(1)}_{u i} x^{(2)}_{u j}

with :math:`\alpha = \sqrt{2 l_3 + 1}` ('component' normalization: unit-variance inputs give
unit-variance outputs) or :math:`\sqrt{(2 l_1 + 1)(2 l_2 + 1)}` ('norm'). Per pair of blocks the
3j symbols of all its outputs are one matrix: the full product is one GEMM (the side with
fewer channels against the symbols) and one batched product; the elementwise one is each
channel's outer product and one GEMM.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from symmetries.o3 import Irrep, Irreps, wigner_3j
from symmetries.nn.o3._checks import as_batch, check_irreps_input


def _filter(filter_ir_out):
    if filter_ir_out is None:
        return None
    try:
        return [Irrep(ir) for ir in filter_ir_out]
    except (ValueError, TypeError) as e:
        raise ValueError(f"filter_ir_out must be irreps like ['0e', '1o'], got {filter_ir_out!r}") from e


class _UnweightedProduct(nn.Module):
    """Shared set-up and forward: ``pairs`` of blocks ``(i1, i2)``, each with its output blocks."""

    def __init__(self, irreps_in1: Irreps, irreps_in2: Irreps, mode: str, filter_ir_out, irrep_normalization):
        super().__init__()
        if irrep_normalization not in ("component", "norm"):
            raise ValueError(f"irrep_normalization must be 'component' or 'norm', got {irrep_normalization!r}")
        self.irreps_in1, self.irreps_in2, self.mode = irreps_in1, irreps_in2, mode
        keep = _filter(filter_ir_out)
        pairs = [(i, i) for i in range(len(irreps_in1))] if mode == "uuu" else [
            (i1, i2) for i1 in range(len(irreps_in1)) for i2 in range(len(irreps_in2))]
        out, self.instructions, self._pairs = [], [], []
        for i1, i2 in pairs:
            (mul1, ir1), (mul2, ir2) = irreps_in1[i1], irreps_in2[i2]
            irs = [ir for ir in ir1 * ir2 if keep is None or ir in keep]
            if not irs or mul1 == 0 or mul2 == 0:
                continue
            for ir in irs:
                self.instructions.append((i1, i2, len(out), mode))
                out.append((mul1 if mode == "uuu" else mul1 * mul2, ir))
            alpha = [math.sqrt(ir.dim if irrep_normalization == "component" else ir1.dim * ir2.dim) for ir in irs]
            C = torch.cat([a * wigner_3j(ir1.l, ir2.l, ir.l) for a, ir in zip(alpha, irs)], dim=2)
            self.register_buffer(f"_cg{len(self._pairs)}", C, persistent=False)  # (d1, d2, sum d3), float64
            self._pairs.append((i1, i2, [ir.dim for ir in irs], len(out) - len(irs)))
        self.irreps_out = Irreps(out)
        self._order = list(range(len(out)))  # output block of each instruction, in output order
        self._slices1, self._slices2 = irreps_in1.slices(), irreps_in2.slices()

    def _sort_outputs(self):
        """e3nn's ``FullTensorProduct`` sorts its output blocks by irrep (stable)."""
        self.irreps_out, p, _ = self.irreps_out.sort()
        self._order = list(p)
        self.instructions = [(i1, i2, p[io], mode) for i1, i2, io, mode in self.instructions]

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        check_irreps_input(self.irreps_in1, x1, "x1")
        check_irreps_input(self.irreps_in2, x2, "x2")
        (x1, x2), batch = as_batch([x1, x2])[:2]
        B = x1.shape[0]
        blocks = [None] * len(self.irreps_out)
        for n, (i1, i2, dims, first) in enumerate(self._pairs):
            (mul1, ir1), (mul2, ir2) = self.irreps_in1[i1], self.irreps_in2[i2]
            C = getattr(self, f"_cg{n}").to(x1.dtype)  # (d1, d2, K)
            x = x1[:, self._slices1[i1]].view(B, mul1, ir1.dim)
            y = x2[:, self._slices2[i2]].view(B, mul2, ir2.dim)
            z = _elementwise(x, y, C) if self.mode == "uuu" else _full(x, y, C)  # (B, rows, K)
            for t, part in enumerate(torch.split(z, dims, dim=-1)):
                blocks[self._order[first + t]] = part.reshape(B, part.shape[1] * part.shape[2])
        out = torch.cat(blocks, dim=-1) if blocks else x1.new_zeros(B, 0)
        return out.reshape(batch + (self.irreps_out.dim,))

    def extra_repr(self):
        return f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}"


def _full(x, y, C):
    r""":math:`z_{b (u v) k} = \sum_{ij} C_{ijk} x_{bui} y_{bvj}` for ``x (B, U, d1)``, ``y (B, V, d2)``,
    ``C (d1, d2, K)``: the side with fewer channels meets the 3j symbols first (one GEMM), then one
    batched product over the other side's channels -> ``(B, U V, K)``."""
    B, U, d1 = x.shape
    V, d2, K = y.shape[1], C.shape[1], C.shape[2]
    if V <= U:
        A = (y.reshape(B * V, d2) @ C.permute(1, 0, 2).reshape(d2, d1 * K)).view(B, V, d1, K)
        z = torch.bmm(x, A.transpose(1, 2).reshape(B, d1, V * K))  # (B, U, V K)
        return z.view(B, U * V, K)
    A = (x.reshape(B * U, d1) @ C.reshape(d1, d2 * K)).view(B, U, d2, K)
    z = torch.bmm(y, A.transpose(1, 2).reshape(B, d2, U * K))  # (B, V, U K)
    return z.view(B, V, U, K).transpose(1, 2).reshape(B, U * V, K)


def _elementwise(x, y, C):
    r""":math:`z_{b u k} = \sum_{ij} C_{ijk} x_{bui} y_{buj}` for ``x (B, U, d1)``, ``y (B, U, d2)``:
    the outer products of each channel, then one GEMM with the 3j symbols -> ``(B, U, K)``."""
    B, U, d1 = x.shape
    outer = (x.unsqueeze(-1) * y.unsqueeze(-2)).reshape(B * U, d1 * y.shape[2])
    return (outer @ C.reshape(d1 * C.shape[1], C.shape[2])).view(B, U, C.shape[2])


class FullTensorProduct(_UnweightedProduct):
    r"""Every product of every block of ``x1`` with every block of ``x2`` (mode ``'uvuv'``, no
    weights),

    .. math::
        z_{(u v) k} = \alpha\, C^{l_1 l_2 l_3}_{i j k}\, x^{(1)}_{u i} x^{(2)}_{v j},

    an output block of multiplicity ``mul1 * mul2`` for each irrep :math:`l_3` of
    :math:`l_1 \otimes l_2`, sorted by irrep as e3nn sorts them (``irreps_out``).

    Args:
        irreps_in1: the irreps of ``x1`` (a string or :class:`~symmetries.o3.Irreps`).
        irreps_in2: the irreps of ``x2``.
        filter_ir_out: keep only the output irreps in this list (e.g. ``["0e", "1o"]``)
            (default: ``None``, all).
        irrep_normalization: ``'component'`` (default, :math:`\alpha = \sqrt{2 l_3 + 1}`) or
            ``'norm'`` (:math:`\alpha = \sqrt{(2 l_1 + 1)(2 l_2 + 1)}`).

    Shapes:
        - **input:** x1 ``(..., irreps_in1.dim)``, x2 ``(..., irreps_in2.dim)``
        - **output:** ``(..., irreps_out.dim)``
    """

    def __init__(self, irreps_in1, irreps_in2, filter_ir_out=None, irrep_normalization: str = "component"):
        super().__init__(Irreps(irreps_in1), Irreps(irreps_in2), "uvuv", filter_ir_out, irrep_normalization)
        self._sort_outputs()


class ElementwiseTensorProduct(_UnweightedProduct):
    r"""The product of channel ``u`` of ``x1`` with channel ``u`` of ``x2`` (mode ``'uuu'``, no
    weights),

    .. math::
        z_{u k} = \alpha\, C^{l_1 l_2 l_3}_{i j k}\, x^{(1)}_{u i} x^{(2)}_{u j},

    for each irrep :math:`l_3` of :math:`l_1 \otimes l_2`. Both inputs must hold the same
    number of irreps (``num_irreps``); their blocks are simplified and split so that they pair
    up channel by channel, as in e3nn. Output blocks in input order (``irreps_out``).

    Args:
        irreps_in1: the irreps of ``x1`` (a string or :class:`~symmetries.o3.Irreps`).
        irreps_in2: the irreps of ``x2``, with as many irreps as ``irreps_in1``.
        filter_ir_out: keep only the output irreps in this list (default: ``None``, all).
        irrep_normalization: ``'component'`` (default) or ``'norm'``, as
            :class:`FullTensorProduct`.

    Shapes:
        - **input:** x1 ``(..., irreps_in1.dim)``, x2 ``(..., irreps_in2.dim)``
        - **output:** ``(..., irreps_out.dim)``
    """

    def __init__(self, irreps_in1, irreps_in2, filter_ir_out=None, irrep_normalization: str = "component"):
        irreps_in1, irreps_in2 = Irreps(irreps_in1).simplify(), Irreps(irreps_in2).simplify()
        if irreps_in1.num_irreps != irreps_in2.num_irreps:
            raise ValueError(f"an elementwise product pairs the irreps channel by channel: {irreps_in1} has "
                             f"{irreps_in1.num_irreps} and {irreps_in2} has {irreps_in2.num_irreps}")
        super().__init__(*_paired(irreps_in1, irreps_in2), "uuu", filter_ir_out, irrep_normalization)


def _paired(irreps_in1: Irreps, irreps_in2: Irreps):
    """Split blocks so that block ``i`` of both has one multiplicity (the layouts stay the same)."""
    a, b, out1, out2 = list(irreps_in1), list(irreps_in2), [], []
    while a:
        (m1, ir1), (m2, ir2) = a.pop(0), b.pop(0)
        m = min(m1, m2)
        out1.append((m, ir1))
        out2.append((m, ir2))
        if m1 > m:
            a.insert(0, (m1 - m, ir1))
        if m2 > m:
            b.insert(0, (m2 - m, ir2))
    return Irreps(out1), Irreps(out2)
