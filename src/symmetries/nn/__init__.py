"""Equivariant layers and networks, one file per domain."""

# --- linear / EMLP (foundation)
from ._linear import EquivariantLinear  # noqa: F401
from ._emlp import EMLP, EquivariantBilinear, GatedNonlinearity

# --- O(3) layers (issue 3)

# --- sets, graphs, attention, EGNN (issue 5)

# --- images: group and steerable CNNs (issue 4)

__all__ = ["EquivariantLinear", "EMLP", "EquivariantBilinear", "GatedNonlinearity"]
