"""SO(3)/O(3) harmonic analysis in e3nn 0.6 conventions: irreps, spherical harmonics,
Wigner D matrices and Clebsch-Gordan (3j) coefficients."""

from symmetries.o3._irreps import Irrep, Irreps, MulIrrep
from symmetries.o3._rep import IrrepsRep
from symmetries.o3._spherical_harmonics import spherical_harmonics
from symmetries.o3._wigner import angles_to_matrix, matrix_to_angles, wigner_3j, wigner_D

__all__ = [
    "Irrep", "Irreps", "MulIrrep", "IrrepsRep", "spherical_harmonics", "wigner_D", "wigner_3j",
    "angles_to_matrix", "matrix_to_angles",
]
