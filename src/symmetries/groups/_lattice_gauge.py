"""The group of local gauge transformations of a periodic lattice: one gauge-group element per site."""

from __future__ import annotations

import math

import torch

from symmetries.groups._gauge import check_unitary, gauge_group, is_complex_element
from symmetries.groups._group import Group


class LatticeGauge(Group):
    r"""Local gauge transformations of a periodic lattice: one element of the gauge group
    :math:`G` per site, composed site by site,

    .. math::
        (\Omega \Omega')(x) = \Omega(x)\, \Omega'(x), \qquad \Omega^{-1}(x) = \Omega(x)^\dagger.

    It acts on links by :math:`U_\mu(x) \mapsto \Omega(x) U_\mu(x) \Omega(x + \hat\mu)^\dagger`
    (:class:`~symmetries.actions.GaugeAction`). ``sample`` draws every site Haar-independently.

    Args:
        group: the gauge group: :class:`U1`, :class:`SU` or a name (``"U1"``, ``"SU2"``, ...).
        shape: the lattice extents :math:`(L_0, \dots, L_{D-1})`.

    Shapes:
        - **elements:** ``(n, L_0, ..., L_{D-1}, N, N)`` complex
    """

    compact = True
    order = None

    def __init__(self, group, shape):
        self.gauge = gauge_group(group)
        shape = (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)
        if not shape or min(shape) < 1:
            raise ValueError(f"LatticeGauge needs a lattice shape of positive extents, got {shape}")
        self.shape, self.N, self.D = shape, self.gauge.N, len(shape)

    def _key(self):
        return (self.gauge, self.shape)

    def __repr__(self):
        return f"LatticeGauge({self.gauge!r}, {self.shape})"

    @property
    def volume(self) -> int:
        """The number of sites :math:`\\prod_\\mu L_\\mu`."""
        return math.prod(self.shape)

    def identity(self, device=None):
        e = self.gauge.identity(device)
        return e.reshape(1, *([1] * self.D), self.N, self.N).expand(1, *self.shape, self.N, self.N).clone()

    def compose(self, a, b):
        return a @ b

    def inverse(self, a):
        return a.mH

    def sample(self, n, generator=None, device=None):
        g = self.gauge.sample(n * self.volume, generator=generator, device=device)
        return g.reshape(n, *self.shape, self.N, self.N)

    def equal(self, a, b, atol: float = 1e-9) -> torch.Tensor:
        a, b = torch.broadcast_tensors(a, b)
        return (a - b).reshape(a.shape[0], -1).abs().amax(1) <= atol

    @property
    def discrete_generators(self):
        return torch.zeros(0, *self.shape, self.N, self.N, dtype=torch.complex128)

    @property
    def lie_generators(self):
        raise NotImplementedError(f"{self!r} has a Lie algebra of dimension {self.volume} x dim G: the basis "
                                  f"solver does not handle local gauge symmetry; use the gauge-equivariant layers")

    def check(self, g) -> None:
        want = f"(n, {', '.join(map(str, self.shape))}, {self.N}, {self.N})"
        if not is_complex_element(g):
            got = f"{tuple(g.shape)} {g.dtype}" if torch.is_tensor(g) else type(g).__name__
            raise ValueError(f"expected {self!r} elements as a complex tensor {want}, got {got}")
        if tuple(g.shape[1:]) != (*self.shape, self.N, self.N) or g.dim() != self.D + 3:
            raise ValueError(f"expected {self!r} elements of shape {want}, got {tuple(g.shape)}")
        check_unitary(g, self.gauge)

    def describe(self, g) -> str:
        g = g.reshape(-1, *self.shape, self.N, self.N)[:1]
        eye = torch.eye(self.N, dtype=g.dtype, device=g.device)
        dist = float((g - eye).abs().amax()) if g.numel() else 0.0
        if dist < 1e-12:
            return f"the identity gauge transformation on a {'x'.join(map(str, self.shape))} lattice"
        origin = self.gauge.describe(g.reshape(-1, self.N, self.N)[:1])
        return (f"local {self.gauge!r} transformation on a {'x'.join(map(str, self.shape))} lattice "
                f"(max |Omega(x) - I| = {dist:.3g}; at the origin: {origin})")
