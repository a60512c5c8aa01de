"""Finite groups with integer encodings: cyclic C_n, dihedral D_n, symmetric S_n."""

from __future__ import annotations

import itertools
import math

import torch

from symmetries.groups._describe import cycles
from symmetries.groups._group import Group


def _randint(high: int, size, generator, device):
    return torch.randint(high, size, generator=generator, device=device or "cpu")


def _check_long(group: Group, g, shape: tuple, high: int) -> None:
    if not torch.is_tensor(g):
        raise TypeError(f"expected a tensor of {group!r} elements, got {type(g).__name__}")
    if g.dtype != torch.long or tuple(g.shape[1:]) != shape or g.dim() != 1 + len(shape):
        raise ValueError(
            f"expected {group!r} elements as a long tensor of shape (n, {', '.join(map(str, shape))})"
            f", got {tuple(g.shape)} {g.dtype}".replace(", )", ")")
        )
    if g.numel() and (g.min() < 0 or g.max() >= high):
        raise ValueError(f"{group!r} element entries must lie in [0, {high}), got {g.min()}..{g.max()}")


class Cyclic(Group):
    r"""The cyclic group :math:`C_n = \{r^k\}`: element ``k`` (shape ``()``) is the rotation
    by :math:`2\pi k / n`.

    .. math::
        r^{k_1} r^{k_2} = r^{(k_1 + k_2) \bmod n}

    Args:
        n: the order, :math:`n \ge 1`.

    Shapes:
        - **elements:** ``(b,)`` long, entries in ``[0, n)``
    """

    def __init__(self, n: int):
        if int(n) < 1:
            raise ValueError(f"Cyclic(n) needs n >= 1, got {n}")
        self.n = int(n)
        self.order = self.n

    def _key(self):
        return (self.n,)

    def identity(self, device=None):
        return torch.zeros(1, dtype=torch.long, device=device)

    def compose(self, a, b):
        return (a + b) % self.n

    def inverse(self, a):
        return (-a) % self.n

    def sample(self, n, generator=None, device=None):
        return _randint(self.n, (n,), generator, device)

    def elements(self):
        return torch.arange(self.n)

    @property
    def discrete_generators(self):
        return torch.ones(1, dtype=torch.long) % self.n

    def check(self, g):
        _check_long(self, g, (), self.n)

    def describe(self, g) -> str:
        k = int(g.reshape(-1)[0])
        return f"rotation by {360 * k / self.n:g} deg (r^{k})"

    def angle(self, g) -> torch.Tensor:
        """Rotation angle :math:`2\\pi k/n` of each element, float64."""
        return g.double() * (2 * math.pi / self.n)


class Dihedral(Group):
    r"""The dihedral group :math:`D_n` of order :math:`2n`, acting on the plane.

    Element ``(k, s)`` is :math:`r^k f^s`: the reflection :math:`f` across the x axis
    (``s = 1``) followed by the rotation :math:`r^k` by :math:`2\pi k/n`. Product:

    .. math::
        (k_1, s_1)(k_2, s_2) = (k_1 + (-1)^{s_1} k_2,\ s_1 \oplus s_2)

    Args:
        n: the number of rotations, :math:`n \ge 1`.

    Shapes:
        - **elements:** ``(b, 2)`` long, rows ``(k, s)`` with :math:`0 \le k < n`,
          :math:`s \in \{0, 1\}`
    """

    def __init__(self, n: int):
        if int(n) < 1:
            raise ValueError(f"Dihedral(n) needs n >= 1, got {n}")
        self.n = int(n)
        self.order = 2 * self.n

    def _key(self):
        return (self.n,)

    def identity(self, device=None):
        return torch.zeros(1, 2, dtype=torch.long, device=device)

    def compose(self, a, b):
        a, b = torch.broadcast_tensors(a, b)
        sign = 1 - 2 * a[..., 1]
        k = (a[..., 0] + sign * b[..., 0]) % self.n
        return torch.stack([k, a[..., 1] ^ b[..., 1]], -1)

    def inverse(self, a):
        sign = 1 - 2 * a[..., 1]
        return torch.stack([(-sign * a[..., 0]) % self.n, a[..., 1]], -1)

    def sample(self, n, generator=None, device=None):
        k = _randint(self.n, (n,), generator, device)
        s = _randint(2, (n,), generator, device)
        return torch.stack([k, s], -1)

    def elements(self):
        k = torch.arange(self.n).repeat(2)
        s = torch.arange(2).repeat_interleave(self.n)
        return torch.stack([k, s], -1)

    @property
    def discrete_generators(self):
        return torch.tensor([[1 % self.n, 0], [0, 1]])

    def check(self, g):
        _check_long(self, g, (2,), max(self.n, 2))
        if g.numel() and (g[:, 0].max() >= self.n or g[:, 1].max() > 1):
            raise ValueError(f"{self!r} elements are (k < {self.n}, s in {{0, 1}}), got {g.tolist()[:4]}")

    def describe(self, g) -> str:
        k, s = (int(v) for v in g.reshape(-1, 2)[0])
        return f"rotation by {360 * k / self.n:g} deg" + (" after a reflection across the x axis" if s else "")


class Symmetric(Group):
    r"""The symmetric group :math:`S_n`. An element is a permutation ``p`` sending index
    ``i`` to ``p[i]``; ``compose(a, b)[i] = a[b[i]]``.

    Args:
        n: the number of points permuted, :math:`n \ge 1`.

    Shapes:
        - **elements:** ``(b, n)`` long, each row a permutation of ``0..n-1``
    """

    def __init__(self, n: int):
        if int(n) < 1:
            raise ValueError(f"Symmetric(n) needs n >= 1, got {n}")
        self.n = int(n)
        self.order = math.factorial(self.n)

    def _key(self):
        return (self.n,)

    def identity(self, device=None):
        return torch.arange(self.n, device=device)[None]

    def compose(self, a, b):
        a, b = torch.broadcast_tensors(a, b)
        return torch.gather(a, -1, b)

    def inverse(self, a):
        return torch.argsort(a, dim=-1)

    def sample(self, n, generator=None, device=None):
        noise = torch.rand(n, self.n, generator=generator, device=device or "cpu")
        return torch.argsort(noise, dim=-1)

    def elements(self):
        if self.n > 9:
            raise ValueError(f"S_{self.n} has {self.order} elements: too many to list; use sample()")
        return torch.tensor(list(itertools.permutations(range(self.n))), dtype=torch.long).reshape(
            self.order, self.n
        )

    @property
    def discrete_generators(self):
        if self.n == 1:
            return self.identity()
        swap = torch.arange(self.n)
        swap[[0, 1]] = swap[[1, 0]]
        cycle = torch.roll(torch.arange(self.n), 1)
        return torch.stack([swap, cycle])

    def check(self, g):
        _check_long(self, g, (self.n,), self.n)
        if g.numel() and not (torch.sort(g, -1).values == torch.arange(self.n, device=g.device)).all():
            raise ValueError(f"{self!r} elements must be permutations of 0..{self.n - 1}")

    def describe(self, g) -> str:
        """Cycle notation of ``i -> p[i]``: ``(0 2 1)(3 4)``."""
        return cycles(g.reshape(-1, self.n)[0])
