"""Equivariant layers and networks, one file per domain."""

# --- linear / EMLP (foundation)
from ._linear import EquivariantLinear
from ._emlp import EMLP, EquivariantBilinear, GatedNonlinearity

# --- O(3) layers (issue 3)
from ._o3_tensor_product import FullyConnectedTensorProduct, Instruction, TensorProduct
from ._o3_full_tensor_product import ElementwiseTensorProduct, FullTensorProduct
from ._o3_linear import IrrepsLinear
from ._o3_gate import Gate, NormActivation
from ._o3_norm import IrrepsBatchNorm, IrrepsLayerNorm
from ._o3_radial import BesselBasis, PolynomialCutoff, RadialEmbedding
from ._o3_spherical import SphericalHarmonics

# --- sets, graphs, attention, EGNN (issue 5)
from ._sets import DeepSets, DeepSetsLayer, EquivariantDeepSets, check_set, set_pool
from ._sets_linear import PermutationLinear, set_partitions
from ._attention import AttentionPooling, InducedSetAttention, MultiheadAttentionBlock, SetAttention
from ._graph_scatter import check_graph, global_pool, scatter
from ._graph_build import fully_connected_graph, knn_graph, radius_graph
from ._graph import GNN, GNNLayer, MessagePassing
from ._egnn import EGNN, EGNNLayer

# --- images: group and steerable CNNs (issue 4)
from . import images
from .images import (AntialiasedPool2d, FieldBatchNorm2d, FieldType, GatedNonlinearity2d, GroupConv2d, GroupPool2d,
                     NormNonlinearity2d, PointwiseMaxPool2d, PointwiseNonlinearity2d, R2Conv, R2ConvTranspose)

__all__ = ["EquivariantLinear", "EMLP", "EquivariantBilinear", "GatedNonlinearity"]
__all__ += ["TensorProduct", "FullyConnectedTensorProduct", "FullTensorProduct", "ElementwiseTensorProduct",  # (issue 3)
            "Instruction", "IrrepsLinear", "Gate",
            "NormActivation", "IrrepsBatchNorm", "IrrepsLayerNorm", "BesselBasis", "PolynomialCutoff",
            "RadialEmbedding", "SphericalHarmonics"]
__all__ += ["DeepSets", "DeepSetsLayer", "EquivariantDeepSets", "check_set", "set_pool",  # (issue 5)
            "PermutationLinear", "set_partitions", "AttentionPooling", "InducedSetAttention",
            "MultiheadAttentionBlock", "SetAttention", "check_graph", "global_pool", "scatter",
            "fully_connected_graph", "knn_graph", "radius_graph", "GNN", "GNNLayer", "MessagePassing", "EGNN",
            "EGNNLayer"]
__all__ += ["images", "FieldType", "R2Conv", "GroupConv2d", "R2ConvTranspose", "PointwiseNonlinearity2d",  # (issue 4)
            "NormNonlinearity2d", "GatedNonlinearity2d", "FieldBatchNorm2d", "GroupPool2d", "AntialiasedPool2d",
            "PointwiseMaxPool2d"]
