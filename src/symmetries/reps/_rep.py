"""The representation algebra: ``Rep`` and its sums, tensor products and duals."""

from __future__ import annotations

import math

import torch

from symmetries.groups import Group
from symmetries.groups import check_same_group


class Rep:
    r"""A real linear representation :math:`\rho: G \to GL(d)`,

    .. math::
        \rho(ab) = \rho(a)\rho(b).

    ``rep(g)`` gives the matrices of a batch of group elements; ``rep.drep(A)`` the
    Lie-algebra representation :math:`d\rho(A)` of Lie-algebra elements (in the group's
    defining coordinates).

    Algebra: ``a + b`` (direct sum), ``a * b`` (tensor product), ``k * a`` (multiplicity),
    ``a ** k`` (tensor power), ``a.dual()`` (:math:`\rho(g^{-1})^T`).

    A rep is also an Action on tensors ``(..., d)``: ``rep.act(g, x) = x @ rho(g)^T``, with
    ``g`` a batch of one element (applied to all of ``x``) or of ``x.shape[0]`` elements
    (one per sample).

    Shapes:
        - **rep(g):** ``n`` elements -> ``(n, d, d)``
        - **drep(A):** ``(m, k, k)`` -> ``(m, d, d)``
        - **act(g, x):** ``(..., d)`` -> ``(..., d)``
    """

    group: Group
    dim: int
    #: ``True`` when every ``rho(g)`` is a permutation matrix (see :meth:`permutation`)
    is_permutation: bool = False
    #: ``True`` when every ``rho(g)`` is orthogonal, so the dual is the rep itself
    is_orthogonal: bool = True

    # --------------------------------------------------------------- to implement
    def __call__(self, g) -> torch.Tensor:
        raise NotImplementedError

    def drep(self, A: torch.Tensor) -> torch.Tensor:
        """Lie-algebra representation :math:`d\\rho(A)` of ``A`` ``(m, k, k)`` -> ``(m, d, d)``."""
        raise NotImplementedError(f"{self!r} has no Lie-algebra representation")

    def permutation(self, g) -> torch.Tensor:
        """For permutation reps: ``(n, d)`` long, :math:`\\rho(g) e_i = e_{p[i]}`."""
        raise NotImplementedError(f"{self!r} is not a permutation representation")

    def _key(self) -> tuple:
        raise NotImplementedError

    # --------------------------------------------------------------- identity
    def __eq__(self, other):
        return isinstance(other, Rep) and type(self) is type(other) and self._key() == other._key()

    def __hash__(self):
        return hash((type(self).__name__, self._key()))

    # --------------------------------------------------------------- algebra
    def __add__(self, other: "Rep") -> "Rep":
        if isinstance(other, int) and other == 0:
            return self
        _check_rep(other, "add")
        check_same_group(self.group, other.group, "rep")
        from symmetries.reps._sum import SumRep

        return SumRep([self, other])

    def __radd__(self, other):
        if isinstance(other, int) and other == 0:  # sum([...]) starts from 0
            return self
        return NotImplemented

    def __mul__(self, other):
        if isinstance(other, int):
            return other * self
        _check_rep(other, "multiply")
        check_same_group(self.group, other.group, "rep")
        from symmetries.reps._basic import TrivialRep
        from symmetries.reps._product import TensorRep

        if isinstance(other, TrivialRep):  # 1 (x) V = V (x) 1 = V: same matrices
            return self
        if isinstance(self, TrivialRep):
            return other
        return TensorRep([self, other])

    def __rmul__(self, k):
        if not isinstance(k, int) or k < 0:
            raise TypeError(f"a rep can be multiplied by a non-negative int multiplicity, got {k!r}")
        from symmetries.reps._sum import SumRep

        return SumRep([self] * k) if k != 1 else self

    def __pow__(self, k: int) -> "Rep":
        if not isinstance(k, int) or k < 0:
            raise TypeError(f"tensor power needs a non-negative int, got {k!r}")
        if k == 0:
            from symmetries.reps._basic import TrivialRep

            return TrivialRep(self.group)
        from symmetries.reps._product import TensorRep

        return TensorRep([self] * k) if k > 1 else self

    def dual(self) -> "Rep":
        r"""The dual rep :math:`\rho^*(g) = \rho(g^{-1})^T`: the rep itself when orthogonal,
        else a :class:`~symmetries.reps.DualRep`."""
        if self.is_orthogonal:
            return self
        from symmetries.reps._product import DualRep

        return DualRep(self)

    # --------------------------------------------------------------- structure
    def components(self) -> list["Rep"]:
        """The summands of a direct sum (a single-element list for any other rep)."""
        return [self]

    def character(self, g) -> torch.Tensor:
        """:math:`\\chi(g) = \\mathrm{tr}\\,\\rho(g)`, shape ``(n,)``."""
        return torch.diagonal(self(g), dim1=-2, dim2=-1).sum(-1)

    def decompose(self):
        """Irreducible decomposition; see :func:`symmetries.reps.decompose`."""
        from symmetries.reps._decompose import decompose

        return decompose(self)

    # --------------------------------------------------------------- as an Action
    def act(self, g, x: torch.Tensor) -> torch.Tensor:
        """:math:`x \\mapsto \\rho(g) x` on the last axis of ``x``."""
        if not torch.is_tensor(x):
            raise TypeError(f"{self!r} acts on tensors (..., {self.dim}), got {type(x).__name__}")
        if x.dim() == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"{self!r} acts on tensors (..., {self.dim}), got shape {tuple(x.shape)}")
        self.group.check(g)
        mats = self(g).to(dtype=x.dtype, device=x.device)
        n = mats.shape[0]
        if n == 1:
            return x @ mats[0].T
        if x.dim() < 2 or x.shape[0] != n:
            raise ValueError(f"{n} group elements need inputs with batch dimension {n}, got shape {tuple(x.shape)}")
        flat = x.reshape(n, -1, self.dim)
        return (flat @ mats.transpose(-1, -2)).reshape(x.shape)

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.dim})"

    def __str__(self):
        return repr(self)


def _check_rep(other, verb):
    if not isinstance(other, Rep):
        raise TypeError(f"can only {verb} a Rep with another Rep, got {type(other).__name__}")


def float_dtype(g) -> torch.dtype:
    """The float dtype matching a group-element batch (float64 for integer encodings)."""
    t = g[0] if isinstance(g, tuple) else g
    while isinstance(t, tuple):
        t = t[0]
    return t.dtype if t.is_floating_point() else torch.float64


def device_of(g):
    t = g
    while isinstance(t, tuple):
        t = t[0]
    return t.device


def permutation_matrices(perm: torch.Tensor, dtype=torch.float64) -> torch.Tensor:
    """``(n, d)`` permutations -> ``(n, d, d)`` matrices with :math:`P e_i = e_{p[i]}`."""
    n, d = perm.shape
    out = torch.zeros(n, d, d, dtype=dtype, device=perm.device)
    out.scatter_(1, perm[:, None, :], 1.0)
    return out


def block_diag(mats: list[torch.Tensor]) -> torch.Tensor:
    """Batched block-diagonal matrix from ``(n, d_i, d_i)`` blocks."""
    n = mats[0].shape[0]
    d = sum(m.shape[-1] for m in mats)
    out = mats[0].new_zeros(n, d, d)
    i = 0
    for m in mats:
        k = m.shape[-1]
        out[:, i : i + k, i : i + k] = m
        i += k
    return out


def kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Batched Kronecker product of ``(n, p, q)`` and ``(n, r, s)`` -> ``(n, pr, qs)``."""
    n = max(a.shape[0], b.shape[0])
    out = a[:, :, None, :, None] * b[:, None, :, None, :]
    return out.reshape(n, a.shape[1] * b.shape[1], a.shape[2] * b.shape[2])


def isclose_int(x: float) -> int:
    r = round(x)
    if not math.isclose(x, r, abs_tol=1e-6):
        raise ValueError(f"expected an integer multiplicity, got {x}")
    return int(r)
