r"""The channel-wise (``uvu``) tensor product on the CPU as sparse fused multiply-adds.

Same contraction as :class:`~symmetries.nn.o3.tensor_product.kernels._torch.ChannelwiseProduct`, computed
in the layout ``(row, batch, channel)`` where every operand row is one long contiguous
vector :math:`(b, u)`:

.. math::

    X_r = x_{c(r)} \odot w_{p(r)}, \qquad Z_k = \sum_{r:\, \hat C_{\cdot k r} \neq 0} A_{k r} \odot X_r

one multiply-add per structurally nonzero 3j entry :math:`(k, r)` (scalar inputs ``l2 = 0``
give diagonal blocks, so far fewer than :math:`D \times K`). Small per-sample matrix
products, which batched GEMM libraries run far below peak on a CPU, are avoided entirely.
"""

from __future__ import annotations

import torch

from symmetries.nn.o3.tensor_product.kernels._torch import ChannelwisePlan, differentiable_backward


def _rows(plan: ChannelwisePlan, per_block):
    """Flatten per-block ``(P, d1, ...)`` tensors into the list of rows, in row order."""
    d1s = [d1 for _, d1, _, _, _ in plan.blocks]
    return [per_block[b][p][c] for b, p in plan.order for c in range(d1s[b])]


class SparseChannelwiseProduct(torch.autograd.Function):
    """``(x1 (B, d1), w (B, n) or (n,), A (B, n_cols))`` -> ``Z (B, K, U)`` (a view of ``(K, B, U)``)."""

    @staticmethod
    def forward(ctx, x1, w, A, plan: ChannelwisePlan):
        B, U = x1.shape[0], plan.mul
        AT = A.t().contiguous()[:, :, None]  # (cols, B, 1)
        xs, ws, prods = [], [], []
        for start, d1, P, offset, _ in plan.blocks:
            xb = x1[:, start:start + U * d1].view(B, U, d1).permute(2, 0, 1).contiguous()  # (d1, B, U)
            wb = w[..., offset:offset + P * U].reshape(-1, P, U).transpose(0, 1).contiguous()  # (P, B or 1, U)
            xs.append(xb)
            ws.append(wb)
            prods.append(xb[None] * wb[:, None])  # (P, d1, B, U)
        X = _rows(plan, prods)
        Z = []
        for pairs in plan.pairs:
            (r, col), rest = pairs[0], pairs[1:]
            z = X[r] * AT[col]
            for r, col in rest:
                z.addcmul_(X[r], AT[col])
            Z.append(z)
        ctx.save_for_backward(x1, w, A, AT, *xs, *ws, *prods)
        ctx.plan, ctx.shapes = plan, (x1.shape, w.shape, A.shape)
        return torch.stack(Z).transpose(0, 1)

    @staticmethod
    def backward(ctx, gZ):
        plan = ctx.plan
        if torch.is_grad_enabled():  # create_graph: a second derivative will follow
            return differentiable_backward(ctx.saved_tensors[:3], ctx.needs_input_grad[:3], gZ, plan)
        nb = len(plan.blocks)
        AT, saved = ctx.saved_tensors[3], ctx.saved_tensors[4:]
        xs, ws, prods = saved[:nb], saved[nb:2 * nb], saved[2 * nb:]
        (B, _), U = ctx.shapes[0], plan.mul
        gZ = gZ.transpose(0, 1).contiguous()  # (K, B, U)
        need_x1, need_w, need_A = ctx.needs_input_grad[:3]
        gA = None
        if need_A:  # gA[b, col(k, r)] = sum_u gZ_k[b, u] X_r[b, u], one path's rows at a time
            gAT = gZ.new_empty(ctx.shapes[2][1], B)
            r = 0
            paths = []
            for b, p in plan.order:
                paths.append((r, prods[b][p]))
                r += plan.blocks[b][1]
            for k0, d3, r0, nr, a0 in plan.outs:
                for rp, xp in paths:
                    if r0 <= rp < r0 + nr:
                        for k in range(d3):
                            c = a0 + k * nr + rp - r0
                            gAT[c:c + xp.shape[0]] = torch.linalg.vecdot(xp, gZ[k0 + k], dim=-1)
            gA = gAT.t()
        if not (need_x1 or need_w):
            return None, None, gA, None
        gX = gZ.new_zeros(plan.rows, B, U)  # rows grouped by output, each path's rows contiguous
        for k, pairs in enumerate(plan.pairs):
            for r, col in pairs:
                gX[r].addcmul_(gZ[k], AT[col])
        gx1 = gZ.new_zeros(ctx.shapes[0]) if need_x1 else None
        gw = gZ.new_zeros(ctx.shapes[1]) if need_w else None
        for b, (start, d1, P, offset, row_starts) in enumerate(plan.blocks):
            g = [gX[r:r + d1] for r in row_starts]  # per path (d1, B, U)
            if need_x1:  # sum over the paths of this block
                acc = g[0] * ws[b][0]
                for p in range(1, P):
                    acc.addcmul_(g[p], ws[b][p])
                gx1[:, start:start + U * d1].view(B, U, d1).copy_(acc.permute(1, 2, 0))
            if need_w:  # sum over the components of each path
                acc = torch.stack([torch.linalg.vecdot(g[p], xs[b], dim=0) for p in range(P)])  # (P, B, U)
                if len(ctx.shapes[1]) == 1:
                    gw[offset:offset + P * U] = acc.sum(1).reshape(-1)
                else:
                    gw[:, offset:offset + P * U].view(B, P, U).copy_(acc.transpose(0, 1))
        return gx1, gw, gA, None
