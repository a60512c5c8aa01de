"""Direct product of two groups: elements are pairs ``(a, b)``."""

from __future__ import annotations

import torch

from symmetries.groups._group import Group


class DirectProduct(Group):
    r"""The direct product :math:`G \times H`; an element batch is a pair ``(a, b)``.

    .. math::
        (a, b)(c, d) = (ac, bd)

    Generators are those of each factor paired with the identity of the other; Lie
    generators of a product of matrix groups are block diagonal, :math:`A \oplus 0` and
    :math:`0 \oplus B`. ``G * H`` builds the same group.

    Args:
        G: the first factor.
        H: the second factor.

    Shapes:
        - **elements:** a pair ``(a, b)`` of batches of ``G`` and of ``H``, of one size ``b``
    """

    def __init__(self, G: Group, H: Group):
        if not isinstance(G, Group) or not isinstance(H, Group):
            raise TypeError(f"DirectProduct takes two groups, got {type(G).__name__} and {type(H).__name__}")
        self.G, self.H = G, H
        self.order = G.order * H.order if G.order and H.order else None
        self.compact = G.compact and H.compact

    def _key(self):
        return (self.G, self.H)

    def identity(self, device=None):
        return (self.G.identity(device), self.H.identity(device))

    def compose(self, a, b):
        return (self.G.compose(a[0], b[0]), self.H.compose(a[1], b[1]))

    def inverse(self, a):
        return (self.G.inverse(a[0]), self.H.inverse(a[1]))

    def sample(self, n, generator=None, device=None):
        return (self.G.sample(n, generator, device), self.H.sample(n, generator, device))

    def elements(self):
        a, b = self.G.elements(), self.H.elements()
        ia = torch.arange(len(a)).repeat_interleave(len(b))
        ib = torch.arange(len(b)).repeat(len(a))
        return (a[ia], b[ib])

    def describe(self, g) -> str:
        return f"({self.G.describe(g[0])}; {self.H.describe(g[1])})"

    def batch_size(self, g):
        return self.G.batch_size(g[0])

    def select(self, g, index):
        return (self.G.select(g[0], index), self.H.select(g[1], index))

    def equal(self, a, b, atol=1e-9):
        return self.G.equal(a[0], b[0], atol) & self.H.equal(a[1], b[1], atol)

    def check(self, g):
        if not isinstance(g, tuple) or len(g) != 2:
            raise ValueError(f"expected {self!r} elements as a pair (a, b), got {type(g).__name__}")
        self.G.check(g[0])
        self.H.check(g[1])
        if self.G.batch_size(g[0]) != self.H.batch_size(g[1]):
            raise ValueError(f"the two halves of a {self!r} batch differ in size: "
                             f"{self.G.batch_size(g[0])} vs {self.H.batch_size(g[1])}")

    @property
    def discrete_generators(self):
        a, b = self.G.discrete_generators, self.H.discrete_generators
        eg, eh = self.G.identity(), self.H.identity()
        na, nb = self.G.batch_size(a), self.H.batch_size(b)
        first = (a, _repeat(eh, na))
        second = (_repeat(eg, nb), b)
        return tuple(_cat(x, y) for x, y in zip(first, second))

    @property
    def lie_generators(self):
        A, B = self.G.lie_generators, self.H.lie_generators
        da, db = A.shape[-1], B.shape[-1]
        out = torch.zeros(len(A) + len(B), da + db, da + db, dtype=torch.float64)
        out[: len(A), :da, :da] = A
        out[len(A):, da:, da:] = B
        return out

    def split_lie(self, A):
        """The two factors' components of a Lie algebra element ``(m, da+db, da+db)``."""
        da = self.G.lie_generators.shape[-1]
        return A[..., :da, :da], A[..., da:, da:]


def _repeat(e, n):
    if isinstance(e, tuple):
        return tuple(_repeat(x, n) for x in e)
    return e.expand(n, *e.shape[1:]).clone()


def _cat(x, y):
    if isinstance(x, tuple):
        return tuple(_cat(a, b) for a, b in zip(x, y))
    return torch.cat([x, y])
