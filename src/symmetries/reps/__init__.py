"""Representations: the Rep algebra, irreps, characters, decomposition, equivariant bases, and
the coefficients-times-block-basis expansion of equivariant maps."""

from symmetries.reps._basic import PermutationRep, StandardRep, TrivialRep, regular
from symmetries.reps._basis import BasisBlock, basis_blocks, basis_size, block_basis, equivariant_basis
from symmetries.reps._decompose import Decomposition, character_multiplicity, decompose
from symmetries.reps._expansion import BlockBasisExpansion, summand_indices
from symmetries.reps._irreps import IrreducibleRep, irrep, irreps
from symmetries.reps._product import DualRep, TensorRep
from symmetries.reps._rep import Rep
from symmetries.reps._sum import SumRep


def trivial(group):
    """The trivial representation :math:`\\rho(g) = 1`."""
    return TrivialRep(group)


def standard(group):
    """The defining representation (matrices of a matrix group, permutations for S_n, ...)."""
    return StandardRep(group)


__all__ = [
    "Rep", "SumRep", "TensorRep", "DualRep", "TrivialRep", "StandardRep", "PermutationRep", "IrreducibleRep",
    "trivial", "standard", "regular", "irrep", "irreps", "equivariant_basis", "basis_size", "block_basis", "basis_blocks", "BasisBlock",
    "decompose", "Decomposition", "character_multiplicity", "BlockBasisExpansion", "summand_indices",
]
