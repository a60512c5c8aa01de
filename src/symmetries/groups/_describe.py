"""Readable descriptions of single group elements: an angle and an axis, a reflection, a
translation, a permutation in cycle notation, a boost."""

from __future__ import annotations

import math

import numpy as np
import torch


def _vector(v, digits: int = 3) -> str:
    return "(" + ", ".join(f"{float(x):.{digits}g}" for x in v) + ")"


def orthogonal(q: torch.Tensor) -> str:
    r"""An orthogonal matrix ``(n, n)``: ``rotation by 120 deg about (0.577, 0.577, 0.577)``, with
    ``then inversion`` (3D, :math:`\det = -1`: :math:`Q = -R`) or ``after a reflection across
    the x axis`` (2D); in higher dimensions the rotation angles of its invariant planes."""
    q = q.detach().double().cpu()
    n, det = q.shape[-1], float(torch.linalg.det(q))
    if n == 1:
        return "identity" if det > 0 else "reflection x -> -x"
    if n == 2:
        r = q @ torch.diag(torch.tensor([1.0, -1.0], dtype=q.dtype)) if det < 0 else q  # q = R F^s
        angle = math.degrees(math.atan2(float(r[1, 0]), float(r[0, 0])))
        return f"rotation by {angle:.4g} deg" + (" after a reflection across the x axis" if det < 0 else "")
    if n == 3:
        from scipy.spatial.transform import Rotation

        rotvec = Rotation.from_matrix((q * (1.0 if det > 0 else -1.0)).numpy()).as_rotvec()
        angle = float(np.linalg.norm(rotvec))
        text = "identity rotation" if angle < 1e-12 else \
            f"rotation by {math.degrees(angle):.4g} deg about {_vector(rotvec / angle)}"
        return text + (", then inversion x -> -x" if det < 0 else "")
    angles = torch.linalg.eigvals(q).angle().abs().rad2deg()  # +-theta per invariant plane, 180 per -1
    kept = sorted({round(float(a), 3) for a in angles if a > 1e-6})
    return f"orthogonal, det {det:+.0f}, rotation angles {', '.join(f'{a:g}' for a in kept) or 'none'} deg"


def euclidean(g: torch.Tensor) -> str:
    """A homogeneous ``(n+1, n+1)`` matrix: its orthogonal part, then its translation."""
    return f"{orthogonal(g[:-1, :-1])}, then translation by {_vector(g[:-1, -1].detach().cpu())}"


def cycles(p: torch.Tensor) -> str:
    """A permutation ``i -> p[i]`` in cycle notation, fixed points left out: ``(0 2 1)(3 4)``."""
    p = [int(i) for i in p]
    seen, out = set(), []
    for start in range(len(p)):
        if start in seen or p[start] == start:
            continue
        cycle, i = [], start
        while i not in seen:
            seen.add(i)
            cycle.append(i)
            i = p[i]
        out.append("(" + " ".join(map(str, cycle)) + ")")
    return "".join(out) or "identity"


def lorentz(g: torch.Tensor) -> str:
    r"""A Lorentz transformation: its boost :math:`\gamma = \Lambda^0{}_0` and velocity
    :math:`v = \Lambda^i{}_0 / \Lambda^0{}_0` (units of c), and parity / time reversal."""
    g = g.detach().double().cpu()
    gamma = float(g[0, 0])
    parts = [f"boost gamma {abs(gamma):.4g}, velocity {_vector(g[1:, 0] / gamma)} c"]
    if float(torch.linalg.det(g[1:, 1:])) * (1 if gamma > 0 else -1) < 0:
        parts.append("with parity")
    if gamma < 0:
        parts.append("with time reversal")
    return ", ".join(parts)


def matrix(g: torch.Tensor) -> str:
    """Any matrix, rounded: ``[[1, 0], [0, -1]]``."""
    return str([[float(f"{float(x):.3g}") for x in row] for row in g.detach().cpu()])
