"""The abstract group: batched elements, composition, inverse, sampling, generators."""

from __future__ import annotations

import torch

Element = "torch.Tensor | tuple"


class Group:
    r"""A group whose elements are batched tensors.

    An element batch has a leading batch dimension: ``(n, *element_shape)``. Finite groups
    use integer encodings (``torch.long``); matrix groups use ``(n, d, d)`` floating point
    matrices. :class:`DirectProduct` elements are pairs ``(a, b)`` of element batches.

    The basis solver needs only the generators: ``discrete_generators`` (a batch of
    elements, possibly empty) and ``lie_generators`` (``(m, d, d)`` matrices spanning the
    Lie algebra in the defining representation; empty for finite groups).

    Shapes:
        - **elements:** ``(n, *element_shape)``, or a pair of such batches for a
          :class:`DirectProduct`
        - **lie_generators:** ``(m, d, d)`` float64
    """

    #: number of elements, or ``None`` for an infinite group
    order: int | None = None
    #: ``True`` for compact groups, where ``sample`` is Haar-uniform
    compact: bool = True

    # ----------------------------------------------------------------- interface
    def identity(self, device=None):
        """The identity as a batch of one element."""
        raise NotImplementedError

    def compose(self, a, b):
        """The product ``a b`` (first apply ``b``, then ``a``), batched and broadcast."""
        raise NotImplementedError

    def inverse(self, a):
        """The inverse of each element of the batch."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator | None = None, device=None):
        """``n`` random elements: uniform for finite groups, Haar for compact Lie groups."""
        raise NotImplementedError

    def elements(self):
        """All elements of a finite group, as one batch of size ``order``."""
        raise TypeError(f"{self} is infinite: it has no elements() list; use sample()")

    @property
    def discrete_generators(self):
        """Elements that, together with the Lie algebra, generate the group."""
        raise NotImplementedError

    @property
    def lie_generators(self) -> torch.Tensor:
        """``(m, d, d)`` float64 basis of the Lie algebra (``m = 0`` for finite groups)."""
        return torch.zeros(0, 0, 0, dtype=torch.float64)

    def describe(self, g) -> str:
        """One element (a batch of one) in words: ``rotation by 90 deg``, ``(0 2 1)``, ..."""
        return str(g.tolist() if torch.is_tensor(g) else g)

    def check(self, g) -> None:
        """Raise ``ValueError`` unless ``g`` is a batch of elements of this group."""
        raise NotImplementedError

    # ----------------------------------------------------------------- helpers
    def batch_size(self, g) -> int:
        """How many elements the batch ``g`` holds."""
        return g.shape[0]

    def select(self, g, index):
        """Elements ``g[index]`` of a batch, keeping the batch dimension."""
        if isinstance(index, int):
            index = slice(index, index + 1) if index != -1 else slice(-1, None)
        return g[index]

    def equal(self, a, b, atol: float = 1e-9) -> torch.Tensor:
        """Elementwise test ``a == b`` over a batch; returns a bool tensor ``(n,)``."""
        a, b = torch.broadcast_tensors(a, b)
        a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
        if a.is_floating_point():
            return (a - b).abs().amax(1) <= atol
        return (a == b).all(1)

    def power(self, g, k: int):
        """``g ** k`` for an integer ``k`` (negative powers invert)."""
        if k < 0:
            return self.power(self.inverse(g), -k)
        result, base = _tile_identity(self, g), g
        while k:
            if k & 1:
                result = self.compose(result, base)
            base = self.compose(base, base)
            k >>= 1
        return result

    def __mul__(self, other: "Group") -> "Group":
        from symmetries.groups._product import DirectProduct

        return DirectProduct(self, other)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def _key(self) -> tuple:
        return ()

    def __repr__(self) -> str:
        args = ", ".join(map(str, self._key()))
        return f"{type(self).__name__}({args})"


def _device(g):
    return g[0].device if isinstance(g, tuple) else g.device


def _tile_identity(group: Group, g):
    e = group.identity(device=_device(g))
    n = group.batch_size(g)
    if isinstance(e, tuple):
        return tuple(x.expand(n, *x.shape[1:]).clone() for x in e)
    return e.expand(n, *e.shape[1:]).clone()


def check_same_group(expected: Group, actual: Group, what: str = "rep") -> None:
    """Raise a clear error when two objects belong to different groups.

    Args:
        expected: the group the object should belong to.
        actual: the group it belongs to.
        what: what the object is, for the message (default: ``"rep"``).

    Raises:
        ValueError: when ``expected != actual``.
    """
    if expected != actual:
        raise ValueError(f"{what} belongs to {actual!r}, expected a {what} of {expected!r}")
