"""Real orthogonal irreducible representations of C_n, D_n, SO(2), O(2), SO(3), O(3)."""

from __future__ import annotations

import math

import torch

from symmetries.groups import SO, Cyclic, Dihedral, Group, O
from symmetries.reps._basic import flip_matrices, rotation_matrices
from symmetries.reps._rep import Rep, float_dtype
from symmetries.reps.so3 import so3_generators, wigner_D_from_matrix


class IrreducibleRep(Rep):
    """An irreducible representation, named by the group and an index tuple; build one with
    :func:`irrep`.

    Args:
        group: the group.
        index: the index tuple (see :func:`irrep`); two irreps with the same group and
            index are equal.
        dim: its dimension.
    """

    def __init__(self, group: Group, index: tuple, dim: int):
        self.group, self.index, self.dim = group, tuple(index), dim

    def _key(self):
        return (self.group, self.index)

    @property
    def name(self) -> str:
        """A short readable name (``1o`` for O(3), ``l=2`` for SO(3), ``k=1`` for a planar frequency)."""
        return ", ".join(map(str, self.index))

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"irrep({self.group!r}, {self.name})"


class _PlanarIrrep(IrreducibleRep):
    r"""Irreps of the planar groups: frequency ``k`` acts as rotation by :math:`k\theta`.

    ``flip`` is ``None`` for rotation-only groups, else the reflection type ``j``: 2-d irreps
    send the reflection to :math:`\mathrm{diag}(1, -1)`; 1-d irreps send it to
    :math:`(-1)^j`.
    """

    def __init__(self, group, index, k, flip):
        self.k, self.flip = k, flip
        self.one_dim = k == 0 or (isinstance(group, (Cyclic, Dihedral)) and 2 * k == group.n)
        super().__init__(group, index, 1 if self.one_dim else 2)

    def _angle_and_reflection(self, g):
        G = self.group
        if isinstance(G, Cyclic):
            return G.angle(g), None
        if isinstance(G, Dihedral):
            return g[:, 0].double() * (2 * math.pi / G.n), g[:, 1]
        s = (torch.linalg.det(g) < 0).long() if self.flip is not None else None
        r = g @ flip_matrices(s).to(g) if s is not None else g  # g = R(theta) F^s
        return torch.atan2(r[:, 1, 0], r[:, 0, 0]), s

    def __call__(self, g):
        theta, s = self._angle_and_reflection(g)
        dtype = float_dtype(g)
        if self.one_dim:
            value = torch.cos(self.k * theta)  # +-1 or 1
            if s is not None:
                value = value * (1 - 2 * s.double()) ** self.flip
            return value.to(dtype)[:, None, None]
        mats = rotation_matrices(self.k * theta)
        if s is not None:
            mats = mats @ flip_matrices(s).to(mats)
        return mats.to(dtype)

    @property
    def name(self) -> str:
        """``k=<frequency>``; a one-dimensional irrep of a group with reflections adds how it
        sends a reflection, ``+`` (to 1) or ``-`` (to -1)."""
        if self.one_dim and self.flip is not None:
            return f"k={self.k}{'+-'[self.flip]}"
        return f"k={self.k}"

    def drep(self, A):
        if self.one_dim or not isinstance(self.group, SO | O):
            return A.new_zeros(A.shape[0], self.dim, self.dim)
        J = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=A.dtype, device=A.device)
        return self.k * A[:, 1, 0, None, None] * J


class _SO3Irrep(IrreducibleRep):
    r"""Wigner :math:`D^l` (real basis, e3nn convention); for O(3) with parity ``p``:
    :math:`\rho(R) = p^{(1-\det R)/2} D^l(R \det R)`."""

    def __init__(self, group, l, p=None):
        self.l, self.p = l, p
        super().__init__(group, (l,) if p is None else (l, p), 2 * l + 1)

    def __call__(self, g):
        if self.p is None:
            return wigner_D_from_matrix(self.l, g)
        det = torch.linalg.det(g).sign()
        D = wigner_D_from_matrix(self.l, g * det[:, None, None])
        sign = torch.where(det < 0, float(self.p), 1.0).to(g)
        return D * sign[:, None, None]

    def drep(self, A):
        X = so3_generators(self.l).to(dtype=A.dtype, device=A.device)
        c = torch.stack([A[:, 2, 1], A[:, 0, 2], A[:, 1, 0]], -1)
        return torch.einsum("ma,aij->mij", c, X)

    @property
    def name(self) -> str:
        """e3nn's name for O(3) irreps (``0e``, ``1o``, ``2e``); ``l=<degree>`` for SO(3)."""
        return f"l={self.l}" if self.p is None else f"{self.l}{'e' if self.p == 1 else 'o'}"

    def __repr__(self):
        return f"irrep(SO3(), {self.l})" if self.p is None else f"irrep(O3(), {self.name})"


def irrep(group: Group, *index) -> Rep:
    r"""The irreducible representation of ``group`` with the given index.

    ========================  ==================================================================
    ``Cyclic(n)``             ``k`` in ``0..n//2``: rotation by :math:`2\pi k j/n`
    ``Dihedral(n)``           ``(j, k)``: ``(0, 0)`` trivial, ``(1, 0)`` reflection sign; for
                              even ``n`` also ``(0, n/2)``, ``(1, n/2)``; 2-d ``(1, k)``, ``0<k<n/2``
    ``SO2()``                 ``k >= 0``: rotation by :math:`k\theta`
    ``O2()``                  ``(0, 0)``, ``(1, 0)`` (determinant), 2-d ``(1, k)``, ``k >= 1``
    ``SO3()``                 ``l >= 0``: Wigner :math:`D^l`
    ``O3()``                  ``(l, p)`` with parity ``p = +1`` (even) or ``-1`` (odd)
    ========================  ==================================================================

    For O(3), :math:`\rho(R) = p^{(1-\det R)/2} D^l(R \det R)`.

    Args:
        group: one of the groups above.
        *index: the integer index of the irrep, as in the table.

    Returns:
        An :class:`IrreducibleRep`; an index not in the table raises ``ValueError``.
    """
    kind = f"irrep({group!r}, {', '.join(map(repr, index))})"
    ints = [int(i) for i in index] if all(isinstance(i, int) for i in index) else None
    if ints is None:
        raise ValueError(f"{kind}: irrep indices are integers")
    if isinstance(group, Cyclic) and len(ints) == 1 and 0 <= ints[0] <= group.n // 2:
        return _PlanarIrrep(group, ints, ints[0], None)
    if isinstance(group, (Dihedral, O)) and (isinstance(group, Dihedral) or group.n == 2) and len(ints) == 2:
        j, k = ints
        top = group.n // 2 if isinstance(group, Dihedral) else math.inf
        one_dim = k == 0 or (isinstance(group, Dihedral) and 2 * k == group.n)
        if j in (0, 1) and 0 <= k <= top and (one_dim or j == 1):
            return _PlanarIrrep(group, ints, k, j)
    if isinstance(group, SO) and group.n == 2 and len(ints) == 1 and ints[0] >= 0:
        return _PlanarIrrep(group, ints, ints[0], None)
    if isinstance(group, SO) and group.n == 3 and len(ints) == 1 and ints[0] >= 0:
        return _SO3Irrep(group, ints[0])
    if isinstance(group, O) and not isinstance(group, SO) and group.n == 3 and len(ints) == 2:
        if ints[0] >= 0 and ints[1] in (1, -1):
            return _SO3Irrep(group, ints[0], ints[1])
    raise ValueError(f"{kind} is not an irrep index; see help(symmetries.reps.irrep) for the valid ones")


def irreps(group: Group, max_index: int) -> list[Rep]:
    """All irreps of ``group``, in the order of the :func:`irrep` table.

    Args:
        group: ``Cyclic``, ``Dihedral``, ``SO2``, ``O2``, ``SO3`` or ``O3`` (others raise
            ``NotImplementedError``).
        max_index: for the continuous groups, the largest frequency / degree; ignored for
            the finite ones.

    Returns:
        A list of :class:`IrreducibleRep`.
    """
    if isinstance(group, Cyclic):
        return [irrep(group, k) for k in range(group.n // 2 + 1)]
    if isinstance(group, Dihedral):
        out = [irrep(group, 0, 0), irrep(group, 1, 0)]
        out += [irrep(group, 1, k) for k in range(1, (group.n + 1) // 2)]
        if group.n % 2 == 0:
            out += [irrep(group, 0, group.n // 2), irrep(group, 1, group.n // 2)]
        return out
    if isinstance(group, SO) and group.n in (2, 3):
        return [irrep(group, k) for k in range(max_index + 1)]
    if isinstance(group, O) and group.n == 2:
        return [irrep(group, 0, 0), irrep(group, 1, 0)] + [irrep(group, 1, k) for k in range(1, max_index + 1)]
    if isinstance(group, O) and group.n == 3:
        return [irrep(group, l, p) for l in range(max_index + 1) for p in (1, -1)]
    raise NotImplementedError(f"the irreps of {group!r} are not tabulated")
