"""models"""

# --- interatomic potential (issue 3)
from ._batch import AtomsBatch, GraphData  # noqa: E402,F401
from ._neighbors import edge_vectors, neighbor_list  # noqa: E402,F401
from ._potential import Potential  # noqa: E402,F401
from ._convolution import PointConvolution, hidden_irreps  # noqa: E402,F401
from ._nequip import NequIP  # noqa: E402,F401
from ._training import evaluate_potential, potential_loss, train_potential  # noqa: E402,F401

# --- steerable message passing on point clouds (issue 5)
from ._tfn import TFN, TFNLayer  # noqa: E402,F401
from ._se3_transformer import SE3Transformer, SE3TransformerLayer  # noqa: E402,F401
from ._segnn import SEGNN, SEGNNLayer, SteerableLinear  # noqa: E402,F401


def __getattr__(name):
    # the ase calculator imports ase, an optional dependency: load it on first use
    if name == "PotentialCalculator":
        from ._calculator import PotentialCalculator

        return PotentialCalculator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
