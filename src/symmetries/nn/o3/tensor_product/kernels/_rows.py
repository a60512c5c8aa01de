r"""The 3j contraction of a fully connected (``uvw``) group as loops generated for it (numba).

A ``uvw`` group first mixes the channels of each input block with the weights, one GEMM per
block, giving rows :math:`X_{b, r, w}` for :math:`r = (c, p, v)`; what is left is the
contraction with the second input through the 3j symbols,

.. math::

    z_{b, w, k} = \sum_{r} a_{b k r} X_{b r w}, \qquad a_{b k r} = \sum_j C_{j k r}\, y_{b j},

which this module runs as loops generated for the group's nonzero terms (as
:mod:`~symmetries.nn.o3.tensor_product.kernels._generated` does for channel-wise plans): per
sample, one vectorized loop over the channels ``w`` writes the output straight into the
irreps layout. It replaces ``(K, D) @ (D, M)`` products per sample, which are too small for a
GEMM library to run fast.
The batch goes in chunks, so that the rows stay in cache between the GEMMs and the loops,
and the backward pass makes them again rather than keeping them. It gives
:math:`\partial X_{b r w} = \sum_k a_{b k r} \partial z_{b w k}` and
:math:`\partial y_{b j} = \sum_w \sum_{(j, k, r)} C\, \partial z_{b w k} X_{b r w}` by the
generated loops, then, per chunk and block, :math:`\partial W \mathrel{+}= x^T \partial X` and
:math:`\partial x = \partial X\, W^T` by GEMMs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

from symmetries._internal.compiled import SourceWriter, compiled_module, ranges, run
from symmetries.nn.o3.tensor_product.kernels._generated import (coefficients, output_statements,
                                                                second_input_reductions, store_second_input_gradient,
                                                                sum_of, term_pairs, transpose_statements)


class RowPlan(NamedTuple):
    mul: int  # M, the channels of the rows and of the output
    blocks: tuple  # rows in each input array, an array (B, rows * M) per input-1 block
    outs: tuple  # per output block: (first column in the output, 2l+1, first component k)
    terms: tuple  # per nonzero 3j entry: (j, k, row, coefficient), rows counted over all arrays


def row_plan(cg: torch.Tensor, mul: int, blocks, out_dims) -> RowPlan:
    """The plan of a ``uvw`` group from its 3j matrix ``cg`` ``(d2, K * rows)`` (float64)."""
    rows = sum(blocks)
    C = cg.reshape(cg.shape[0], -1, rows)
    outs, o0, k0 = [], 0, 0
    for d3 in out_dims:
        outs.append((o0, d3, k0))
        o0, k0 = o0 + mul * d3, k0 + d3
    terms = tuple((j, k, r, float(C[j, k, r])) for j, k, r in torch.nonzero(C).tolist())
    return RowPlan(mul, tuple(blocks), tuple(outs), terms)


class Mixing(NamedTuple):
    """Where a group's rows come from: per input-1 block ``(start, d_1, U, paths)``, with the
    block's first element in ``x1``, its irrep's dimension and multiplicity, and per path
    ``(instruction, first weight, V)`` (the path's weights are ``(U, V, M)`` from there);
    ``sizes`` holds every instruction's number of weights."""
    blocks: tuple
    sizes: tuple

    def weight_views(self, w: torch.Tensor):
        """Per block, the views ``([B,] U V M)`` of ``w`` ``([B,] numel)`` of its paths (one split:
        its backward writes the weights' gradient once)."""
        pieces = w.split(self.sizes, dim=-1)
        return [[pieces[i] for i, _, _ in paths] for _, _, _, paths in self.blocks]

    def shared_operands(self, x1: torch.Tensor, w: torch.Tensor):
        """For shared weights ``w (numel,)``, per input block: the block transposed to
        ``(B d_1, U)``, its paths' weights side by side ``(U, N)``, and ``d_1``."""
        B, xts, Ws, dims = x1.shape[0], [], [], []
        for (start, d1, U, _), ws in zip(self.blocks, self.weight_views(w)):
            xts.append(x1[:, start:start + U * d1].view(B, U, d1).transpose(1, 2).reshape(B * d1, U))
            Ws.append(torch.cat([v.view(U, -1) for v in ws], 1) if len(ws) > 1 else ws[0].view(U, -1))
            dims.append(d1)
        return xts, Ws, tuple(dims)


def _rows(plan: RowPlan):
    """``(array, first element in its row)`` of each row."""
    rows = []
    for a, n in enumerate(plan.blocks):
        rows += [(a, q * plan.mul) for q in range(n)]
    return rows


def row_source(plan: RowPlan) -> str:
    """Python source of ``forward(b0, b1, out, y, coef, X0, ...)`` and
    ``backward(b0, b1, gy, grad, y, coef, X0, ..., gX0, ...)`` for ``plan``."""
    M, rows = plan.mul, _rows(plan)
    K, J = sum(d3 for _, d3, _ in plan.outs), 1 + max(j for j, _, _, _ in plan.terms)
    terms = [(j, k, r) for j, k, r, _ in plan.terms]
    pairs = term_pairs(terms)
    outs = [(o0, d3, k0) for o0, d3, k0 in plan.outs]
    xs = ", ".join(f"X{a}" for a in range(len(plan.blocks)))
    gxs = ", ".join(f"gX{a}" for a in range(len(plan.blocks)))

    def x(r):
        a, q = rows[r]
        return f"X{a}[b, {q} + u]"

    w = SourceWriter()
    w(0, "@_jit")
    w(0, f"def forward(b0, b1, out, y, coef, {xs}):")
    w(1, "c, zero = coef.astype(out.dtype), np.zeros(1, out.dtype)[0]")
    w(1, f"zt = np.empty({K * M}, out.dtype)")
    w(1, "for b in range(b0, b1):")
    w(2, "row = out[b]")
    coefficients(w, 2, J, pairs)
    w(2, f"for u in range({M}):")
    output_statements(w, K, M, pairs, x)
    transpose_statements(w, 2, M, outs, "zt", "row", False)
    w(0, "")
    w(0, "")
    w(0, "@_jit")
    w(0, f"def backward(b0, b1, gy, grad, y, coef, {xs}, {gxs}):")
    w(1, "c, zero = coef.astype(grad.dtype), np.zeros(1, grad.dtype)[0]")
    w(1, f"gt = np.empty({K * M}, grad.dtype)")
    w(1, "for b in range(b0, b1):")
    transpose_statements(w, 2, M, outs, "gt", "grad[b]", True)
    coefficients(w, 2, J, pairs)
    second_input_reductions(w, J, M, terms, x)
    for a in range(len(plan.blocks)):  # one loop per array written
        w(2, f"for u in range({M}):")
        for r, (ra, q) in enumerate(rows):
            if ra == a:
                ks = [k for (k, rr) in pairs if rr == r]
                w(3, f"gX{a}[b, {q} + u] = " + (sum_of(f"a{k}_{r} * gt[{k * M} + u]" for k in ks) if ks else "zero"))
    store_second_input_gradient(w, J)
    return "\n".join(w.lines) + "\n"


@lru_cache(maxsize=None)
def row_kernels(plan: RowPlan):
    """``(forward, backward, coefficients)`` for ``plan``."""
    module = compiled_module(row_source(plan))
    return module.forward, module.backward, np.asarray([t[3] for t in plan.terms], dtype=np.float64)


def row_reference(y, cg, plan: RowPlan, Xs):
    """The same product with autograd ops (for second derivatives), in the same layout."""
    B, M = y.shape[0], plan.mul
    X = torch.cat([x.view(B, x.shape[1] // M, M) for x in Xs], 1)  # (B, rows, M)
    A = y @ cg.to(y.dtype)
    Z = torch.bmm(A.view(B, A.shape[1] // X.shape[1], X.shape[1]), X)  # (B, K, M)
    return torch.cat([Z[:, k0:k0 + d3].transpose(1, 2).reshape(B, M * d3) for _, d3, k0 in plan.outs], 1)


#: samples per chunk: a chunk's rows (about 1 MB for 32 channels, l <= 2) stay in cache
#: between the weight GEMMs that make them and the loops that read them
CHUNK = 512


def mixed_rows(xts, Ws, dims, s, n):
    """Rows ``X_a (n, rows_a * M)`` of samples ``s .. s + n``: each block's channels mixed by
    its weights, one GEMM per block (``xts[a]`` is the block transposed, ``(B d_1, U)``)."""
    return [(xt[s * d:(s + n) * d] @ W).view(n, d * W.shape[1]) for xt, W, d in zip(xts, Ws, dims)]


class RowProduct(torch.autograd.Function):
    """A ``uvw`` group on the CPU: ``(y (B, d2), cg (d2, K * rows), plan, dims, xt_0 (B d_1, U),
    ..., W_0 (U, N_0), ...)`` -> ``(B, sum_o M (2l+1))``, the plan's output blocks side by side
    in the irreps layout. Chunk by chunk, the weight GEMMs make the rows and the generated loops
    contract them, so the rows never reach memory; the backward makes them again."""

    @staticmethod
    def forward(ctx, y, cg, plan: RowPlan, dims: tuple, *operands):
        forward, _, coef = row_kernels(plan)
        n = len(dims)
        xts, Ws = [t.detach() for t in operands[:n]], [t.detach() for t in operands[n:]]
        yc = y.detach().contiguous()
        out = y.new_empty(y.shape[0], plan.outs[-1][0] + plan.mul * plan.outs[-1][1])
        for s in range(0, y.shape[0], CHUNK):
            m = min(CHUNK, y.shape[0] - s)
            Xs = [x.numpy() for x in mixed_rows(xts, Ws, dims, s, m)]
            o, yn = out[s:s + m].numpy(), yc[s:s + m].numpy()
            run(forward, [(b0, b1, o, yn, coef, *Xs) for b0, b1 in ranges(m)])
        ctx.save_for_backward(y, cg, yc, *operands)
        ctx.plan, ctx.dims = plan, dims
        return out

    @staticmethod
    def backward(ctx, grad):
        y, cg, yc, *operands = ctx.saved_tensors
        plan, dims = ctx.plan, ctx.dims
        n = len(dims)
        if torch.is_grad_enabled():  # create_graph: a second derivative will follow
            with torch.enable_grad():
                out = row_reference(y, cg, plan, mixed_rows(operands[:n], operands[n:], dims, 0, y.shape[0]))
                grads = torch.autograd.grad(out, [y, *operands], grad, create_graph=True)
            return (grads[0], None, None, None, *grads[1:])
        _, backward, coef = row_kernels(plan)
        xts, Ws = [t.detach() for t in operands[:n]], [t.detach() for t in operands[n:]]
        grad = grad.detach().contiguous()
        gy, gxts, gWs = torch.empty_like(yc), [torch.empty_like(x) for x in xts], [torch.zeros_like(W) for W in Ws]
        for s in range(0, y.shape[0], CHUNK):
            m = min(CHUNK, y.shape[0] - s)
            Xs = mixed_rows(xts, Ws, dims, s, m)
            gXs = [torch.empty_like(x) for x in Xs]
            args = (gy[s:s + m].numpy(), grad[s:s + m].numpy(), yc[s:s + m].numpy(), coef,
                    *[x.numpy() for x in Xs], *[g.numpy() for g in gXs])
            run(backward, [(b0, b1, *args) for b0, b1 in ranges(m)])
            for xt, W, d, gX, gxt, gW in zip(xts, Ws, dims, gXs, gxts, gWs):
                gX = gX.view(m * d, -1)
                gW.addmm_(xt[s * d:(s + m) * d].T, gX)
                torch.mm(gX, W.T, out=gxt[s * d:(s + m) * d])
        return (gy, None, None, None, *gxts, *gWs)
