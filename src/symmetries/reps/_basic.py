"""Trivial, standard (defining), permutation and regular representations."""

from __future__ import annotations

import torch

from symmetries.groups import Cyclic, DirectProduct, Dihedral, Group, MatrixGroup, Symmetric
from symmetries.reps._rep import Rep, device_of, float_dtype, permutation_matrices


class TrivialRep(Rep):
    """The trivial representation :math:`\\rho(g) = 1` on a one-dimensional space.

    Args:
        group: the group.
    """

    is_permutation = True

    def __init__(self, group: Group):
        self.group, self.dim = group, 1

    def _key(self):
        return (self.group,)

    def __call__(self, g):
        n = self.group.batch_size(g)
        return torch.ones(n, 1, 1, dtype=float_dtype(g), device=device_of(g))

    def drep(self, A):
        return A.new_zeros(A.shape[0], 1, 1)

    def permutation(self, g):
        return torch.zeros(self.group.batch_size(g), 1, dtype=torch.long, device=device_of(g))

    def __repr__(self):
        return f"trivial({self.group!r})"


class StandardRep(Rep):
    r"""The defining representation.

    Matrix groups: :math:`\rho(g) = g`. ``Cyclic(n)`` and ``Dihedral(n)``: rotations (and the
    reflection across the x axis) of the plane,

    .. math::
        \rho(r^k f^s) = \begin{pmatrix} \cos\theta_k & -\sin\theta_k \\
        \sin\theta_k & \cos\theta_k \end{pmatrix}
        \begin{pmatrix} 1 & 0 \\ 0 & (-1)^s \end{pmatrix}, \qquad \theta_k = 2\pi k/n.

    ``Symmetric(n)``: the ``n x n`` permutation matrices. ``DirectProduct(G, H)``: the
    direct sum of both factors' standard reps, each factor acting on its own block.

    Args:
        group: a matrix group, ``Cyclic``, ``Dihedral``, ``Symmetric``, or a direct product
            of those; any other group raises ``TypeError``.
    """

    def __init__(self, group: Group):
        self.group = group
        if isinstance(group, MatrixGroup):
            self.dim = group.d
            self.is_orthogonal = bool(group.compact)
        elif isinstance(group, (Cyclic, Dihedral)):
            self.dim = 2
        elif isinstance(group, Symmetric):
            self.dim, self.is_permutation = group.n, True
        elif isinstance(group, DirectProduct):
            a, b = StandardRep(group.G), StandardRep(group.H)
            self._parts = (a, b)
            self.dim = a.dim + b.dim
            self.is_orthogonal = a.is_orthogonal and b.is_orthogonal
        else:
            raise TypeError(f"no standard representation is defined for {group!r}")

    def _key(self):
        return (self.group,)

    def __repr__(self):
        return f"standard({self.group!r})"

    def __call__(self, g):
        G = self.group
        if isinstance(G, MatrixGroup):
            return g
        if isinstance(G, Symmetric):
            return permutation_matrices(g)
        if isinstance(G, Cyclic):
            return rotation_matrices(G.angle(g))
        if isinstance(G, Dihedral):
            rot = rotation_matrices(g[:, 0].double() * (2 * torch.pi / G.n))
            return rot @ flip_matrices(g[:, 1])
        from symmetries.reps._rep import block_diag

        return block_diag([self._parts[0](g[0]), self._parts[1](g[1])])

    def drep(self, A):
        G = self.group
        if isinstance(G, MatrixGroup):
            return A
        if isinstance(G, DirectProduct):
            from symmetries.reps._rep import block_diag

            a, b = G.split_lie(A)
            pa = self._parts[0].drep(a) if a.shape[-1] else a.new_zeros(len(A), self._parts[0].dim, self._parts[0].dim)
            pb = self._parts[1].drep(b) if b.shape[-1] else b.new_zeros(len(A), self._parts[1].dim, self._parts[1].dim)
            return block_diag([pa, pb])
        return A.new_zeros(A.shape[0], self.dim, self.dim)

    def permutation(self, g):
        if not self.is_permutation:
            return super().permutation(g)
        return g


def rotation_matrices(theta: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(theta), torch.sin(theta)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def flip_matrices(s: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(s.shape[0], 2, 2, dtype=torch.float64, device=s.device)
    out[:, 0, 0] = 1.0
    out[:, 1, 1] = 1.0 - 2.0 * s.double()
    return out


class PermutationRep(Rep):
    r"""A permutation representation: :math:`\rho(g) e_i = e_{p[i]}`.

    Args:
        group: the group.
        dim: the number ``d`` of points permuted.
        permute: ``permute(g)`` maps a batch of ``n`` elements to the ``(n, d)`` long
            permutations :math:`p`.
        name: identifies the rep: two permutation reps with the same group, ``dim`` and
            name are equal.
    """

    is_permutation = True

    def __init__(self, group: Group, dim: int, permute, name: str):
        self.group, self.dim, self._permute, self.name = group, int(dim), permute, name

    def _key(self):
        return (self.group, self.dim, self.name)

    def __repr__(self):
        return f"{self.name}({self.group!r})"

    def permutation(self, g):
        return self._permute(g)

    def __call__(self, g):
        return permutation_matrices(self._permute(g), float_dtype(g))

    def drep(self, A):
        return A.new_zeros(A.shape[0], self.dim, self.dim)


def regular(group: Group) -> Rep:
    r"""The regular representation of a finite group,

    .. math::
        \rho(g) e_h = e_{gh} \quad \text{on } \mathbb{R}^{|G|},

    basis ordered as ``group.elements()``.

    Args:
        group: a finite group (else ``TypeError``).

    Returns:
        A :class:`PermutationRep` of dimension ``group.order``, named ``"regular"``.
    """
    if not group.order:
        raise TypeError(f"the regular representation needs a finite group, got {group!r}")
    table = _cayley_index(group)

    def permute(g):
        els = group.elements()
        n = group.batch_size(g)
        out = torch.empty(n, group.order, dtype=torch.long)
        for i in range(n):
            gi = group.select(g, i)
            prod = group.compose(_expand(gi, group.order), els)
            out[i] = table(prod)
        return out.to(device_of(g))

    return PermutationRep(group, group.order, permute, "regular")


def _expand(g, n):
    if isinstance(g, tuple):
        return tuple(_expand(x, n) for x in g)
    return g.expand(n, *g.shape[1:])


def _cayley_index(group: Group):
    """A function mapping an element batch to its indices in ``group.elements()``."""
    els = group.elements()

    def flat(x):
        if isinstance(x, tuple):
            return torch.cat([flat(t) for t in x], 1)
        return x.reshape(x.shape[0], -1).long().cpu()

    keys = {tuple(row): i for i, row in enumerate(flat(els).tolist())}

    def index(g):
        return torch.tensor([keys[tuple(row)] for row in flat(g).tolist()], dtype=torch.long)

    return index
