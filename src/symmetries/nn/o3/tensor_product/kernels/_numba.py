r"""The channel-wise (``uvu``) tensor product on the CPU as a compiled loop (numba, optional).

Same contraction as :class:`~symmetries.nn.o3.tensor_product.kernels._torch.ChannelwiseProduct`, written as a
sum over the structurally nonzero 3j entries :math:`(j, k, r, C)` (83 for ``0e+1o+2e (x)
sh(l<=2)``: the real basis makes them very sparse):

.. math::

    X_{b r u} = x_{b, u, c(r)}\, w_{b, p(r), u}, \qquad
    z_{b, u, k} = \sum_{(j, k, r, C)} C\, y_{b j}\, X_{b r u}

Samples are taken :data:`TILE` at a time. Each tile gathers its inputs into channels-last
rows ``(components, TILE * U)`` in cache, runs every term as one unit-stride multiply-add
over those rows (long enough to vectorize and to pay for the loop's set-up), and scatters
its output straight into the irreps layout. Nothing of size ``(B, rows, U)`` reaches memory
and no transposes surround the kernel: that memory traffic, and PyTorch's transposes of
``(U, 2l+1)`` blocks with their short inner dimension, are what bound the PyTorch
formulations. The backward pass runs the same terms the other way:

.. math::

    \partial X_{b r u} \mathrel{+}= C\, y_{b j}\, \partial z_{b u k}, \quad
    \partial y_{b j} \mathrel{+}= C \sum_u \partial z_{b u k} X_{b r u}, \quad
    \partial x_{b, u, c(r)} = \sum_r \partial X_{b r u}\, w_{b p(r) u}, \quad
    \partial w_{b p u} = \sum_{r:\, p(r) = p} \partial X_{b r u}\, x_{b, u, c(r)}.

These loops read the terms from tables, so one compiled loop serves every plan. For batches
of at least :data:`~symmetries.nn.o3.tensor_product.kernels._generated.MIN_BATCH` samples, loops
generated for the plan are used instead (:mod:`~symmetries.nn.o3.tensor_product.kernels._generated`:
3-4x faster forward, 1.6x backward, compiled once per plan and cached on disk).

The batch is split over PyTorch's threads (see :mod:`symmetries._internal.compiled`). This module
imports numba: the registry (:mod:`symmetries.nn.o3.tensor_product.kernels`) imports it on
first use, where numba is installed (``kernel='numba'``, or ``'auto'`` on the CPU); without
numba, ``'auto'`` runs the PyTorch kernels.
"""

from __future__ import annotations

import numpy as np
import torch

from symmetries._internal.compiled import jit, ranges, run
from symmetries.nn.o3.tensor_product.kernels._generated import kernels, worth_generating
from symmetries.nn.o3.tensor_product.kernels._torch import ChannelwisePlan
from symmetries.nn.o3.tensor_product.kernels._terms import compiled_backward, input_gradient, output_width, path_weights, term_tables


#: samples per tile: rows of TILE * U channels amortize each term's loop set-up, and a tile's
#: rows (about 50 of them) stay in the L1/L2 cache
TILE = 8


_jit, _inline = jit(), jit(inline="always")

# Tiles are (rows, TILE, U) arrays, filled with the sample i and the channel u as range
# indices (no negative-index wrap-around checks, so the loops vectorize); the terms run over
# 2-d views (rows, TILE * U) of the same memory, one long unit-stride loop each.
@_inline
def _move_block(tile, i, c0, row, start, d, U, into_tile):  # pragma: no cover - compiled
    if into_tile:
        for u in range(U):
            for e in range(d):
                tile[c0 + e, i, u] = row[start + u * d + e]
    else:
        for u in range(U):
            for e in range(d):
                row[start + u * d + e] = tile[c0 + e, i, u]

@_inline
def _move(tile, i, row, blocks, into_tile):  # pragma: no cover - compiled
    """Row ``row`` (irreps layout) into sample ``i`` of a tile ``(components, TILE, U)``, or
    back. The common block widths get a constant stride each, which LLVM turns into
    vector shuffles."""
    U = tile.shape[2]
    for blk in range(blocks.shape[0]):
        start, d, c0 = blocks[blk, 0], blocks[blk, 1], blocks[blk, 2]
        if d == 1:
            _move_block(tile, i, c0, row, start, 1, U, into_tile)
        elif d == 3:
            _move_block(tile, i, c0, row, start, 3, U, into_tile)
        elif d == 5:
            _move_block(tile, i, c0, row, start, 5, U, into_tile)
        elif d == 7:
            _move_block(tile, i, c0, row, start, 7, U, into_tile)
        else:
            _move_block(tile, i, c0, row, start, d, U, into_tile)

@_inline
def _load(b0, m, x1, w3, y, in_blocks, rows_c, rows_p, x, W, X, Y):  # pragma: no cover - compiled
    """Tiles of samples ``b0 .. b0 + m``: inputs ``x``, weights ``W``, products ``X``, ``y``
    broadcast in ``Y``. The products run over the flat ``(TILE * U)`` rows."""
    U = x.shape[2]
    w_step = 1 if w3.shape[0] == x1.shape[0] else 0
    for i in range(m):
        b = b0 + i
        _move(x, i, x1[b], in_blocks, True)
        for p in range(W.shape[0]):
            for u in range(U):
                W[p, i, u] = w3[b * w_step, p, u]
        for j in range(y.shape[1]):
            v = y[b, j]
            for u in range(U):
                Y[j, i, u] = v
    x2, W2, X2 = x.reshape(x.shape[0], -1), W.reshape(W.shape[0], -1), X.reshape(X.shape[0], -1)
    for r in range(rows_c.shape[0]):
        c, p = rows_c[r], rows_p[r]
        for q in range(m * U):
            X2[r, q] = x2[c, q] * W2[p, q]

@_jit
def _forward(b0, b1, out, x1, w3, y, in_blocks, out_blocks, rows_c, rows_p, tj, tk, tr, coef):  # pragma: no cover - compiled
    U, dt, K = w3.shape[2], x1.dtype, out_blocks[-1, 1] + out_blocks[-1, 2]
    x, X = np.empty((in_blocks[-1, 1] + in_blocks[-1, 2], TILE, U), dt), np.empty((rows_c.shape[0], TILE, U), dt)
    Y, Z, W = np.empty((y.shape[1], TILE, U), dt), np.empty((K, TILE, U), dt), np.empty((w3.shape[1], TILE, U), dt)
    X2, Y2, Z2 = X.reshape(X.shape[0], TILE * U), Y.reshape(Y.shape[0], TILE * U), Z.reshape(K, TILE * U)
    c = coef.astype(dt)
    for s in range(b0, b1, TILE):
        m = min(TILE, b1 - s)
        _load(s, m, x1, w3, y, in_blocks, rows_c, rows_p, x, W, X, Y)
        Z[:] = 0.0
        for t in range(tj.shape[0]):
            j, k, r, ct = tj[t], tk[t], tr[t], c[t]
            for q in range(m * U):
                Z2[k, q] += ct * Y2[j, q] * X2[r, q]
        for i in range(m):
            _move(Z, i, out[s + i], out_blocks, False)

@_jit
def _backward(b0, b1, gx1, gw3, gy, x1, w3, y, grad, in_blocks, out_blocks, rows_c, rows_p, tj, tk, tr,
              coef):  # pragma: no cover - compiled
    U, dt = w3.shape[2], x1.dtype
    C, K = in_blocks[-1, 1] + in_blocks[-1, 2], out_blocks[-1, 1] + out_blocks[-1, 2]
    R, J = rows_c.shape[0], y.shape[1]
    per_sample = gw3.shape[0] == x1.shape[0]  # else one row for this range (shared weights)
    P = w3.shape[1]
    x, X, Y = np.empty((C, TILE, U), dt), np.empty((R, TILE, U), dt), np.empty((J, TILE, U), dt)
    W, gW = np.empty((P, TILE, U), dt), np.empty((P, TILE, U), dt)
    g, gx = np.empty((K, TILE, U), dt), np.empty((C, TILE, U), dt)
    gX, gY = np.empty((R, TILE, U), dt), np.empty((J, TILE, U), dt)
    x2, X2, Y2, g2, W2 = x.reshape(C, -1), X.reshape(R, -1), Y.reshape(J, -1), g.reshape(K, -1), W.reshape(P, -1)
    gx2, gX2, gY2, gW2 = gx.reshape(C, -1), gX.reshape(R, -1), gY.reshape(J, -1), gW.reshape(P, -1)
    c = coef.astype(dt)
    for s in range(b0, b1, TILE):
        m = min(TILE, b1 - s)
        n = m * U
        _load(s, m, x1, w3, y, in_blocks, rows_c, rows_p, x, W, X, Y)
        for i in range(m):
            _move(g, i, grad[s + i], out_blocks, True)
        gX[:] = 0.0
        gY[:] = 0.0
        gx[:] = 0.0
        gW[:] = 0.0
        for t in range(tj.shape[0]):
            j, k, r, ct = tj[t], tk[t], tr[t], c[t]
            for q in range(n):
                gk = ct * g2[k, q]
                gX2[r, q] += gk * Y2[j, q]
                gY2[j, q] += gk * X2[r, q]
        for r in range(R):
            cr, p = rows_c[r], rows_p[r]
            for q in range(n):
                gx2[cr, q] += gX2[r, q] * W2[p, q]
                gW2[p, q] += gX2[r, q] * x2[cr, q]
        for i in range(m):
            b = s + i
            _move(gx, i, gx1[b], in_blocks, False)
            if per_sample:
                for p in range(P):
                    for u in range(U):
                        gw3[b, p, u] = gW[p, i, u]
            else:
                for p in range(P):
                    for u in range(U):
                        gw3[0, p, u] += gW[p, i, u]
            for j in range(J):
                acc = gY[j, i, 0]
                for u in range(1, U):
                    acc += gY[j, i, u]
                gy[b, j] = acc


def _loops(plan: ChannelwisePlan, batch: int):
    """The loops for a batch: generated for the plan when the batch is large enough and the
    plan small enough to repay their compilation
    (:mod:`~symmetries.nn.o3.tensor_product.kernels._generated`), else the table-driven ones
    above."""
    return kernels(plan) if worth_generating(len(plan.terms), batch) else (_forward, _backward)


class NumbaChannelwiseProduct(torch.autograd.Function):
    """``(x1 (B, d1), w (B, n) or (n,), y (B, d2), cg (d2, n_cols) float64)`` -> ``(B, sum_o U * d3)``:
    the plan's output blocks side by side, each in the irreps layout ``(U, d3)``. CPU tensors."""

    @staticmethod
    def forward(ctx, x1, w, y, cg, plan: ChannelwisePlan):
        x1c, w3, yc = x1.detach().contiguous(), path_weights(w.detach(), plan), y.detach().contiguous()
        tables = term_tables(plan)
        out = x1.new_empty(x1.shape[0], output_width(plan))
        args = (out.numpy(), x1c.numpy(), w3.numpy(), yc.numpy(), *tables)
        forward, backward = _loops(plan, x1.shape[0])
        run(forward, [(b0, b1, *args) for b0, b1 in ranges(x1.shape[0])])
        ctx.save_for_backward(x1, w, y, cg, x1c, w3, yc)
        ctx.plan, ctx.tables, ctx.backward_loop, ctx.per_sample = plan, tables, backward, w.dim() == 2
        return out

    @staticmethod
    def backward(ctx, grad):
        def gradients(x1c, w3, yc, grad):
            B, parts = x1c.shape[0], ranges(x1c.shape[0])
            gx1, gy = input_gradient(ctx.plan, x1c), torch.empty_like(yc)
            per_sample = ctx.per_sample  # else one weight-gradient row per part, summed after
            gw3 = w3.new_empty(B, *w3.shape[1:]) if per_sample else w3.new_zeros(len(parts), *w3.shape[1:])
            args = (x1c.numpy(), w3.numpy(), yc.numpy(), grad.numpy(), *ctx.tables)
            run(ctx.backward_loop, [(b0, b1, gx1.numpy(), (gw3 if per_sample else gw3[i:i + 1]).numpy(), gy.numpy(),
                                     *args) for i, (b0, b1) in enumerate(parts)])
            return gx1, gw3, gy

        return compiled_backward(ctx, grad, gradients)
