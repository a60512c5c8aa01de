"""Tensor products and duals of representations."""

from __future__ import annotations

import torch

from symmetries.reps._rep import Rep, kron


class TensorRep(Rep):
    r"""The tensor product :math:`\rho_1 \otimes \dots \otimes \rho_k`: Kronecker products,
    the last factor's index varying fastest,

    .. math::
        d(\rho_1 \otimes \rho_2)(A) = d\rho_1(A) \otimes I + I \otimes d\rho_2(A).

    Args:
        reps: the factors, of one group, at least one; nested products are flattened.
    """

    def __init__(self, reps: list[Rep]):
        flat: list[Rep] = []
        for r in reps:
            flat.extend(r.factors if isinstance(r, TensorRep) else [r])
        self.factors = flat
        self.group = flat[0].group
        self.dim = 1
        for r in flat:
            self.dim *= r.dim
        self.is_permutation = all(r.is_permutation for r in flat)
        self.is_orthogonal = all(r.is_orthogonal for r in flat)

    def _key(self):
        return tuple(self.factors)

    def __call__(self, g):
        out = self.factors[0](g)
        for r in self.factors[1:]:
            out = kron(out, r(g))
        return out

    def drep(self, A):
        mats = [r.drep(A) for r in self.factors]
        eyes = [torch.eye(r.dim, dtype=A.dtype, device=A.device).expand(A.shape[0], -1, -1) for r in self.factors]
        total = None
        for i in range(len(mats)):
            term = mats[0] if i == 0 else eyes[0]
            for j in range(1, len(mats)):
                term = kron(term, mats[j] if j == i else eyes[j])
            total = term if total is None else total + term
        return total

    def permutation(self, g):
        p = self.factors[0].permutation(g)
        for r in self.factors[1:]:
            q = r.permutation(g)
            p = (p[:, :, None] * r.dim + q[:, None, :]).reshape(p.shape[0], -1)
        return p

    def dual(self):
        return TensorRep([r.dual() for r in self.factors])

    def __repr__(self):
        if len(set(self.factors)) == 1:
            return f"{self.factors[0]!r}**{len(self.factors)}"
        return " ⊗ ".join(f"({r!r})" if " " in repr(r) else repr(r) for r in self.factors)


class DualRep(Rep):
    r"""The dual (contragredient) representation,

    .. math::
        \rho^*(g) = \rho(g^{-1})^T, \qquad d\rho^*(A) = -d\rho(A)^T.

    Args:
        rep: the rep :math:`\rho` (``rep.dual()`` returns ``rep`` itself when it is
            orthogonal, without building a ``DualRep``).
    """

    def __init__(self, rep: Rep):
        self.rep, self.group, self.dim = rep, rep.group, rep.dim
        self.is_orthogonal = False

    def _key(self):
        return (self.rep,)

    def __call__(self, g):
        return self.rep(self.group.inverse(g)).transpose(-1, -2)

    def drep(self, A):
        return -self.rep.drep(A).transpose(-1, -2)

    def dual(self):
        return self.rep

    def __repr__(self):
        return f"{self.rep!r}*"
