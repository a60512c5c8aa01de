r"""Spherical harmonics on the CPU as one compiled loop (numba, optional).

The same recurrence as :func:`~symmetries.o3.spherical_harmonics`,
:math:`Y^l_k = \sum_{(i, j, c)} c\, Y^{l-1}_i x_j`, run on tiles of :data:`TILE` vectors
held component-major in cache: every term is one unit-stride multiply-add over the tile,
and nothing but the requested output reaches memory. The backward pass recomputes the
tile and runs the recurrence in reverse (adjoint), two multiply-adds per term:

.. math::

    \bar Y^{l-1}_i \mathrel{+}= c\, \bar Y^l_k\, x_j, \qquad \bar x_j \mathrel{+}= c\, \bar Y^l_k\, Y^{l-1}_i .

For batches of :data:`~._spherical_generated.MIN_BATCH` vectors or more and degrees up to
:data:`~._spherical_generated.MAX_L`, loops generated for the requested degrees run instead
(:mod:`._spherical_generated`). Second derivatives (training on forces) go through the
PyTorch formulation. This module imports numba: :func:`~symmetries.o3.spherical_harmonics`
imports it on first use, where numba is installed.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from symmetries._internal.compiled import jit, ranges, run
from symmetries.o3 import _spherical_generated as generated
from symmetries.o3._spherical_harmonics import harmonics_reference, step_terms

#: vectors per tile: long unit-stride rows, and (l_max + 1)^2 of them stay in cache
TILE = 64
#: smallest norm a vector is divided by (torch.nn.functional.normalize's default)
EPS = 1e-12


@lru_cache(maxsize=None)
def _tables(ls: tuple, scales: tuple):
    """Terms of every step ``l = 2 .. l_max`` as ``(source row, j, target row, c)`` with rows
    ``l^2 + m``; and per requested ``l``: its first row, width, first output column, scale."""
    terms = [((l - 1) ** 2 + i, j, l * l + k, c) for l in range(2, max(ls) + 1)
             for k, comp in enumerate(step_terms(l)) for i, j, c in comp]
    src, xj, dst, coef = zip(*terms) if terms else ((), (), (), ())
    outs, col = [], 0
    for l in ls:
        outs.append((l * l, 2 * l + 1, col))
        col += 2 * l + 1
    ints = lambda v: np.asarray(v, dtype=np.int64).reshape(-1)  # noqa: E731
    return ints(src), ints(xj), ints(dst), np.asarray(coef, dtype=np.float64), ints(outs).reshape(-1, 3), \
        np.asarray(scales, dtype=np.float64)


@jit(inline="always")
def _tile(x, n0, m, normalize, lmax, src, xj, dst, coef, X, R, Y):  # pragma: no cover - compiled
    """``X[j, t]`` = vectors ``n0 + t`` (divided by their norm ``R[t]`` if ``normalize``, as
    ``torch.nn.functional.normalize``: by at least ``EPS``); ``Y[row, t]`` = all harmonics up to ``lmax``."""
    for t in range(m):
        r = 1.0
        if normalize:
            r = max(math.sqrt(x[n0 + t, 0] ** 2 + x[n0 + t, 1] ** 2 + x[n0 + t, 2] ** 2), EPS)
        R[t] = r
        inv = 1.0 / r
        for j in range(3):
            X[j, t] = x[n0 + t, j] * inv
    Y[:, :m] = 0.0
    for t in range(m):
        Y[0, t] = 1.0
    if lmax >= 1:
        s3 = math.sqrt(3.0)
        for j in range(3):
            for t in range(m):
                Y[1 + j, t] = s3 * X[j, t]
    for q in range(src.shape[0]):
        a, b, d, c = src[q], xj[q], dst[q], coef[q]
        for t in range(m):
            Y[d, t] += c * Y[a, t] * X[b, t]

@jit()
def _forward(n0, n1, out, x, normalize, lmax, src, xj, dst, coef, outs, scales):  # pragma: no cover - compiled
    dt = x.dtype
    X, R, Y = np.empty((3, TILE), dt), np.empty(TILE, dt), np.empty(((lmax + 1) ** 2, TILE), dt)
    c = coef.astype(dt)
    for s in range(n0, n1, TILE):
        m = min(TILE, n1 - s)
        _tile(x, s, m, normalize, lmax, src, xj, dst, c, X, R, Y)
        for o in range(outs.shape[0]):
            row, width, col, scale = outs[o, 0], outs[o, 1], outs[o, 2], scales[o]
            for t in range(m):
                for e in range(width):
                    out[s + t, col + e] = scale * Y[row + e, t]

@jit()
def _backward(n0, n1, gx, grad, x, normalize, lmax, src, xj, dst, coef, outs, scales):  # pragma: no cover
    dt = x.dtype
    X, R, Y = np.empty((3, TILE), dt), np.empty(TILE, dt), np.empty(((lmax + 1) ** 2, TILE), dt)
    gX, gY = np.empty((3, TILE), dt), np.empty(((lmax + 1) ** 2, TILE), dt)
    c = coef.astype(dt)
    for s in range(n0, n1, TILE):
        m = min(TILE, n1 - s)
        _tile(x, s, m, normalize, lmax, src, xj, dst, c, X, R, Y)
        gY[:, :m] = 0.0
        gX[:, :m] = 0.0
        for o in range(outs.shape[0]):
            row, width, col, scale = outs[o, 0], outs[o, 1], outs[o, 2], scales[o]
            for t in range(m):
                for e in range(width):
                    gY[row + e, t] += scale * grad[s + t, col + e]
        for q in range(src.shape[0] - 1, -1, -1):
            a, b, d, cq = src[q], xj[q], dst[q], c[q]
            for t in range(m):
                g = cq * gY[d, t]
                gY[a, t] += g * X[b, t]
                gX[b, t] += g * Y[a, t]
        if lmax >= 1:
            s3 = math.sqrt(3.0)
            for j in range(3):
                for t in range(m):
                    gX[j, t] += s3 * gY[1 + j, t]
        for t in range(m):  # through the normalization: (g - x (x . g)) / |x| (plain g / EPS if clamped)
            dot = 0.0
            if normalize and R[t] > EPS:
                dot = X[0, t] * gX[0, t] + X[1, t] * gX[1, t] + X[2, t] * gX[2, t]
            for j in range(3):
                gx[s + t, j] = (gX[j, t] - X[j, t] * dot) / R[t]


class CompiledSphericalHarmonics(torch.autograd.Function):
    """``x (N, 3)`` -> ``(N, sum over ls of 2l+1)``, of ``x / |x|`` if ``normalize``, each degree
    times its ``scales`` entry. CPU tensors."""

    @staticmethod
    def forward(ctx, x, normalize: bool, ls: tuple, scales: tuple):
        xc = x.detach().contiguous()
        out = x.new_empty(x.shape[0], sum(2 * l + 1 for l in ls))
        if generated.worth_generating(ls, x.shape[0]):  # loops generated for these degrees
            forward, backward, coef = generated.harmonics_kernels(ls, scales)
            tail = (bool(normalize), coef)
        else:  # the table-driven loops above
            forward, backward = _forward, _backward
            tail = (bool(normalize), max(ls), *_tables(ls, scales))
        run(forward, [(n0, n1, out.numpy(), xc.numpy(), *tail) for n0, n1 in ranges(x.shape[0], TILE)])
        ctx.save_for_backward(x)
        ctx.normalize, ctx.ls, ctx.scales, ctx.loop = bool(normalize), ls, scales, (backward, tail)
        return out

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: a second derivative will follow
            with torch.enable_grad():  # through the PyTorch recurrence
                y = harmonics_reference(x, ctx.normalize, ctx.ls, ctx.scales)
                if not y.requires_grad:  # only l = 0: a constant
                    return torch.zeros_like(x), None, None, None
                (gx,) = torch.autograd.grad(y, x, grad, create_graph=True)
            return gx, None, None, None
        gx = torch.empty_like(x)
        backward, tail = ctx.loop
        args = (gx.numpy(), grad.detach().contiguous().numpy(), x.detach().contiguous().numpy(), *tail)
        run(backward, [(n0, n1, *args) for n0, n1 in ranges(x.shape[0], TILE)])
        return gx, None, None, None
