r"""A channel-wise plan as flat tables of 3j terms, shared by the compiled CPU and GPU kernels.

The kernels compute, for the structurally nonzero 3j entries :math:`(j, k, r, C)` of a
:class:`~symmetries.nn.o3.tensor_product.kernels._torch.ChannelwisePlan`,

.. math::

    z_{b, u, k} = \sum_{(j, k, r, C)} C\, y_{b j}\, x_{b, u, c(r)}\, w_{b, p(r), u}

reading ``x1`` and writing the output in the irreps layout, with the weights of the plan's
paths as ``(B or 1, paths, U)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from symmetries.nn.o3.tensor_product.kernels._torch import ChannelwisePlan, differentiable_backward


@lru_cache(maxsize=None)
def term_tables(plan: ChannelwisePlan):
    """Index tables of a plan, as int64 arrays (and the coefficients, float64):

    - per input block: its first column in ``x1``, ``2l+1``, and its first component in the tiles;
    - per output block: the same in the output ``(B, sum_o U * (2l+1))`` (blocks in plan order);
    - per row: its input component and its path in the weights ``(B, paths, U)``;
    - per term: ``j`` (component of the second input), ``k``, row, and the 3j coefficient.
    """
    U = plan.mul
    in_blocks, first_c, first_p = [], [0], [0]
    for start, d1, P, _, _ in plan.blocks:
        in_blocks.append((start, d1, first_c[-1]))
        first_c.append(first_c[-1] + d1)
        first_p.append(first_p[-1] + P)
    out_blocks, o0, k0 = [], 0, 0
    for _, d3, _, _, _ in plan.outs:
        out_blocks.append((o0, d3, k0))
        o0, k0 = o0 + U * d3, k0 + d3
    rows_c, rows_p = [], []
    for b, p in plan.order:
        d1 = plan.blocks[b][1]
        rows_c += [first_c[b] + c for c in range(d1)]
        rows_p += [first_p[b] + p] * d1
    ints = lambda values: np.asarray(values, dtype=np.int64)  # noqa: E731
    tj, tk, tr, coef = zip(*plan.terms)
    return (*(ints(t) for t in (in_blocks, out_blocks, rows_c, rows_p, tj, tk, tr)), np.asarray(coef, dtype=np.float64))


def output_width(plan: ChannelwisePlan) -> int:
    """Columns of the kernels' output: the plan's output blocks side by side, ``U (2l+1)`` each."""
    return plan.mul * sum(d3 for _, d3, _, _, _ in plan.outs)


def input_gradient(plan: ChannelwisePlan, x1: torch.Tensor) -> torch.Tensor:
    """A buffer for the gradient of ``x1``: zero on the blocks the plan does not read."""
    covered = sum(plan.mul * d1 for _, d1, _, _, _ in plan.blocks) == x1.shape[1]
    return torch.empty_like(x1) if covered else torch.zeros_like(x1)


def _spans(plan: ChannelwisePlan):
    """Column ranges of the plan's weights, one per input block; consecutive ones merged."""
    spans = []
    for _, _, P, o, _ in plan.blocks:
        if spans and spans[-1][1] == o:
            spans[-1] = (spans[-1][0], o + P * plan.mul)
        else:
            spans.append((o, o + P * plan.mul))
    return spans


def path_weights(w, plan: ChannelwisePlan, copy: bool = True):
    """The plan's weights ``(B, n)`` or shared ``(n,)`` as ``(B or 1, paths, U)``: contiguous, or
    with ``copy=False`` a view (rows strided) when the plan's weights are one range."""
    w = w.reshape(-1, w.shape[-1])
    paths, spans = sum(P for _, _, P, _, _ in plan.blocks), _spans(plan)
    if len(spans) == 1 and w.stride(-1) == 1 and (not copy or spans[0] == (0, w.shape[1])):
        return w[:, spans[0][0]:spans[0][1]].view(w.shape[0], paths, plan.mul)
    return torch.cat([w[:, a:b] for a, b in spans], 1).view(w.shape[0], paths, plan.mul)


def weight_gradient(gw3, plan: ChannelwisePlan, w):
    """Inverse of :func:`path_weights` (summed over the ranges' rows for shared weights)."""
    if w.dim() == 1:
        gw3 = gw3.sum(0, keepdim=True)
    gw, spans = gw3.reshape(gw3.shape[0], gw3.shape[1] * gw3.shape[2]), _spans(plan)
    if spans != [(0, w.shape[-1])]:  # the plan does not use all the weights, in order
        full, c0 = gw.new_zeros(gw.shape[0], w.shape[-1]), 0
        for a, b in spans:
            full[:, a:b] = gw[:, c0:c0 + b - a]
            c0 += b - a
        gw = full
    return gw.reshape(w.shape)


def reference_backward(ctx, grad):
    """Gradients that autograd can differentiate again, through the PyTorch reference."""
    x1, w, y, cg = ctx.saved_tensors[:4]
    plan = ctx.plan
    B, U = grad.shape[0], plan.mul
    parts, o0 = [], 0
    for _, d3, _, _, _ in plan.outs:  # the (B, K, U) layout of the PyTorch kernels
        parts.append(grad[:, o0:o0 + U * d3].view(B, U, d3).transpose(1, 2))
        o0 += U * d3
    need_x1, need_w, need_y = ctx.needs_input_grad[:3]
    with torch.enable_grad():
        A = y @ cg.to(y.dtype)
        gx1, gw, gA, _ = differentiable_backward((x1, w, A), (need_x1, need_w, need_y), torch.cat(parts, 1), plan)
        gy = torch.autograd.grad(A, y, gA, create_graph=True) if need_y else (None,)
    return gx1, gw, gy[0], None, None


def compiled_backward(ctx, grad, gradients):
    """The backward of the compiled channel-wise Functions, which saved ``(x1, w, y, cg, x1c, w3,
    yc)`` (inputs, then their contiguous forms and the plan's weights ``(B or 1, paths, U)``):
    through the PyTorch reference when a second derivative will follow, else
    ``gradients(x1c, w3, yc, grad) -> (gx1, gw3, gy)`` from the kernels, with ``gw3`` per sample
    or per part of the batch (summed here for shared weights)."""
    if torch.is_grad_enabled():  # create_graph: a second derivative will follow
        return reference_backward(ctx, grad)
    x1, w, y, cg, x1c, w3, yc = ctx.saved_tensors
    gx1, gw3, gy = gradients(x1c, w3, yc, grad.detach().contiguous())
    need_x1, need_w, need_y = ctx.needs_input_grad[:3]
    return (gx1 if need_x1 else None, weight_gradient(gw3, ctx.plan, w) if need_w else None,
            gy if need_y else None, None, None)
