"""The Euclidean group :math:`E(n) = \\mathbb{R}^n \\rtimes O(n)` and its rotation subgroup
:math:`SE(n)`, stored as homogeneous ``(n+1) x (n+1)`` matrices

.. math:: g = \\begin{pmatrix} Q & t \\\\ 0 & 1 \\end{pmatrix}, \\qquad g \\cdot x = Q x + t,

so composition is matrix multiplication and every tool that takes a group (the checker,
augmentation, the basis solver through its Lie algebra) works on it unchanged.
"""

from __future__ import annotations

import torch

from symmetries.groups._describe import euclidean
from symmetries.groups._matrix import MatrixGroup
from symmetries.groups._orthogonal import O, O2, O3, SO, SO2, SO3, haar_orthogonal, so_generators


class Euclidean(MatrixGroup):
    r"""The Euclidean group :math:`E(n)` or its rotation subgroup :math:`SE(n)`, as
    homogeneous matrices

    .. math::
        g = \begin{pmatrix} Q & t \\ 0 & 1 \end{pmatrix}, \qquad g \cdot x = Q x + t.

    ``sample`` draws Haar-random :math:`Q` and Gaussian translations :math:`t \sim
    N(0, \mathrm{scale}^2 I)` (there is no uniform distribution on :math:`\mathbb{R}^n`).
    :meth:`linear` and :meth:`translation` split elements; :meth:`from_parts` joins them;
    ``linear_group`` is :math:`O(n)` or :math:`SO(n)`, the group of the feature reps.

    Args:
        n: the dimension of the space, :math:`n \ge 1`.
        special: :math:`SE(n)`, :math:`\det Q = 1` (default: ``False``, :math:`E(n)`).
        scale: the standard deviation of the sampled translations (default: 1).

    Shapes:
        - **elements:** ``(b, n+1, n+1)`` float64
    """

    def __init__(self, n: int, special: bool = False, scale: float = 1.0):
        n = int(n)
        if n < 1:
            raise ValueError(f"Euclidean(n) needs n >= 1, got {n}")
        rot = so_generators(n) if n > 1 else torch.zeros(0, n, n, dtype=torch.float64)
        lie = torch.zeros(len(rot) + n, n + 1, n + 1, dtype=torch.float64)
        lie[: len(rot), :n, :n] = rot
        for i in range(n):
            lie[len(rot) + i, i, n] = 1.0
        disc = None
        if not special:
            disc = torch.eye(n + 1, dtype=torch.float64)
            if n % 2:
                disc[:n, :n] = -torch.eye(n, dtype=torch.float64)
            else:
                disc[0, 0] = -1.0
        super().__init__(lie, disc, dim=n + 1, scale=scale)
        self.n, self.special = n, bool(special)
        named = {2: (O2, SO2), 3: (O3, SO3)}
        self.linear_group = named[n][special]() if n in named else (SO(n) if special else O(n))

    def _key(self):
        return (self.n, self.special, self.scale)

    def __repr__(self):
        return f"{'SpecialEuclidean' if self.special else 'Euclidean'}({self.n})"

    def inverse(self, a):
        q, t = self.linear(a), self.translation(a)
        qt = q.transpose(-1, -2)
        return self.from_parts(qt, -(qt @ t[..., None])[..., 0])

    def sample(self, n, generator=None, device=None):
        q = haar_orthogonal(n, self.n, generator, special=self.special)
        t = torch.randn(n, self.n, generator=generator, dtype=torch.float64) * self.scale
        g = self.from_parts(q, t)
        return g.to(device) if device is not None else g

    def check(self, g):
        super().check(g)
        bottom = g[:, self.n, :]
        expected = torch.zeros_like(bottom)
        expected[:, self.n] = 1.0
        if g.numel() and (bottom - expected).abs().max() > 1e-9:
            raise ValueError(f"{self!r} elements are homogeneous matrices [[Q, t], [0, 1]]: the last row must be "
                             f"(0, ..., 0, 1), got {bottom[0].tolist()}")

    def describe(self, g) -> str:
        return euclidean(g.reshape(-1, self.n + 1, self.n + 1)[0])

    @staticmethod
    def linear(g: torch.Tensor) -> torch.Tensor:
        """The orthogonal parts :math:`Q` ``(b, n, n)``."""
        return g[:, :-1, :-1]

    @staticmethod
    def translation(g: torch.Tensor) -> torch.Tensor:
        """The translations :math:`t` ``(b, n)``."""
        return g[:, :-1, -1]

    @staticmethod
    def from_parts(q: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Homogeneous matrices from ``q`` ``(b, n, n)`` and ``t`` ``(b, n)``."""
        b, n = t.shape
        g = torch.zeros(b, n + 1, n + 1, dtype=q.dtype, device=q.device)
        g[:, :n, :n] = q
        g[:, :n, n] = t
        g[:, n, n] = 1.0
        return g
