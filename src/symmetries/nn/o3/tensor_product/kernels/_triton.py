r"""The channel-wise (``uvu``) tensor product on CUDA as generated Triton kernels (optional).

For a plan's 3j terms :math:`(j, k, r, C)` (see :mod:`~symmetries.nn.o3.tensor_product.kernels._terms`)
the forward kernel is written out term by term, every index a constant:

.. math::

    z_{e, u, k} = \sum_{(j, k, r, C)} C\, y_{e j}\, x_{e, u, c(r)}\, w_{e, p(r), u}

One program holds a block of edges and all ``U`` channels in registers: it reads each input
once, sums the terms, and writes each output once, so the kernel moves the minimum of
memory (inputs, weights, outputs) and nothing of size ``(E, rows, U)`` exists. The backward
kernel is generated the same way:

.. math::

    \partial X_{e r u} = \sum_{(j, k, r, C)} C\, y_{e j}\, \partial z_{e u k}, \quad
    \partial y_{e j} = \sum_{(j, k, r, C)} C \sum_u \partial z_{e u k} X_{e r u}, \\
    \partial x_{e, u, c} = \sum_{r:\, c(r) = c} \partial X_{e r u}\, w_{e p(r) u}, \quad
    \partial w_{e p u} = \sum_{r:\, p(r) = p} \partial X_{e r u}\, x_{e, u, c(r)}.

Triton compiles the kernels for the GPU at first use (PyTorch ships Triton; nothing is
compiled at install time). Second derivatives go through the PyTorch reference.
"""

from __future__ import annotations

import hashlib
import linecache
from collections import defaultdict
from functools import lru_cache

import torch

from symmetries.nn.o3.tensor_product.kernels._torch import ChannelwisePlan
from symmetries.nn.o3.tensor_product.kernels._terms import compiled_backward, input_gradient, output_width, path_weights, term_tables

try:
    import triton
    import triton.language as tl
except ImportError:  # CPU-only PyTorch builds
    triton = tl = None


def _block(U):
    """Edges per program: about 256 values per tile, so each thread holds a few of each."""
    width = triton.next_power_of_2(U)
    return width, max(1, 256 // width)


def _source(tables, U, d2, name):
    """Python source of the forward and backward kernels of one plan (``d2``: width of ``y``).

    The code walks the rows path by path, so that only the accumulators stay live: the
    outputs (forward) or the input gradients (backward), never all ``rows x U`` products,
    which would not fit in registers. The 3j coefficients are read where they are used, from
    a tensor of the inputs' dtype, not written as literals (Triton would round those to
    float32)."""
    in_blocks, out_blocks, rows_c, rows_p, tj, tk, tr, _ = tables
    comps = [(int(s) + e, int(d)) for s, d, _ in in_blocks.tolist() for e in range(d)]  # (column, stride)
    outs = [(int(s) + e, int(d)) for s, d, _ in out_blocks.tolist() for e in range(d)]
    by_r = defaultdict(list)
    for t, (j, k, r) in enumerate(zip(tj.tolist(), tk.tolist(), tr.tolist())):
        by_r[r].append((j, k, t))
    rows = list(zip(rows_c.tolist(), rows_p.tolist()))
    paths = defaultdict(list)  # path -> its rows (consecutive)
    for r, (_, p) in enumerate(rows):
        paths[p].append(r)
    W, BE = _block(U)
    head = [
        "    pid = tl.program_id(0)",
        f"    e1 = (pid * {BE} + tl.arange(0, {BE})).to(tl.int64)",
        "    e = e1[:, None]",
        f"    u = tl.arange(0, {W})[None, :]",
        "    live1 = e1 < n_edges",
        "    live = e < n_edges",
        f"    mask = live & (u < {U})",
        *[f"    x{c} = tl.load(x1_ptr + e * d1 + {col} + u * {d}, mask=mask, other=0.0)" for c, (col, d) in enumerate(comps)],
        *[f"    y{j} = tl.load(y_ptr + e * {d2} + {j}, mask=live, other=0.0)" for j in range(d2)],
    ]

    def load_weight(p):
        return f"    wp = tl.load(w_ptr + e * w_stride + {p * U} + u, mask=mask, other=0.0)"

    fwd = [f"def {name}_forward(x1_ptr, w_ptr, y_ptr, coef_ptr, out_ptr, n_edges, d1, w_stride, d_out):", *head]
    fwd += [f"    z{k} = tl.zeros_like(x0)" for k in range(len(outs))]
    for p, rs in sorted(paths.items()):
        fwd.append(load_weight(p))
        for r in rs:
            fwd.append(f"    xr = x{rows[r][0]} * wp")
            fwd += [f"    z{k} += (tl.load(coef_ptr + {t}) * y{j}) * xr" for j, k, t in by_r[r]]
    fwd += [f"    tl.store(out_ptr + e * d_out + {col} + u * {d}, z{k}, mask=mask)" for k, (col, d) in enumerate(outs)]

    bwd = [f"def {name}_backward(x1_ptr, w_ptr, y_ptr, coef_ptr, grad_ptr, gx1_ptr, gw_ptr, gy_ptr, n_edges, d1,",
           "                      w_stride, d_out, gw_stride):", *head]
    bwd += [f"    g{k} = tl.load(grad_ptr + e * d_out + {col} + u * {d}, mask=mask, other=0.0)" for k, (col, d) in enumerate(outs)]
    bwd += [f"    gx{c} = tl.zeros_like(x0)" for c in range(len(comps))]
    bwd += [f"    gy{j} = tl.zeros_like(x0)" for j in range(d2)]  # summed over the channels at the end
    for p, rs in sorted(paths.items()):
        bwd += [load_weight(p), "    gwp = tl.zeros_like(x0)"]
        for r in rs:
            c = rows[r][0]
            bwd.append(f"    xr = x{c} * wp")
            bwd.append("    gxr = tl.zeros_like(x0)")
            for j, k, t in by_r[r]:
                bwd.append(f"    ct = tl.load(coef_ptr + {t})")
                bwd.append(f"    gxr += (ct * y{j}) * g{k}")
                bwd.append(f"    gy{j} += ct * (g{k} * xr)")
            bwd += [f"    gx{c} += gxr * wp", f"    gwp += gxr * x{c}"]
        bwd.append(f"    tl.store(gw_ptr + e * gw_stride + {p * U} + u, gwp, mask=mask)")
    bwd += [f"    tl.store(gx1_ptr + e * d1 + {col} + u * {d}, gx{c}, mask=mask)" for c, (col, d) in enumerate(comps)]
    bwd += [f"    tl.store(gy_ptr + e1 * {d2} + {j}, tl.sum(gy{j}, axis=1), mask=live1)" for j in range(d2)]
    return "\n".join(["@triton.jit", *fwd, "", "", "@triton.jit", *bwd, ""])


@lru_cache(maxsize=None)
def _kernels(plan: ChannelwisePlan, d2: int):
    """Define the kernels of one plan (Triton compiles them at their first launch)."""
    key = hashlib.sha1(repr((plan, d2)).encode()).hexdigest()[:12]
    name, filename = f"tp_{key}", f"<symmetries-tensor-product-{key}>"
    source = _source(term_tables(plan), plan.mul, d2, name)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # for inspect.getsource
    scope = {"triton": triton, "tl": tl}
    exec(compile(source, filename, "exec"), scope)
    return scope[f"{name}_forward"], scope[f"{name}_backward"]


@lru_cache(maxsize=None)
def _coefficients(plan: ChannelwisePlan, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The plan's 3j coefficients on ``device``, copied there once."""
    return torch.tensor([c for *_, c in plan.terms], dtype=dtype, device=device)


class TritonChannelwiseProduct(torch.autograd.Function):
    """``(x1 (E, d1), w (E, n) or (n,), y (E, d2), cg (d2, n_cols))`` -> ``(E, sum_o U * d3)``: the
    plan's output blocks side by side, each in the irreps layout ``(U, d3)``. CUDA tensors."""

    @staticmethod
    def forward(ctx, x1, w, y, cg, plan: ChannelwisePlan):
        forward, _ = _kernels(plan, y.shape[1])
        coef = _coefficients(plan, x1.dtype, x1.device)
        x1c, w3, yc = x1.detach().contiguous(), path_weights(w.detach(), plan, copy=False), y.detach().contiguous()
        E = x1.shape[0]
        out = x1.new_empty(E, output_width(plan))
        if E:
            forward[(triton.cdiv(E, _block(plan.mul)[1]),)](
                x1c, w3, yc, coef, out, E, x1c.shape[1], w3.stride(0) if w3.shape[0] == E else 0, out.shape[1])
        ctx.save_for_backward(x1, w, y, cg, x1c, w3, yc)
        ctx.plan = plan
        return out

    @staticmethod
    def backward(ctx, grad):
        def gradients(x1c, w3, yc, grad):
            plan, E = ctx.plan, x1c.shape[0]
            _, backward = _kernels(plan, yc.shape[1])
            gx1, gy = input_gradient(plan, x1c), torch.empty_like(yc)
            gw3 = w3.new_empty(E, *w3.shape[1:])  # per edge; summed after for shared weights
            if E:
                backward[(triton.cdiv(E, _block(plan.mul)[1]),)](
                    x1c, w3, yc, _coefficients(plan, x1c.dtype, x1c.device), grad, gx1, gw3, gy, E, x1c.shape[1],
                    w3.stride(0) if w3.shape[0] == E else 0, grad.shape[1], gw3.stride(0))
            return gx1, gw3, gy

        return compiled_backward(ctx, grad, gradients)
