"""The layout of a tensor product's contraction: its normalized 3j matrices and plans.

Functions of a :class:`~symmetries.nn.o3.TensorProduct` ``tp`` (its irreps and instructions)
during its set-up: each returns what the product keeps for one group of paths. Rows
:math:`r = (p, v, c)` are (path, copy of the second input's irrep, component of the first).
"""

from __future__ import annotations

import math

import torch

from symmetries.o3 import wigner_3j
from symmetries.nn.o3.tensor_product.kernels import ChannelwisePlan, DensePlan, Mixing, row_plan


def group_layout(tp, mode, mul, paths, blocks, outs, offsets, alphas):
    """``(kind, C, plan, index)`` of one group of paths (``offsets``: each instruction's first
    weight): its kind, which decides the kernels that can run it (``'channelwise'``, ``'uvu'``
    or ``'uvw'``, see :mod:`symmetries.nn.o3.tensor_product.kernels`), its normalized 3j matrix
    (float64), the static operands of its kernels, and its index tensors by name."""
    ins = tp.instructions
    if mode == "uvw":  # grouped by input block, component-major, so the weight GEMM needs no permute
        rows = [(i, v, c) for blk in blocks for c in range(tp.irreps_in1[blk].ir.dim)
                for i in paths if ins[i].i_in1 == blk for v in range(ins[i].path_shape[1])]
        C = dense_cg(tp, rows, outs, alphas)
        per_block = [sum(1 for i, _, _ in rows if ins[i].i_in1 == blk) for blk in blocks]
        plan = row_plan(C, mul, per_block, [tp.irreps_out[io].ir.dim for io in outs])
        return "uvw", C, (plan, mixing(tp, paths, blocks, offsets)), {}
    d1 = {i: tp.irreps_in1[ins[i].i_in1].ir.dim for i in paths}
    plan = channelwise_plan(tp, mul, paths, blocks, outs, offsets)
    if plan is not None:  # grouped by output block
        rows = [(i, 0, c) for io in outs for i in paths if ins[i].i_out == io for c in range(d1[i])]
        C = cg_by_output(tp, rows, outs, alphas)
        return "channelwise", C, (with_terms(plan, C),), {}
    rows = [(i, v, c) for i in paths for v in range(ins[i].path_shape[1]) for c in range(d1[i])]
    plan, index = dense_plan(tp, mul, paths, blocks, rows, outs, offsets)
    return "uvu", dense_cg(tp, rows, outs, alphas), (plan,), index


def dense_cg(tp, rows, outs, alphas) -> torch.Tensor:
    r""":math:`\hat C_{J, k, r} = \alpha_p C^{l_1 l_2 l_3}_{c j k}` for row ``r = (p, v, c)`` and
    ``J`` = component ``j`` of copy ``v`` of the path's second-input block."""
    sl2 = tp.irreps_in2.slices()
    out_col, k = {}, 0
    for io in outs:
        out_col[io] = k
        k += tp.irreps_out[io].ir.dim
    C = torch.zeros(tp.irreps_in2.dim, k, len(rows), dtype=torch.float64)
    cgs = {}
    for r, (i, v, c) in enumerate(rows):
        ins = tp.instructions[i]
        ir1, ir2, iro = tp.irreps_in1[ins.i_in1].ir, tp.irreps_in2[ins.i_in2].ir, tp.irreps_out[ins.i_out].ir
        if i not in cgs:
            cgs[i] = alphas[i] * wigner_3j(ir1.l, ir2.l, iro.l)
        j0, k0 = sl2[ins.i_in2].start + v * ir2.dim, out_col[ins.i_out]
        C[j0:j0 + ir2.dim, k0:k0 + iro.dim, r] = cgs[i][c]
    return C.reshape(C.shape[0], -1)  # float64 until cast


def cg_by_output(tp, rows, outs, alphas) -> torch.Tensor:
    r"""Per output block ``o``, the ``(d3, rows_o)`` matrices :math:`\hat C_{j, k, r}` side by side:
    ``(d2, sum_o d3 * rows_o)``, so :math:`A = y \hat C` is one GEMM and each block a view."""
    sl2 = tp.irreps_in2.slices()
    width = sum(tp.irreps_out[io].ir.dim * sum(1 for i, _, _ in rows if tp.instructions[i].i_out == io)
                for io in outs)
    C = torch.zeros(tp.irreps_in2.dim, width, dtype=torch.float64)
    a0 = 0
    for io in outs:
        mine = [(i, c) for i, _, c in rows if tp.instructions[i].i_out == io]
        d3 = tp.irreps_out[io].ir.dim
        block = C[:, a0:a0 + d3 * len(mine)].view(-1, d3, len(mine))
        for k, (i, c) in enumerate(mine):
            ins = tp.instructions[i]
            l1, l2 = tp.irreps_in1[ins.i_in1].ir.l, tp.irreps_in2[ins.i_in2].ir.l
            cg = alphas[i] * wigner_3j(l1, l2, tp.irreps_out[io].ir.l)
            block[sl2[ins.i_in2], :, k] = cg[c]
        a0 += d3 * len(mine)
    return C  # float64 until cast


def channelwise_plan(tp, mul, paths, blocks, outs, offsets):
    """A :class:`ChannelwisePlan` when every path has mul2 = 1 and the weights of each input
    block's paths are consecutive in the flat weights; else ``None`` (generic path)."""
    ins = tp.instructions
    if any(ins[i].path_shape[1] != 1 for i in paths):
        return None
    by_block = [[i for i in paths if ins[i].i_in1 == blk] for blk in blocks]
    if any([offsets[i] for i in ps] != [offsets[ps[0]] + k * mul for k, _ in enumerate(ps)] for ps in by_block):
        return None
    d1 = {i: tp.irreps_in1[ins[i].i_in1].ir.dim for i in paths}
    row_of, order, out_plan, r, k0, a0 = {}, [], [], 0, 0, 0
    for io in outs:
        r0 = r
        for i in (i for i in paths if ins[i].i_out == io):
            b = blocks.index(ins[i].i_in1)
            row_of[i], r = r, r + d1[i]
            order.append((b, by_block[b].index(i)))
        d3 = tp.irreps_out[io].ir.dim
        out_plan.append((k0, d3, r0, r - r0, a0))
        k0, a0 = k0 + d3, a0 + d3 * (r - r0)
    starts = [sl.start for sl in tp.irreps_in1.slices()]
    block_plan = tuple((starts[blk], d1[ps[0]], len(ps), offsets[ps[0]], tuple(row_of[i] for i in ps))
                       for blk, ps in zip(blocks, by_block))
    return ChannelwisePlan(mul, r, block_plan, tuple(out_plan), tuple(order))


def with_terms(plan: ChannelwisePlan, C: torch.Tensor) -> ChannelwisePlan:
    r"""Add to the plan, per output component, the (row, A column) pairs where :math:`\hat C \neq 0`,
    and the nonzero entries themselves as terms ``(j, k, row, coefficient)`` (``C`` in float64)."""
    nonzero = (C != 0).any(0).tolist()
    pairs = []
    for k0, d3, r0, nr, a0 in plan.outs:
        for k in range(d3):
            cols = [(r0 + j, a0 + k * nr + j) for j in range(nr)]
            pairs.append(tuple((r, col) for r, col in cols if nonzero[col]) or cols[:1])
    terms = tuple((j, k, r, float(C[j, col])) for k, ks in enumerate(pairs) for r, col in ks
                  for j in torch.nonzero(C[:, col]).flatten().tolist())
    return plan._replace(pairs=tuple(pairs), terms=terms)


def dense_plan(tp, mul, paths, blocks, rows, outs, offsets):
    """The :class:`DensePlan` of a ``'uvu'`` group and its index tensors: per row, its input-1
    row ``rowx`` and weight row ``roww``, and ``widx``, the group's weights ``((p, v), u)`` in
    the flat weights (``None`` where they are one range)."""
    ins = tp.instructions
    col, c0 = {}, 0
    for blk in blocks:
        col[blk] = c0
        c0 += tp.irreps_in1[blk].ir.dim
    pv = [(i, v) for i in paths for v in range(ins[i].path_shape[1])]
    widx = torch.tensor([[offsets[i] + u * ins[i].path_shape[1] + v for u in range(mul)] for i, v in pv]).flatten()
    contiguous = bool((widx == torch.arange(len(widx)) + int(widx[0])).all())
    index = {"rowx": torch.tensor([col[ins[i].i_in1] + c for i, v, c in rows]),
             "roww": torch.tensor([pv.index((i, v)) for i, v, c in rows]),
             "widx": None if contiguous else widx}
    slices = tp.irreps_in1.slices()
    plan = DensePlan(mul, tuple((slices[blk].start, tp.irreps_in1[blk].ir.dim) for blk in blocks),
                     (int(widx[0]), len(widx)) if contiguous else None,
                     tuple(tp.irreps_out[io].ir.dim for io in outs), len(rows))
    return plan, index


def mixing(tp, paths, blocks, offsets) -> Mixing:
    """Where a ``uvw`` group's rows come from: per input block, its place in ``x1`` and its paths' weights."""
    slices = tp.irreps_in1.slices()
    per_block = tuple(
        (slices[blk].start, tp.irreps_in1[blk].ir.dim, tp.irreps_in1[blk].mul,
         tuple((i, offsets[i], tp.instructions[i].path_shape[1]) for i in paths if tp.instructions[i].i_in1 == blk))
        for blk in blocks)
    return Mixing(per_block, tuple(math.prod(ins.path_shape) for ins in tp.instructions))
