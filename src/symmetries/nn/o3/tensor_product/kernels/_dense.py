r"""The batched-product form of a group of ``uvu`` paths, the one every layout can take.

For rows :math:`r = (p, v, c)` (path, copy of the second input's irrep, component of the
first), channels last:

.. math::

    X_{b, r, u} = x_{b, u, c(r)}\, W_{b, u, p(r) v(r)}, \qquad
    A_{b, k, r} = \sum_J y_{b J} \hat C_{J, k, r}, \qquad Z_b = A_b X_b,

two gathers and a broadcast product, one GEMM and one batched product ``(K, D) @ (D, U)``
that also sums the paths sharing an output block. It serves the ``uvu`` groups the
channel-wise kernels do not take (a second input with multiplicities, or weights out of
order).
"""

from __future__ import annotations

from typing import NamedTuple

import torch


class DensePlan(NamedTuple):
    mul: int  # U, the channels
    #: per input-1 block: (first column in x1, 2l+1)
    blocks: tuple
    #: (first, count) of the group's weights where they are one range of the flat weights, else
    #: None (gathered by index)
    weights: tuple | None
    #: 2l+1 of each output block
    outs: tuple
    rows: int  # D, the rows r


def irreps_layout(Z: torch.Tensor, dims) -> torch.Tensor:
    """``Z (B, K, M)``, channels last, as the output blocks of widths ``dims`` (``2l+1`` each, summing
    to ``K``) side by side in the irreps layout: ``(B, sum_o M d_o)``."""
    B = Z.shape[0]
    parts = [z.transpose(1, 2).reshape(B, z.shape[1] * z.shape[2]) for z in torch.split(Z, list(dims), dim=1)]
    return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


def dense_uvu(x1, w, x2, cg, plan: DensePlan, rowx, roww, widx) -> torch.Tensor:
    """``(x1 (B, d1), w (B, n) or (n,), x2 (B, d2), cg (d2, K * D))`` -> ``(B, sum_o U d_o)``, with
    ``rowx`` and ``roww`` the input-1 row and the weight row of each row ``r``, and ``widx``
    the group's weights in the flat weights (``None`` where they are one range)."""
    B, U = x1.shape[0], plan.mul
    xs = [x1[:, start:start + U * d].view(B, U, d).transpose(1, 2) for start, d in plan.blocks]
    x = torch.cat(xs, dim=1) if len(xs) > 1 else xs[0]  # (B, I1, U)
    if plan.weights is not None:
        ws = w[..., plan.weights[0]:plan.weights[0] + plan.weights[1]]
    else:
        ws = w.index_select(-1, widx)
    ws = ws.unflatten(-1, (-1, U))  # ([B,] sum V, U)
    X = x.index_select(1, rowx) * ws.index_select(-2, roww)  # (B, D, U)
    A = (x2 @ cg.to(x2.dtype)).view(B, sum(plan.outs), plan.rows)
    return irreps_layout(torch.bmm(A, X), plan.outs)
