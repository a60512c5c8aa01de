r"""Hand-written forward and backward of the channel-wise (``uvu``) tensor product.

For one group of ``uvu`` paths whose second input has multiplicity 1 (spherical harmonics
in message passing), with channels last:

.. math::

    X_{b, (p, i), u} = x_{b, u, i}^{(l_1(p))}\, w_{b, p, u}, \qquad Z_b = A_b X_b, \quad
    A_{b, k, (p, i)} = \sum_j y_{bj} \hat C_{j, k, (p, i)}

The weights multiply the input by broadcasting into a preallocated ``X`` (one pass), and
the backward pass reduces over paths and components with fused multiply-adds on views
instead of the index scatters autograd would record, so every large tensor is touched a
few times only.
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class ChannelwisePlan(NamedTuple):
    mul: int  # U, the channels
    rows: int  # D = sum over paths of 2 l1 + 1
    blocks: tuple  # per input-1 block: (column start in x1, d1, paths P, weight offset, first row)


def _weights(w, offset, P, U, B):
    """``(B or 1, P, U)`` view of the weights of ``P`` consecutive paths."""
    part = w[..., offset:offset + P * U]
    return part.reshape(-1, P, U)


#: samples per chunk: keeps each chunk's (D, chunk, U) intermediates in cache
CHUNK = 512


class ChannelwiseProduct(torch.autograd.Function):
    """``(x1 (B, d1), w (B, n) or (n,), A (B, K, D))`` -> ``Z (B, K, U)``; see the module docstring."""

    @staticmethod
    def forward(ctx, x1, w, A, plan: ChannelwisePlan):
        B, U = x1.shape[0], plan.mul
        X = x1.new_empty(B, plan.rows, U)
        Z = x1.new_empty(B, A.shape[1], U)
        for c0 in range(0, B, CHUNK):
            c1 = min(B, c0 + CHUNK)
            n = c1 - c0
            # rows-first layout (D, n, U): the broadcast products run over long contiguous rows
            parts = []
            for start, d1, P, offset, r0 in plan.blocks:
                xb = x1[c0:c1, start:start + U * d1].view(n, U, d1).permute(2, 0, 1)  # (d1, n, U)
                wb = _weights(w if w.dim() == 1 else w[c0:c1], offset, P, U, n).transpose(0, 1)  # (P, n or 1, U)
                parts.append((xb[None] * wb[:, None]).reshape(P * d1, n, U))
            X[c0:c1] = torch.cat(parts).transpose(0, 1)
            Z[c0:c1] = torch.bmm(A[c0:c1], X[c0:c1])
        ctx.save_for_backward(x1, w, A, X)
        ctx.plan = plan
        return Z

    @staticmethod
    def backward(ctx, gZ):
        x1, w, A, X = ctx.saved_tensors
        plan = ctx.plan
        B, U = x1.shape[0], plan.mul
        gZ = gZ.contiguous()
        need_x1, need_w, need_A = ctx.needs_input_grad[:3]
        gx1 = torch.zeros_like(x1) if need_x1 else None
        gw = torch.zeros_like(w) if need_w else None
        gAT = A.new_empty(B, A.shape[2], A.shape[1]) if need_A else None  # (B, D, K)
        for c0 in range(0, B, CHUNK):
            c1 = min(B, c0 + CHUNK)
            n = c1 - c0
            if need_A:
                gAT[c0:c1] = torch.bmm(X[c0:c1], gZ[c0:c1].transpose(1, 2))
            if not (need_x1 or need_w):
                continue
            gXT = torch.bmm(A[c0:c1].transpose(1, 2), gZ[c0:c1]).transpose(0, 1).contiguous()  # (D, n, U)
            for start, d1, P, offset, r0 in plan.blocks:
                g = gXT[r0:r0 + P * d1].view(P, d1, n, U)
                if need_x1:  # sum over the paths of this block
                    wb = _weights(w if w.dim() == 1 else w[c0:c1], offset, P, U, n).transpose(0, 1)
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
        return gx1, gw, gAT.transpose(1, 2) if need_A else None, None
