"""Direct sums of representations."""

from __future__ import annotations

from collections import Counter

import torch

from symmetries.reps._rep import Rep, block_diag


class SumRep(Rep):
    r"""The direct sum :math:`\rho_1 \oplus \dots \oplus \rho_k`: block-diagonal matrices,
    coordinates concatenated in order,

    .. math::
        \rho(g) = \mathrm{diag}\big(\rho_1(g), \dots, \rho_k(g)\big).

    Args:
        reps: the summands, of one group, at least one; nested sums are flattened.
    """

    def __init__(self, reps: list[Rep]):
        flat: list[Rep] = []
        for r in reps:
            flat.extend(r.components())
        if not flat:
            raise ValueError("a direct sum needs at least one rep")
        self.reps = flat
        self.group = flat[0].group
        self.dim = sum(r.dim for r in flat)
        self.is_permutation = all(r.is_permutation for r in flat)
        self.is_orthogonal = all(r.is_orthogonal for r in flat)

    def _key(self):
        return tuple(self.reps)

    def components(self):
        return list(self.reps)

    def multiplicities(self) -> list[tuple[Rep, int]]:
        """Distinct summands with their multiplicities, in order of first appearance."""
        return list(Counter(self.reps).items())

    def __call__(self, g):
        return block_diag([r(g) for r in self.reps])

    def drep(self, A):
        return block_diag([r.drep(A) for r in self.reps])

    def permutation(self, g):
        parts, offset = [], 0
        for r in self.reps:
            parts.append(r.permutation(g) + offset)
            offset += r.dim
        return torch.cat(parts, 1)

    def dual(self):
        return SumRep([r.dual() for r in self.reps])

    def __repr__(self):
        return " + ".join(f"{m}*{r!r}" if m > 1 else repr(r) for r, m in _runs(self.reps))


def _runs(reps):
    out = []
    for r in reps:
        if out and out[-1][0] == r:
            out[-1][1] += 1
        else:
            out.append([r, 1])
    return out
