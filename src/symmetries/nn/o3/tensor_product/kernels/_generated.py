r"""Channel-wise tensor-product loops generated for one plan (numba, optional).

The table-driven loops of :mod:`~symmetries.nn.o3.tensor_product.kernels._numba` read each 3j
term's indices at run time, so their accumulators live in memory and every term costs loads
and stores over a tile. Here the plan's terms are written out as Python source, one statement per output component, with
the channel count ``U`` and every index a constant. Per sample, the inputs are transposed
into channels-last rows ``(components, U)``; then one loop over the channels ``u``
vectorizes across them and keeps the whole product in registers:

.. math::

    X_r = x_{c(r)} w_{p(r)}, \qquad
    z_k = \sum_{r} a_{k r} X_r, \qquad a_{k r} = \sum_j C_{j k r}\, y_j

(:math:`a` is per sample, computed once before the loop). The backward pass is four such
loops: the reductions :math:`\partial y_j = \sum_u \sum_{(j,k,r)} C\, \partial z_k X_r`, then
:math:`\partial X_r = \sum_k a_{k r} \partial z_k`, :math:`\partial x_c = \sum_{r: c(r) = c}
\partial X_r w_{p(r)}` and :math:`\partial w_p = \sum_{r: p(r) = p} \partial X_r x_{c(r)}`.
Each loop writes one array, which is what lets LLVM prove (with a few run-time checks)
that its stores do not alias its loads, and vectorize it.

Compiling a plan's loops takes seconds per dtype, so they are used for batches of at least
:data:`MIN_BATCH` samples and plans of at most :data:`MAX_TERMS` terms. The source is written
to the cache directory (``$SYMMETRIES_CACHE``, else ``~/.cache/symmetries``) under a hash of
itself, and numba caches the machine code beside it, so a plan compiles once per machine.
"""

from __future__ import annotations

from functools import lru_cache

from symmetries._internal.compiled import SourceWriter, compiled_module
from symmetries.nn.o3.tensor_product.kernels._torch import ChannelwisePlan
from symmetries.nn.o3.tensor_product.kernels._terms import term_tables

#: smallest batch for which a plan's generated loops are compiled and used
MIN_BATCH = 1024
#: largest number of 3j terms a plan's loops are generated for: LLVM's time grows faster than
#: the straight-line code (here 7 s for 83 terms, 20 s for 353, 230 s for 1158); larger plans
#: run the table-driven loops
MAX_TERMS = 400


def worth_generating(terms: int, batch: int) -> bool:
    """Whether loops generated for ``terms`` 3j terms repay their compilation at this batch."""
    return batch >= MIN_BATCH and terms <= MAX_TERMS


def _components(blocks):
    """The blocks' ``(start, d, first row)`` as ints, in the order of their first rows."""
    return sorted(((int(s), int(d), int(c0)) for s, d, c0 in blocks), key=lambda b: b[2])


def transpose_statements(w: SourceWriter, depth: int, U: int, blocks, tile: str, row: str, into_tile: bool):
    """Copy between an irreps-layout row (``(U, d)`` per block) and a tile ``(components, U)``."""
    for start, d, c0 in blocks:
        w(depth, f"for u in range({U}):")
        for e in range(d):
            flat = f"{row}[{start + e} + {d} * u]" if d > 1 else f"{row}[{start} + u]"
            cell = f"{tile}[{(c0 + e) * U} + u]"
            w(depth + 1, f"{cell} = {flat}" if into_tile else f"{flat} = {cell}")


def sum_of(products) -> str:
    """The source of the sum of the ``products`` (strings)."""
    return " + ".join(products)


def term_pairs(terms) -> dict:
    """``(k, r) -> [(t, j), ...]``: the terms ``t = (j, k, r)`` of each nonzero pair."""
    pairs: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for t, (j, k, r) in enumerate(terms):
        pairs.setdefault((k, r), []).append((t, j))
    return pairs


def coefficients(w: SourceWriter, depth: int, J: int, pairs: dict):
    """Per sample ``b``: the second input ``y{j}`` and :math:`a_{k r} = \\sum_j C_{j k r} y_j` as ``a{k}_{r}``."""
    for j in range(J):
        w(depth, f"y{j} = y[b, {j}]")
    for (k, r), ts in pairs.items():
        w(depth, f"a{k}_{r} = " + sum_of(f"c[{t}] * y{j}" for t, j in ts))


def output_statements(w: SourceWriter, K: int, U: int, pairs: dict, row):
    """In the loop over the channels ``u``: :math:`z_{k u} = \\sum_r a_{k r} X_{r u}` into the tile
    ``zt``, for each output component; ``row(r)`` is the expression of :math:`X_{r u}`."""
    for k in range(K):
        rs = [r for (kk, r) in pairs if kk == k]
        w(3, f"zt[{k * U} + u] = " + (sum_of(f"a{k}_{r} * {row(r)}" for r in rs) if rs else "zero"))


def second_input_reductions(w: SourceWriter, J: int, U: int, terms, row, before=()):
    r"""Per sample: :math:`s_j = \sum_u \sum_{(j, k, r)} C\, \partial z_{k u} X_{r u}`, the second
    input's gradient, as one loop of reductions over the channels; ``row(r)`` is the expression
    of :math:`X_{r u}`, ``before`` the statements that open the loop body."""
    for j in range(J):
        w(2, f"s{j} = zero")
    w(2, f"for u in range({U}):")
    for line in before:
        w(3, line)
    for j in range(J):
        ts = [(t, k, r) for t, (jj, k, r) in enumerate(terms) if jj == j]
        if ts:
            w(3, f"s{j} += " + sum_of(f"c[{t}] * gt[{k * U} + u] * {row(r)}" for t, k, r in ts))


def store_second_input_gradient(w: SourceWriter, J: int):
    """``gy[b] = s``, and zero for the components no path reads."""
    for j in range(J):
        w(2, f"gy[b, {j}] = s{j}")
    w(2, f"for j in range({J}, y.shape[1]):")
    w(3, "gy[b, j] = zero")


def kernel_source(plan: ChannelwisePlan) -> str:
    """Python source of ``forward`` and ``backward`` for ``plan``, with the signatures of the
    table-driven loops (:func:`~symmetries.nn.o3.tensor_product.kernels._numba._forward`,
    :func:`~symmetries.nn.o3.tensor_product.kernels._numba._backward`)."""
    in_blocks, out_blocks, rows_c, rows_p, tj, tk, tr, _ = term_tables(plan)
    U = plan.mul
    ins, outs = _components(in_blocks), _components(out_blocks)
    C, K = sum(d for _, d, _ in ins), sum(d for _, d, _ in outs)
    rows_c, rows_p = [int(c) for c in rows_c], [int(p) for p in rows_p]
    R, P, J = len(rows_c), max(rows_p) + 1, int(tj.max()) + 1
    terms = list(zip(tj.tolist(), tk.tolist(), tr.tolist()))
    pairs = term_pairs(terms)
    tables = "in_blocks, out_blocks, rows_c, rows_p, tj, tk, tr, coef"

    w = SourceWriter()
    w(0, "@_jit")
    w(0, f"def forward(b0, b1, out, x1, w3, y, {tables}):")
    w(1, "c, zero = coef.astype(x1.dtype), np.zeros(1, x1.dtype)[0]")
    w(1, "step = 1 if w3.shape[0] == x1.shape[0] else 0")
    w(1, f"xt, zt = np.empty({C * U}, x1.dtype), np.empty({K * U}, x1.dtype)")
    w(1, "for b in range(b0, b1):")
    w(2, "wr, row = w3[b * step], out[b]")
    transpose_statements(w, 2, U, ins, "xt", "x1[b]", True)
    coefficients(w, 2, J, pairs)
    w(2, f"for u in range({U}):")
    for r in range(R):
        w(3, f"X{r} = xt[{rows_c[r] * U} + u] * wr[{rows_p[r]}, u]")
    output_statements(w, K, U, pairs, lambda r: f"X{r}")
    transpose_statements(w, 2, U, outs, "zt", "row", False)
    w(0, "")
    w(0, "")
    w(0, "@_jit")
    w(0, f"def backward(b0, b1, gx1, gw3, gy, x1, w3, y, grad, {tables}):")
    w(1, "c, zero = coef.astype(x1.dtype), np.zeros(1, x1.dtype)[0]")
    w(1, "step = 1 if w3.shape[0] == x1.shape[0] else 0")
    w(1, "per_sample = gw3.shape[0] == x1.shape[0]  # else one row for this range (shared weights)")
    w(1, f"xt, gt, gxt = np.empty({C * U}, x1.dtype), np.empty({K * U}, x1.dtype), np.empty({C * U}, x1.dtype)")
    w(1, f"gXt, gwt = np.empty({R * U}, x1.dtype), np.empty({P * U}, x1.dtype)")
    w(1, "for b in range(b0, b1):")
    w(2, "wr = w3[b * step]")
    transpose_statements(w, 2, U, ins, "xt", "x1[b]", True)
    transpose_statements(w, 2, U, outs, "gt", "grad[b]", True)
    coefficients(w, 2, J, pairs)
    rows = [f"X{r} = xt[{rows_c[r] * U} + u] * wr[{rows_p[r]}, u]" for r in range(R)]
    second_input_reductions(w, J, U, terms, lambda r: f"X{r}", rows)
    w(2, f"for u in range({U}):")
    for r in range(R):
        ks = [k for (k, rr) in pairs if rr == r]
        w(3, f"gXt[{r * U} + u] = " + (sum_of(f"a{k}_{r} * gt[{k * U} + u]" for k in ks) if ks else "zero"))
    w(2, f"for u in range({U}):")
    for cc in range(C):
        rs = [r for r in range(R) if rows_c[r] == cc]
        w(3, f"gxt[{cc * U} + u] = " + (sum_of(f"gXt[{r * U} + u] * wr[{rows_p[r]}, u]" for r in rs) if rs else "zero"))
    w(2, f"for u in range({U}):")
    for p in range(P):
        rs = [r for r in range(R) if rows_p[r] == p]
        w(3, f"gwt[{p * U} + u] = " + sum_of(f"gXt[{r * U} + u] * xt[{rows_c[r] * U} + u]" for r in rs))
    transpose_statements(w, 2, U, ins, "gxt", "gx1[b]", False)
    w(2, "gwr = gw3[b if per_sample else 0]")
    w(2, f"for p in range({P}):")
    w(3, f"for u in range({U}):")
    w(4, "gwr[p, u] = gwt[p * " + str(U) + " + u] if per_sample else gwr[p, u] + gwt[p * " + str(U) + " + u]")
    store_second_input_gradient(w, J)
    return "\n".join(w.lines) + "\n"


@lru_cache(maxsize=None)
def kernels(plan: ChannelwisePlan):
    """``(forward, backward)`` generated for ``plan``."""
    module = compiled_module(kernel_source(plan))
    return module.forward, module.backward
