r"""Hand-written forward and backward of the channel-wise (``uvu``) tensor product.

For one group of ``uvu`` paths whose second input has multiplicity 1 (spherical harmonics
in message passing), with channels last:

.. math::

    X_{b, r, u} = x_{b, u, c(r)}\, w_{b, p(r), u}, \qquad
    Z^{(o)}_b = A^{(o)}_b X^{(o)}_b, \quad A^{(o)}_{b, k, r} = \sum_j y_{bj} \hat C_{j, k, r}

Rows :math:`r = (p, c)` are grouped by output block ``o``, so each output is one batched
product over only the paths that reach it (the 3j symbols' block sparsity:
:math:`\sum_p (2l_1+1)(2l_3+1)` multiply-adds per channel instead of a dense
:math:`D \times K`). On the CPU the batch is processed in chunks that stay in cache. The
weights multiply the input by broadcasting, and the backward pass reduces over paths and
components with fused multiply-adds on long contiguous rows (layout ``(r, b, u)``) instead
of the index scatters autograd would record.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

#: samples per chunk on the CPU: keeps each chunk's (chunk, D, U) intermediates in cache
CHUNK = 512


def _chunk(x):
    return CHUNK if x.device.type == "cpu" else max(1, x.shape[0])


class ChannelwisePlan(NamedTuple):
    mul: int  # U, the channels
    rows: int  # D = sum over paths of 2 l1 + 1
    #: per input-1 block: (column start in x1, d1, paths P, weight offset, row start of each path)
    blocks: tuple
    #: per output block: (first column k0 in Z, d3, first row, number of rows, offset in the flat A)
    outs: tuple
    #: (block, path) pairs in row order
    order: tuple
    #: per output component k: the (row, column of A) pairs where the 3j matrix is nonzero
    pairs: tuple = ()
    #: per nonzero 3j entry: (component j of the second input, output component k, row, coefficient)
    terms: tuple = ()


def _weights(w, offset, P, U):
    """``(B or 1, P, U)`` view of the weights of ``P`` consecutive paths."""
    return w[..., offset:offset + P * U].reshape(-1, P, U)


def channelwise_reference(x1, w, A, plan: ChannelwisePlan) -> torch.Tensor:
    """The product ``Z = A X`` of :class:`ChannelwiseProduct` with out-of-place autograd ops,
    ``(B, K, U)``: what the kernels' backward passes differentiate when a second
    derivative is asked for (``create_graph=True``, e.g. training a potential on forces)."""
    B, U = x1.shape[0], plan.mul
    prods = []
    for start, d1, P, offset, _ in plan.blocks:
        xb = x1[:, start:start + U * d1].reshape(B, U, d1).transpose(1, 2)  # (B, d1, U)
        prods.append(xb[:, None] * _weights(w, offset, P, U)[:, :, None])  # (B, P, d1, U)
    X = torch.cat([prods[b][:, p] for b, p in plan.order], dim=1)  # (B, D, U)
    return torch.cat([torch.bmm(A[:, a0:a0 + d3 * nr].reshape(B, d3, nr), X[:, r0:r0 + nr])
                      for _, d3, r0, nr, a0 in sorted(plan.outs)], dim=1)


def differentiable_backward(inputs, needs, gZ, plan: ChannelwisePlan):
    """Input gradients of ``<gZ, Z(x1, w, A)>`` that autograd can differentiate again."""
    wrt = [t for t, need in zip(inputs, needs) if need]
    with torch.enable_grad():
        Z = channelwise_reference(*inputs, plan)
        grads = iter(torch.autograd.grad(Z, wrt, gZ, create_graph=True, allow_unused=True))
    out = []
    for t, need in zip(inputs, needs):
        g = next(grads) if need else None
        out.append(torch.zeros_like(t) if need and g is None else g)
    return (*out, None)


class ChannelwiseProduct(torch.autograd.Function):
    """``(x1 (B, d1), w (B, n) or (n,), A (B, sum_o d3 * rows_o))`` -> ``Z (B, K, U)``."""

    @staticmethod
    def forward(ctx, x1, w, A, plan: ChannelwisePlan):
        B, U = x1.shape[0], plan.mul
        Z = x1.new_empty(B, sum(d3 for _, d3, _, _, _ in plan.outs), U)
        chunk, Xs = _chunk(x1), []
        for c0 in range(0, B, chunk):
            c1 = min(B, c0 + chunk)
            n = c1 - c0
            wc = w if w.dim() == 1 else w[c0:c1]
            prods = []
            for start, d1, P, offset, _ in plan.blocks:
                xb = x1[c0:c1, start:start + U * d1].view(n, U, d1).transpose(1, 2).contiguous()  # (n, d1, U)
                prods.append(xb[:, None] * _weights(wc, offset, P, U)[:, :, None])  # (n, P, d1, U)
            X = torch.cat([prods[b][:, p] for b, p in plan.order], dim=1)  # (n, D, U), rows by output
            for k0, d3, r0, nr, a0 in plan.outs:
                Z[c0:c1, k0:k0 + d3] = torch.bmm(A[c0:c1, a0:a0 + d3 * nr].view(n, d3, nr), X[:, r0:r0 + nr])
            Xs.append(X)
        ctx.save_for_backward(x1, w, A, *Xs)
        ctx.plan = plan
        return Z

    @staticmethod
    def backward(ctx, gZ):
        x1, w, A, *Xs = ctx.saved_tensors
        plan = ctx.plan
        if torch.is_grad_enabled():  # create_graph: a second derivative will follow
            return differentiable_backward((x1, w, A), ctx.needs_input_grad[:3], gZ, plan)
        B, U = x1.shape[0], plan.mul
        need_x1, need_w, need_A = ctx.needs_input_grad[:3]
        gx1 = torch.zeros_like(x1) if need_x1 else None
        gw = torch.zeros_like(w) if need_w else None
        gA = torch.empty_like(A) if need_A else None
        chunk = _chunk(x1)
        for c0, X in zip(range(0, B, chunk), Xs):
            c1 = min(B, c0 + chunk)
            n = c1 - c0
            gX = []
            for k0, d3, r0, nr, a0 in plan.outs:
                g = gZ[c0:c1, k0:k0 + d3]
                if need_A:
                    gA[c0:c1, a0:a0 + d3 * nr] = torch.bmm(g, X[:, r0:r0 + nr].transpose(1, 2)).reshape(n, -1)
                if need_x1 or need_w:
                    gX.append(torch.bmm(A[c0:c1, a0:a0 + d3 * nr].view(n, d3, nr).transpose(1, 2), g))
            if not gX:
                continue
            gX = torch.cat(gX, dim=1).transpose(0, 1).contiguous()  # (D, n, U): long contiguous rows
            wc = w if w.dim() == 1 else w[c0:c1]
            for start, d1, P, offset, row_starts in plan.blocks:
                g = torch.cat([gX[r:r + d1] for r in row_starts]).view(P, d1, n, U)
                if need_x1:  # sum over the paths of this block
                    wb = _weights(wc, offset, P, U).transpose(0, 1)  # (P, n or 1, U)
                    acc = g[0] * wb[0, None]
                    for p in range(1, P):
                        acc.addcmul_(g[p], wb[p, None])
                    gx1[c0:c1, start:start + U * d1].view(n, U, d1).copy_(acc.permute(1, 2, 0))
                if need_w:  # sum over the components of each path
                    xb = x1[c0:c1, start:start + U * d1].view(n, U, d1).permute(2, 0, 1)
                    acc = g[:, 0] * xb[0]
                    for i in range(1, d1):
                        acc.addcmul_(g[:, i], xb[i])
                    if w.dim() == 1:  # shared weights: also sum over the batch
                        gw[offset:offset + P * U] += acc.sum(1).reshape(-1)
                    else:
                        gw[c0:c1, offset:offset + P * U].view(n, P, U).copy_(acc.transpose(0, 1))
        return gx1, gw, gA, None
