r"""Spherical harmonics as loops generated for one set of degrees (numba, optional).

The recurrence :math:`Y^l_k = \sum_{(i, j, c)} c\, Y^{l-1}_i x_j` of
:func:`~symmetries.o3.spherical_harmonics` written out as straight-line source, one
statement per component, every index and coefficient fixed: per vector, all harmonics stay
in registers and only the requested degrees are stored, scaled. The backward pass
recomputes them and runs the statements in reverse (adjoint):

.. math::

    \bar Y^{l-1}_i \mathrel{+}= c\, \bar Y^l_k\, x_j, \qquad \bar x_j \mathrel{+}= c\, \bar Y^l_k\, Y^{l-1}_i,

then through the normalization, :math:`\bar x = (\bar{\hat x} - \hat x (\hat x \cdot
\bar{\hat x})) / |x|`. The source is cached on disk by its hash and compiled once per
machine (:func:`symmetries._internal.compiled.compiled_module`); :mod:`._spherical_numba` uses these
loops for batches of at least :data:`MIN_BATCH` vectors and degrees up to :data:`MAX_L`.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from symmetries._internal.compiled import SourceWriter, compiled_module
from symmetries.o3._spherical_harmonics import step_terms

#: vectors per tile: held component-major, so the loop over a tile's vectors vectorizes
TILE = 64
#: smallest batch for which the loops generated for a set of degrees are compiled and used
MIN_BATCH = 4096
#: highest degree they are generated for: compiling the backward takes about 26 s at l = 8
#: and 150 s at l = 12 (the straight-line code grows as l^3); above, the table-driven loops
MAX_L = 6


def worth_generating(ls: tuple, batch: int) -> bool:
    """Whether loops generated for the degrees ``ls`` repay their compilation at this batch."""
    return batch >= MIN_BATCH and max(ls) <= MAX_L


def _statements(lmax: int):
    """The recurrence as ``(target, [(source, j, coefficient index)])`` and the coefficients."""
    steps, coefs = [], []
    for l in range(2, lmax + 1):
        for k, comp in enumerate(step_terms(l)):
            terms = []
            for i, j, c in comp:
                terms.append(((l - 1) ** 2 + i, j, len(coefs)))
                coefs.append(c)
            steps.append((l * l + k, terms))
    return steps, coefs


def harmonics_source(ls: tuple, scales: tuple) -> str:
    """Source of ``forward(n0, n1, out, x, normalize, c)`` and ``backward(n0, n1, gx, grad, x,
    normalize, c)`` for the degrees ``ls`` scaled by ``scales``; ``c`` is :func:`coefficients`."""
    lmax = max(ls)
    steps, coefs = _statements(lmax)
    k_sqrt3, k_eps, k_one, k_scale = len(coefs), len(coefs) + 1, len(coefs) + 2, len(coefs) + 3
    outputs = []  # (row, column, scale index)
    col = 0
    for o, l in enumerate(ls):
        outputs += [(l * l + e, col + e, k_scale + o) for e in range(2 * l + 1)]
        col += 2 * l + 1
    n_out, T = col, TILE
    emit = SourceWriter()

    def load_tile():  # the tile's vectors component-major in X (normalized) and their norms in R
        emit(2, "m = min(T, n1 - s)")
        emit(2, "for i in range(m):")
        emit(3, "x0, x1, x2 = x[s + i, 0], x[s + i, 1], x[s + i, 2]")
        emit(3, f"r = max(np.sqrt(x0 * x0 + x1 * x1 + x2 * x2), c[{k_eps}]) if normalize else one")
        emit(3, "inv = one / r")
        emit(3, "R[i] = r")
        emit(3, f"X[i], X[{T} + i], X[{2 * T} + i] = x0 * inv, x1 * inv, x2 * inv")

    def harmonics():  # inside the loop over i: every harmonic up to lmax as a local y{row}
        emit(3, f"x0, x1, x2 = X[i], X[{T} + i], X[{2 * T} + i]")
        emit(3, "y0 = one")
        if lmax >= 1:
            for j in range(3):
                emit(3, f"y{1 + j} = c[{k_sqrt3}] * x{j}")
        for target, terms in steps:
            emit(3, f"y{target} = " + " + ".join(f"c[{q}] * y{i} * x{j}" for i, j, q in terms))

    def header(name, args):
        emit(0, "@_jit")
        emit(0, f"def {name}({args}):")
        emit(1, f"c, T = coef.astype(x.dtype), {T}")
        emit(1, f"one, zero = c[{k_one}], c[{k_one}] - c[{k_one}]")
        emit(1, f"X, R, Y = np.empty({3 * T}, x.dtype), np.empty({T}, x.dtype), np.empty({n_out * T}, x.dtype)")
        emit(1, "for s in range(n0, n1, T):")
        load_tile()

    header("forward", "n0, n1, out, x, normalize, coef")
    emit(2, "for i in range(m):")  # one vectorized loop over the tile
    harmonics()
    if n_out <= 4:  # l <= 1: a few columns, stored in place
        for row, column, q in outputs:
            emit(3, f"out[s + i, {column}] = c[{q}] * y{row}")
    else:  # into the tile, then out row by row
        for row, column, q in outputs:
            emit(3, f"Y[{column * T} + i] = c[{q}] * y{row}")
        emit(2, "for i in range(m):")
        for _, column, _ in outputs:
            emit(3, f"out[s + i, {column}] = Y[{column * T} + i]")
    emit(0, "")
    emit(0, "")
    header("backward", "n0, n1, gx, grad, x, normalize, coef")
    emit(2, "for i in range(m):")
    for _, column, _ in outputs:
        emit(3, f"Y[{column * T} + i] = grad[s + i, {column}]")
    emit(2, "for i in range(m):")  # the adjoint, vectorized over the tile; X then holds dx
    harmonics()
    for row in range((lmax + 1) ** 2):
        emit(3, f"g{row} = zero")
    for row, column, q in outputs:
        emit(3, f"g{row} += c[{q}] * Y[{column * T} + i]")
    emit(3, "h0, h1, h2 = zero, zero, zero")
    for target, terms in reversed(steps):
        for i, j, q in terms:
            emit(3, f"g{i} += c[{q}] * g{target} * x{j}")
            emit(3, f"h{j} += c[{q}] * g{target} * y{i}")
    if lmax >= 1:
        for j in range(3):
            emit(3, f"h{j} += c[{k_sqrt3}] * g{1 + j}")
    emit(3, "r = R[i]")
    emit(3, f"dot = x0 * h0 + x1 * h1 + x2 * h2 if normalize and r > c[{k_eps}] else zero  # clamped: g / eps")
    for j in range(3):
        emit(3, f"X[{j * T} + i] = (h{j} - x{j} * dot) / r")
    emit(2, "for i in range(m):")
    for j in range(3):
        emit(3, f"gx[s + i, {j}] = X[{j * T} + i]")
    return "\n".join(emit.lines) + "\n"


def coefficients(ls: tuple, scales: tuple) -> np.ndarray:
    """The constants the generated loops read: recurrence, sqrt(3), eps, 1, then the scales."""
    from symmetries.o3._spherical_numba import EPS

    _, coefs = _statements(max(ls))
    return np.asarray(coefs + [math.sqrt(3.0), EPS, 1.0] + list(scales), dtype=np.float64)


@lru_cache(maxsize=None)
def harmonics_kernels(ls: tuple, scales: tuple):
    """``(forward, backward, coefficients)`` generated for ``ls`` and ``scales``."""
    module = compiled_module(harmonics_source(ls, scales))
    return module.forward, module.backward, coefficients(ls, scales)
