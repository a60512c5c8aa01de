"""Representations: the Rep algebra, irreps, characters, decomposition, equivariant bases."""

from ._basic import PermutationRep, StandardRep, TrivialRep, regular
from ._basis import basis_size, equivariant_basis
from ._decompose import Decomposition, character_multiplicity, decompose
from ._irreps import Irrep, irrep, irreps
from ._product import DualRep, TensorRep
from ._rep import Rep
from ._sum import SumRep


def trivial(group):
    """The trivial representation :math:`\\rho(g) = 1`."""
    return TrivialRep(group)


def standard(group):
    """The defining representation (matrices of a matrix group, permutations for S_n, ...)."""
    return StandardRep(group)


__all__ = [
    "Rep", "SumRep", "TensorRep", "DualRep", "TrivialRep", "StandardRep", "PermutationRep", "Irrep",
    "trivial", "standard", "regular", "irrep", "irreps", "equivariant_basis", "basis_size",
    "decompose", "Decomposition", "character_multiplicity",
]
