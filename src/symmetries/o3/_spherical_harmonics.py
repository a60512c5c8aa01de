r"""Real spherical harmonics in e3nn 0.6 conventions (y is the polar axis).

Each :math:`Y^l` is a homogeneous harmonic polynomial of degree l, computed by the
recurrence :math:`Y^l(x) = c_l \, [Y^{l-1}(x) \otimes x]_l`, the degree-l part of the
product of :math:`Y^{l-1}` with the vector: :math:`Y^l_k = c_l \sum_{ij} C^{l-1,1,l}_{ijk}
Y^{l-1}_i x_j`. The constant :math:`c_l` makes :math:`Y^l(e_y) = \sqrt{2l+1}\, e_{m=0}`
(component normalization, :math:`|Y^l(x)|^2 = 2l+1` on the unit sphere). The 3j symbol is
sparse (about 5 terms per component), so each component is a few fused multiply-adds on
contiguous batch vectors; with numba installed the same recurrence runs as one compiled
loop on the CPU (:mod:`._spherical_numba`).
"""

from __future__ import annotations

import functools
import math

import torch

from symmetries._internal.compiled import available as compiled_available
from symmetries.o3._irreps import Irreps
from symmetries.o3._wigner import wigner_3j

_NORMALIZATIONS = ("integral", "component", "norm")


@functools.lru_cache(maxsize=None)
def step_terms(l: int) -> tuple:
    r"""For each component k of :math:`Y^l`: the nonzero terms ``(i, j, c)`` of
    :math:`Y^l_k = \sum c \, Y^{l-1}_i x_j` (about 5 per component: the 3j symbol is sparse)."""
    C = wigner_3j(l - 1, 1, l)
    c = math.sqrt(2 * l + 1) / (math.sqrt(2 * l - 1) * float(C[l - 1, 1, l]))
    return tuple(
        tuple((i, j, c * float(C[i, j, k])) for i in range(2 * l - 1) for j in range(3) if C[i, j, k] != 0)
        for k in range(2 * l + 1)
    )


def _parse_ls(ls) -> list[int]:
    if isinstance(ls, int) and not isinstance(ls, bool):
        ls = [ls]
    if isinstance(ls, (str, Irreps)):
        irreps = Irreps(ls)
        out = [ir.l for mul, ir in irreps for _ in range(mul)]
        vector = all(ir.p == (-1) ** ir.l for _, ir in irreps)
        pseudo = all(ir.p == 1 for _, ir in irreps)
        if not (vector or pseudo):
            raise ValueError(f"spherical harmonics of a vector have parity (-1)^l (of a pseudovector +1); "
                             f"irreps {irreps} mix them")
        return out
    out = list(ls)
    if not out or not all(isinstance(l, int) and not isinstance(l, bool) and l >= 0 for l in out):
        raise ValueError(f"ls must be an int >= 0, a list of them or an Irreps, got {ls!r}")
    return out


def spherical_harmonics(ls, vectors: torch.Tensor, normalize: bool, normalization: str = "integral") -> torch.Tensor:
    r"""Spherical harmonics :math:`Y^l(x)` of vectors, for each l in ``ls``, concatenated;
    equivariant:

    .. math::
        Y^l(Rx) = D^l(R)\, Y^l(x).

    Args:
        ls: an int, a list of ints, or irreps like ``"0e + 1o + 2e"`` (all of parity
            :math:`(-1)^l`, or all ``e``).
        vectors: the vectors :math:`x`, floating point.
        normalize: evaluate on :math:`x / |x|`; otherwise :math:`Y^l` is the degree-l
            polynomial :math:`|x|^l Y^l(\hat x)`.
        normalization: ``"integral"`` (default, :math:`\int_{S^2} (Y^l_m)^2 = 1`, i.e.
            component over :math:`\sqrt{4\pi}`), ``"component"`` (:math:`|Y^l|^2 = 2l+1` on
            the sphere) or ``"norm"`` (:math:`|Y^l| = 1`).

    Returns:
        The harmonics, the degrees in the order of ``ls``.

    Shapes:
        - **input:** vectors ``(..., 3)``
        - **output:** ``(..., sum(2l+1))``
    """
    ls = _parse_ls(ls)
    if normalization not in _NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {_NORMALIZATIONS}, got {normalization!r}")
    if not torch.is_tensor(vectors) or vectors.dim() == 0 or vectors.shape[-1] != 3:
        shape = tuple(vectors.shape) if torch.is_tensor(vectors) else type(vectors).__name__
        raise ValueError(f"spherical_harmonics expects vectors of shape (..., 3), got {shape}")
    if not vectors.is_floating_point():
        raise TypeError(f"spherical_harmonics expects floating point vectors, got {vectors.dtype}")
    batch = vectors.shape[:-1]
    x = vectors.reshape(-1, 3)
    ls = tuple(ls)
    scales = tuple(_scale(l, normalization) for l in ls)
    if compiled_available(x) and not torch.compiler.is_compiling():
        from symmetries.o3._spherical_numba import CompiledSphericalHarmonics

        out = CompiledSphericalHarmonics.apply(x, normalize, ls, scales)
    else:
        out = harmonics_reference(x, normalize, ls, scales)
    return out.reshape(batch + (out.shape[-1],))


def _scale(l: int, normalization: str) -> float:
    """Factor from 'component' normalization to ``normalization`` for degree ``l``."""
    return {"component": 1.0, "integral": (4 * math.pi) ** -0.5, "norm": (2 * l + 1) ** -0.5}[normalization]


def harmonics_reference(x: torch.Tensor, normalize: bool, ls: tuple, scales: tuple) -> torch.Tensor:
    """The recurrence in PyTorch operations: ``x (N, 3)`` -> ``(N, sum(2l+1))``."""
    if normalize:
        x = torch.nn.functional.normalize(x, dim=-1)
    lmax = max(ls)
    # component-major: each row is a contiguous vector over the batch
    xyz = x.T.contiguous().unbind(0)
    rows = [[torch.ones_like(xyz[0])]]
    if lmax >= 1:
        rows.append([math.sqrt(3) * t for t in xyz])
    for l in range(2, lmax + 1):
        prev, new = rows[-1], []
        for terms in step_terms(l):
            (i, j, c), rest = terms[0], terms[1:]
            acc = prev[i] * xyz[j] * c
            for i, j, c in rest:
                acc = torch.addcmul(acc, prev[i], xyz[j], value=c)
            new.append(acc)
        rows.append(new)
    out = torch.stack([r for l in ls for r in rows[l]], dim=-1)
    if len(set(scales)) == 1:
        return out * scales[0] if scales[0] != 1.0 else out
    column = [scale for l, scale in zip(ls, scales) for _ in range(2 * l + 1)]
    return out * torch.tensor(column, dtype=out.dtype, device=out.device)
