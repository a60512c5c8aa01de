"""Characters and the decomposition of a representation into irreducibles."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from symmetries.reps._basis import equivariant_basis
from symmetries.reps._irreps import irreps
from symmetries.reps._rep import Rep, isclose_int


@dataclass
class Decomposition:
    r"""The result of :func:`decompose`: ``rep`` :math:`\cong \bigoplus_i m_i\, \rho_i`,

    .. math::
        Q\, \rho(g)\, Q^T = \bigoplus_i m_i\, \rho_i(g),

    block diagonal with the irreps in ``irreps`` order, each repeated
    ``multiplicities[i]`` times.

    Args:
        irreps: the distinct irreps :math:`\rho_i` that occur.
        multiplicities: their multiplicities :math:`m_i`.
        Q: the orthogonal change of basis, ``(d, d)``, rows the new basis vectors.
    """

    irreps: list[Rep]
    multiplicities: list[int]
    Q: torch.Tensor

    def as_rep(self) -> Rep:
        """The block-diagonal rep :math:`\\bigoplus_i m_i \\rho_i`."""
        return sum((m * r for r, m in zip(self.irreps, self.multiplicities)), 0)

    def __str__(self):
        """``1x0e + 1x1e + 1x2e`` (e3nn's names for O(3)); ``2x(k=1)`` where a name has an ``=``."""
        return " + ".join(f"{m}x({r})" if "=" in str(r) else f"{m}x{r}" for r, m in zip(self.irreps, self.multiplicities))

    def __repr__(self):
        group = self.irreps[0].group if self.irreps else None
        return f"Decomposition({group!r}: {self})"


def character_multiplicity(rep: Rep, irrep: Rep) -> int:
    r"""How often an irrep occurs in a rep of a finite group, from the characters,

    .. math::
        m = \frac{\langle \chi_\rho, \chi_\pi \rangle}{\langle \chi_\pi, \chi_\pi \rangle},
        \qquad \langle \chi, \psi \rangle = \sum_{g \in G} \chi(g) \psi(g).

    Args:
        rep: the rep :math:`\rho`, of a finite group.
        irrep: the irrep :math:`\pi`, of the same group.

    Returns:
        The multiplicity, an ``int`` (``ValueError`` when the ratio is not an integer).
    """
    G = rep.group
    els = G.elements()
    a, b = rep.character(els), irrep.character(els)
    return isclose_int(float((a * b).sum() / (b * b).sum()))


def decompose(rep: Rep, max_index: int | None = None) -> Decomposition:
    r"""Decompose ``rep`` into irreps with an orthogonal change of basis ``Q``.

    For each candidate irrep :math:`\pi`, the equivariant maps :math:`\pi \to \rho` span the
    :math:`\pi`-isotypic component; one map per copy is picked greedily (by Schur's lemma
    :math:`W^T W \propto I`, so each normalized map is an isometry). Finite groups use all
    irreps; SO(2)/O(2)/SO(3)/O(3) candidates up to ``max_index``.

    Args:
        rep: the rep to decompose.
        max_index: the largest frequency / degree tried for the continuous groups
            (default: ``rep.dim``, enough for every degree that fits).

    Returns:
        A :class:`Decomposition` with :math:`Q \rho(g) Q^T = \bigoplus_i m_i \rho_i(g)`;
        ``ValueError`` when the irreps found do not cover ``rep``.
    """
    G = rep.group
    if max_index is None:
        max_index = rep.dim
    candidates = irreps(G, max_index)
    blocks, found, mults = [], [], []
    covered = 0
    for pi in candidates:
        if pi.dim > rep.dim - covered:
            continue
        maps = equivariant_basis(pi, rep)  # (k, d, d_pi)
        if not maps.shape[0]:
            continue
        chosen = []
        for W in maps:
            for V in chosen:  # remove the part of W's image already taken
                W = W - V @ (V.T @ W)
            norm = torch.linalg.matrix_norm(W, ord=2)
            if norm < 1e-6:
                continue
            # W^T W = c I up to rounding: normalize to an isometry
            c = (W.T @ W).diagonal().mean()
            chosen.append(W / c.sqrt())
        if chosen:
            found.append(pi)
            mults.append(len(chosen))
            blocks.extend(chosen)
            covered += len(chosen) * pi.dim
    if covered != rep.dim:
        raise ValueError(f"could not decompose {rep!r}: irreps found cover {covered} of {rep.dim} dimensions "
                         f"(raise max_index above {max_index}?)")
    Q = torch.cat(blocks, 1).T  # rows: the new basis
    return Decomposition(found, mults, Q.contiguous())
