"""The O(3) representation defined by an :class:`Irreps`, as a :class:`symmetries.reps.SumRep`."""

from __future__ import annotations

import functools

from symmetries.groups import O3
from symmetries.reps import SumRep, irrep


class IrrepsRep(SumRep):
    r"""``SumRep`` of ``irrep(O3(), l, p)`` in the order of an :class:`Irreps`.

    Equal to the plain ``SumRep`` of the same summands; evaluating it computes each distinct
    Wigner matrix once instead of once per copy. Usually reached as ``irreps.rep``.

    Args:
        irreps: the :class:`Irreps`.

    Shapes:
        - **rep(g):** ``(n, 3, 3)`` orthogonal matrices -> ``(n, irreps.dim, irreps.dim)``
    """

    def __init__(self, irreps):
        self.irreps = irreps
        super().__init__([irrep(O3(), ir.l, ir.p) for mul, ir in irreps for _ in range(mul)])

    def __call__(self, g):
        return self.irreps.D_from_matrix(g)

    def __eq__(self, other):
        return isinstance(other, SumRep) and self.reps == other.reps

    def __hash__(self):
        return hash(("SumRep", self._key()))

    def __repr__(self):
        return f"Irreps({str(self.irreps)!r}).rep"


@functools.lru_cache(maxsize=None)
def irreps_rep(irreps) -> IrrepsRep:
    if irreps.dim == 0:
        raise ValueError("the empty Irreps has no representation")
    return IrrepsRep(irreps)
