r"""A fully connected (``uvw``) group with per-sample weights, as loops generated for it (numba).

Per-sample (per-edge) weights are what a point convolution feeds a ``uvw`` product: a radial
network gives every edge its own :math:`W_{b p u v w}`. Those weights are the largest operand
(``B x 11264`` floats for ``32x0e+32x1o+32x2e`` with sh(l<=2): 184 MB at 4096 edges), so
the product is bound by reading them, and every copy or regrouping of them costs as much as
the product. Here each sample is done whole while its weights stream through once: the rows

.. math::

    X_{b r w} = \sum_u x_{b u c(r)}\, W_{b\, p(r)\, u\, v(r)\, w}, \qquad r = (c, p, v),

are made in a tile by loops over ``u`` that vectorize over ``w``, then contracted through
the 3j symbols into the output (the row loops of
:mod:`~symmetries.nn.o3.tensor_product.kernels._rows`, :math:`z_{b w k} = \sum_r a_{b k r} X_{b r w}`). The backward pass makes the rows again and
gives, per sample,

.. math::

    \partial X_{r w} = \sum_k a_{k r}\, \partial z_{w k}, \qquad
    \partial W_{p u v w} = \sum_c x_{u c}\, \partial X_{(c p v) w}, \qquad
    \partial x_{u c} = \sum_{p v w} W_{p u v w}\, \partial X_{(c p v) w},

and :math:`\partial y` by the same reductions as the shared-weight loops: the weights are read
once and their gradient written once.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from symmetries._internal.compiled import SourceWriter, compiled_module, ranges, run
from symmetries.nn.o3.tensor_product.kernels._generated import (coefficients, output_statements,
                                                                second_input_reductions, store_second_input_gradient,
                                                                sum_of, term_pairs, transpose_statements)
from symmetries.nn.o3.tensor_product.kernels._rows import Mixing, RowPlan, row_reference


def per_sample_rows(x1, w, mixing: Mixing):
    r"""The rows as PyTorch ops (autograd, second derivatives): per block, ``(B, rows * M)``
    with :math:`X_{b (c p v) w} = \sum_u x_{b u c} W_{b p u v w}`, one batched product per path
    on views of the per-sample weights ``w (B, numel)`` (:meth:`Mixing.weight_views`), never a
    copy of them."""
    B, rows = x1.shape[0], []
    for (start, d1, U, _), ws in zip(mixing.blocks, mixing.weight_views(w)):
        xt = x1[:, start:start + U * d1].view(B, U, d1).transpose(1, 2)  # (B, c, U)
        Xs = [torch.bmm(xt, wp.view(B, U, wp.shape[1] // U)) for wp in ws]  # each (B, c, V M)
        X = torch.cat(Xs, dim=2) if len(Xs) > 1 else Xs[0]
        rows.append(X.reshape(B, X.shape[1] * X.shape[2]))
    return rows


def _row_index(mixing: Mixing):
    """``(block, c, path, v) -> r``, the order of :func:`per_sample_rows` (and of the plan's terms)."""
    index, r = {}, 0
    for a, (_, d1, _, block_paths) in enumerate(mixing.blocks):
        for c in range(d1):
            for p, (_, _, V) in enumerate(block_paths):
                for v in range(V):
                    index[a, c, p, v] = r
                    r += 1
    return index


def _mixing_statements(w: SourceWriter, mixing: Mixing, M: int, index):
    """Per sample: the rows ``X[r * M + w]`` from ``xr`` (the sample's ``x1``) and ``wr`` (its weights)."""
    for a, (start, d1, U, block_paths) in enumerate(mixing.blocks):
        for p, (_, offset, V) in enumerate(block_paths):
            for v in range(V):
                rs = [index[a, c, p, v] for c in range(d1)]
                w(2, f"for o in range({M}):")
                for r in rs:
                    w(3, f"X[{r * M} + o] = zero")
                w(2, f"for u in range({U}):")
                for c in range(d1):
                    w(3, f"xs{c} = xr[{start + c} + {d1} * u]")
                w(3, f"base = {offset + v * M} + {V * M} * u")
                w(3, f"for o in range({M}):")
                w(4, "wv = wr[base + o]")
                for c, r in enumerate(rs):
                    w(4, f"X[{r * M} + o] += xs{c} * wv")


def kernel_source(plan: RowPlan, mixing: Mixing) -> str:
    """Python source of ``forward(b0, b1, out, x1, w, y, coef)`` and
    ``backward(b0, b1, gx1, gw, gy, x1, w, y, grad, coef)``."""
    M, index = plan.mul, _row_index(mixing)
    R, K = len(index), sum(d3 for _, d3, _ in plan.outs)
    J = 1 + max(j for j, _, _, _ in plan.terms)
    terms = [(j, k, r) for j, k, r, _ in plan.terms]
    pairs = term_pairs(terms)

    def row(r):
        return f"X[{r * M} + u]"

    w = SourceWriter()
    w(0, "@_jit")
    w(0, "def forward(b0, b1, out, x1, w, y, coef):")
    w(1, "c, zero = coef.astype(out.dtype), np.zeros(1, out.dtype)[0]")
    w(1, f"X, zt = np.empty({R * M}, out.dtype), np.empty({K * M}, out.dtype)")
    w(1, "for b in range(b0, b1):")
    w(2, "xr, wr, row = x1[b], w[b], out[b]")
    coefficients(w, 2, J, pairs)
    _mixing_statements(w, mixing, M, index)
    w(2, f"for u in range({M}):")
    output_statements(w, K, M, pairs, row)
    transpose_statements(w, 2, M, plan.outs, "zt", "row", False)
    w(0, "")
    w(0, "")
    w(0, "@_jit")
    w(0, "def backward(b0, b1, gx1, gw, gy, x1, w, y, grad, coef):")
    w(1, "c, zero = coef.astype(grad.dtype), np.zeros(1, grad.dtype)[0]")
    w(1, f"X, gX, gt = np.empty({R * M}, grad.dtype), np.empty({R * M}, grad.dtype), np.empty({K * M}, grad.dtype)")
    d_max = max(d1 for _, d1, _, _ in mixing.blocks)
    w(1, f"acc = np.empty({d_max * M}, grad.dtype)")
    w(1, "for b in range(b0, b1):")
    w(2, "xr, wr, gwr, gxr = x1[b], w[b], gw[b], gx1[b]")
    transpose_statements(w, 2, M, plan.outs, "gt", "grad[b]", True)
    coefficients(w, 2, J, pairs)
    _mixing_statements(w, mixing, M, index)
    second_input_reductions(w, J, M, terms, row)
    w(2, f"for u in range({M}):")
    for r in range(R):
        ks = [k for (k, rr) in pairs if rr == r]
        w(3, f"gX[{r * M} + u] = " + (sum_of(f"a{k}_{r} * gt[{k * M} + u]" for k in ks) if ks else "zero"))
    for a, (start, d1, U, block_paths) in enumerate(mixing.blocks):
        w(2, f"for u in range({U}):")
        for c in range(d1):
            w(3, f"xs{c} = xr[{start + c} + {d1} * u]")
        w(3, f"for o in range({d1 * M}):")
        w(4, "acc[o] = zero")
        for p, (_, offset, V) in enumerate(block_paths):
            for v in range(V):
                rs = [index[a, c, p, v] for c in range(d1)]
                w(3, f"base = {offset + v * M} + {V * M} * u")
                w(3, f"for o in range({M}):")
                w(4, "gwr[base + o] = " + sum_of(f"xs{c} * gX[{r * M} + o]" for c, r in enumerate(rs)))
                w(3, f"for o in range({M}):")
                w(4, "wv = wr[base + o]")
                for c, r in enumerate(rs):
                    w(4, f"acc[{c * M} + o] += wv * gX[{r * M} + o]")
        for c in range(d1):
            w(3, f"gxr[{start + c} + {d1} * u] = acc[{c * M}:{(c + 1) * M}].sum()")
    store_second_input_gradient(w, J)
    return "\n".join(w.lines) + "\n"


@lru_cache(maxsize=None)
def kernels(plan: RowPlan, mixing: Mixing):
    """``(forward, backward, coefficients)`` for ``plan`` and ``mixing``."""
    module = compiled_module(kernel_source(plan, mixing))
    return module.forward, module.backward, np.asarray([t[3] for t in plan.terms], dtype=np.float64)


class PerSampleRowProduct(torch.autograd.Function):
    """A ``uvw`` group with per-sample weights on the CPU: ``(x1 (B, D1), w (B, numel), y (B, d2),
    cg, plan, mixing)`` -> ``(B, sum_o M (2l+1))``, the plan's output blocks side by side in the
    irreps layout."""

    @staticmethod
    def forward(ctx, x1, w, y, cg, plan: RowPlan, mixing: Mixing):
        forward, _, coef = kernels(plan, mixing)
        x1c, wc, yc = x1.detach().contiguous(), w.detach().contiguous(), y.detach().contiguous()
        out = y.new_empty(y.shape[0], plan.outs[-1][0] + plan.mul * plan.outs[-1][1])
        args = (out.numpy(), x1c.numpy(), wc.numpy(), yc.numpy(), coef)
        run(forward, [(b0, b1, *args) for b0, b1 in ranges(y.shape[0])])
        ctx.save_for_backward(x1, w, y, cg)
        ctx.plan, ctx.mixing = plan, mixing
        return out

    @staticmethod
    def backward(ctx, grad):
        x1, w, y, cg = ctx.saved_tensors
        plan, mixing = ctx.plan, ctx.mixing
        if torch.is_grad_enabled():  # create_graph: a second derivative will follow
            with torch.enable_grad():
                out = _reference(x1, w, y, cg, plan, mixing)
                grads = torch.autograd.grad(out, [x1, w, y], grad, create_graph=True)
            return (*grads, None, None, None)
        _, backward, coef = kernels(plan, mixing)
        x1c, wc, yc = x1.detach().contiguous(), w.detach().contiguous(), y.detach().contiguous()
        read = sum(d1 * U for _, d1, U, _ in mixing.blocks)  # the kernel writes what it reads
        written = sum(mixing.sizes[i] for _, _, _, paths in mixing.blocks for i, _, _ in paths)
        gx1 = torch.empty_like(x1c) if read == x1c.shape[1] else torch.zeros_like(x1c)
        gw = torch.empty_like(wc) if written == wc.shape[1] else torch.zeros_like(wc)
        gy = torch.empty_like(yc)
        args = (gx1.numpy(), gw.numpy(), gy.numpy(), x1c.numpy(), wc.numpy(), yc.numpy(),
                grad.detach().contiguous().numpy(), coef)
        run(backward, [(b0, b1, *args) for b0, b1 in ranges(y.shape[0])])
        return gx1, gw, gy, None, None, None


def _reference(x1, w, y, cg, plan: RowPlan, mixing: Mixing):
    """The group's output with autograd ops, in the kernels' layout."""
    return row_reference(y, cg, plan, per_sample_rows(x1, w, mixing))
