"""Equivariant layers for any group: linear maps solved from the constraint, EMLP, bilinear
maps and gated nonlinearities, on features that transform by a :class:`~symmetries.reps.Rep`."""

from symmetries.nn.linear._equivariant_linear import EquivariantLinear
from symmetries.nn.linear._emlp import EMLP, EquivariantBilinear, GatedNonlinearity

__all__ = ["EquivariantLinear", "EMLP", "EquivariantBilinear", "GatedNonlinearity"]
