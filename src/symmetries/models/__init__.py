"""models"""

# --- interatomic potential (issue 3)
from ._batch import AtomsBatch, GraphData  # noqa: E402,F401
from ._neighbors import edge_vectors, neighbor_list  # noqa: E402,F401
from ._potential import Potential  # noqa: E402,F401
from ._nequip import NequIP, hidden_irreps  # noqa: E402,F401
from ._training import evaluate_potential, potential_loss, train_potential  # noqa: E402,F401


def __getattr__(name):
    # the ase calculator imports ase, an optional dependency: load it on first use
    if name == "PotentialCalculator":
        from ._calculator import PotentialCalculator

        return PotentialCalculator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
