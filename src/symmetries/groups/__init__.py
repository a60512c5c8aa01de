"""Groups: finite (cyclic, dihedral, symmetric), Lie (SO(n), O(n), Lorentz), generated, products."""

from ._group import Group
from ._finite import Cyclic, Dihedral, Symmetric
from ._matrix import MatrixGroup
from ._orthogonal import O, SO, O2, O3, O13, SO2, SO3, Lorentz, haar_orthogonal, so_generators
from ._product import DirectProduct

__all__ = [
    "Group", "Cyclic", "Dihedral", "Symmetric", "MatrixGroup", "SO", "O", "SO2", "O2", "SO3", "O3",
    "Lorentz", "O13", "DirectProduct", "so_generators", "haar_orthogonal",
]
