"""Orthogonal groups SO(n), O(n) (with SO(2), O(2), SO(3), O(3)) and the Lorentz group."""

from __future__ import annotations

import torch

from symmetries.groups._describe import lorentz, orthogonal
from symmetries.groups._matrix import MatrixGroup


def so_generators(n: int) -> torch.Tensor:
    r"""Basis :math:`E_{ji} - E_{ij}` (:math:`i < j`) of :math:`\mathfrak{so}(n)`.

    For ``n = 3`` the order is :math:`(L_x, L_y, L_z)`, the generators of rotations about
    x, y and z: :math:`\exp(\theta L_z)` rotates the xy plane by :math:`\theta`.

    Args:
        n: the dimension.

    Returns:
        ``(n(n-1)/2, n, n)`` float64 antisymmetric matrices.
    """
    if n == 3:
        L = torch.zeros(3, 3, 3, dtype=torch.float64)
        for a, (i, j) in enumerate([(2, 1), (0, 2), (1, 0)]):
            L[a, i, j], L[a, j, i] = 1.0, -1.0
        return L
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    L = torch.zeros(len(pairs), n, n, dtype=torch.float64)
    for a, (i, j) in enumerate(pairs):
        L[a, j, i], L[a, i, j] = 1.0, -1.0
    return L


def haar_orthogonal(num: int, n: int, generator=None, special: bool = False) -> torch.Tensor:
    r"""Haar-random orthogonal matrices: the QR decomposition :math:`Z = QR` of a Gaussian
    matrix, with :math:`Q` rescaled by the signs of :math:`\mathrm{diag}(R)`.

    Args:
        num: how many matrices.
        n: their size.
        generator: a ``torch.Generator`` for reproducible draws (default: the global one).
        special: draw from :math:`SO(n)` instead: the first column of every matrix with
            :math:`\det Q = -1` is negated.

    Returns:
        ``(num, n, n)`` float64.
    """
    z = torch.randn(num, n, n, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(z)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]
    if special:
        flip = torch.linalg.det(q) < 0
        q[flip, :, 0] = -q[flip, :, 0]
    return q


class O(MatrixGroup):
    r"""The orthogonal group :math:`O(n) = \{Q : Q^T Q = I\}`, Haar sampling.

    The discrete generator is :math:`-I` for odd ``n`` (parity, e3nn's convention) and the
    reflection :math:`\mathrm{diag}(-1, 1, \dots)` for even ``n``.

    Args:
        n: the dimension, :math:`n \ge 1`.

    Shapes:
        - **elements:** ``(b, n, n)`` float64
    """

    compact = True
    #: True for SO(n), rotations only
    special = False

    def __init__(self, n: int):
        n = int(n)
        if n < 1:
            raise ValueError(f"{type(self).__name__} needs n >= 1, got {n}")
        disc = None
        if not self.special:
            disc = -torch.eye(n, dtype=torch.float64) if n % 2 else torch.diag(torch.tensor([-1.0] + [1.0] * (n - 1)))
        super().__init__(so_generators(n) if n > 1 else None, disc, dim=n)
        self.n = n

    def _key(self):
        return (self.n,)

    def __repr__(self):
        return f"{type(self).__name__}({self.n})"

    def inverse(self, a):
        return a.transpose(-1, -2)

    def describe(self, g) -> str:
        return orthogonal(g.reshape(-1, self.d, self.d)[0])

    def sample(self, n, generator=None, device=None):
        g = haar_orthogonal(n, self.d, generator, special=self.special)
        return g.to(device) if device is not None else g


class SO(O):
    r"""The special orthogonal group :math:`SO(n)`: rotations, :math:`\det Q = 1`.

    Args:
        n: the dimension, :math:`n \ge 1`.

    Shapes:
        - **elements:** ``(b, n, n)`` float64
    """

    special = True


class _Fixed:
    """Mixin for the named groups SO(2), O(2), SO(3), O(3): no constructor arguments."""

    _n = 0

    def __init__(self):
        super().__init__(self._n)

    def _key(self):
        return ()

    def __repr__(self):
        return f"{type(self).__name__}()"


class SO2(_Fixed, SO):
    """Rotations of the plane, :math:`SO(2)`."""

    _n = 2


class O2(_Fixed, O):
    """Rotations and reflections of the plane, :math:`O(2)`."""

    _n = 2


class SO3(_Fixed, SO):
    """Rotations of space, :math:`SO(3)`."""

    _n = 3


class O3(_Fixed, O):
    r"""Rotations and reflections of space, :math:`O(3) = SO(3) \times \{\pm I\}`."""

    _n = 3


MINKOWSKI = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64))


def lorentz_generators() -> torch.Tensor:
    r"""Rotations :math:`L_x, L_y, L_z` then boosts :math:`K_x, K_y, K_z` of
    :math:`\mathfrak{so}(1,3)` with metric :math:`\eta = \mathrm{diag}(1,-1,-1,-1)` (time first)."""
    gens = torch.zeros(6, 4, 4, dtype=torch.float64)
    gens[:3, 1:, 1:] = so_generators(3)
    for i in range(3):
        gens[3 + i, 0, 1 + i] = gens[3 + i, 1 + i, 0] = 1.0
    return gens


class _PreservesMinkowski:
    r"""Inverse of a metric-preserving matrix: :math:`g^{-1} = \eta g^T \eta`."""

    def inverse(self, a):
        eta = MINKOWSKI.to(a)
        return eta @ a.transpose(-1, -2) @ eta

    def describe(self, g) -> str:
        return lorentz(g.reshape(-1, 4, 4)[0])


class Lorentz(_PreservesMinkowski, MatrixGroup):
    r"""The proper orthochronous Lorentz group :math:`SO^+(1,3)` preserving
    :math:`\eta = \mathrm{diag}(1,-1,-1,-1)`.

    .. math::
        \Lambda^T \eta \Lambda = \eta, \qquad \det \Lambda = 1, \qquad \Lambda_{00} \ge 1

    Non-compact: ``sample`` draws :math:`\exp(\sum_i c_i A_i)` with :math:`c_i \sim N(0,
    \sigma^2)` over the three rotation and three boost generators.

    Args:
        scale: :math:`\sigma` (default: 0.5).

    Shapes:
        - **elements:** ``(b, 4, 4)`` float64, time first
    """

    def __init__(self, scale: float = 0.5):
        super().__init__(lorentz_generators(), None, dim=4, scale=scale)

    def _key(self):
        return ()

    def __repr__(self):
        return "Lorentz()"


class O13(_PreservesMinkowski, MatrixGroup):
    r"""The full Lorentz group :math:`O(1,3)`: :math:`SO^+(1,3)` with parity
    :math:`P = \mathrm{diag}(1,-1,-1,-1)` and time reversal :math:`T = \mathrm{diag}(-1,1,1,1)`.

    Args:
        scale: :math:`\sigma` of the Lie-algebra coefficients in ``sample``, as
            :class:`Lorentz` (default: 0.5); a random word of ``P`` and ``T`` follows.

    Shapes:
        - **elements:** ``(b, 4, 4)`` float64, time first
    """

    def __init__(self, scale: float = 0.5):
        P = MINKOWSKI.clone()
        super().__init__(lorentz_generators(), torch.stack([P, -P]), dim=4, scale=scale)

    def _key(self):
        return ()

    def __repr__(self):
        return "O13()"
