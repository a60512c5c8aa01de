"""Equivariant layers and networks, a subpackage per domain: :mod:`~symmetries.nn.linear`
(any group), :mod:`~symmetries.nn.o3` (irreps), :mod:`~symmetries.nn.sets`,
:mod:`~symmetries.nn.graphs`, :mod:`~symmetries.nn.images` and :mod:`~symmetries.nn.gauge`
(lattice gauge fields). The public names of all but the last are also re-exported here."""

from symmetries.nn import gauge, graphs, images, linear, o3, sets
from symmetries.nn._mlp import mlp
from symmetries.nn.graphs import (EGNN, GNN, EGNNLayer, GNNLayer, MessagePassing, check_graph, edge_vectors,
                                  fully_connected_graph, global_pool, knn_graph, radius_graph, scatter)
from symmetries.nn.images import (AntialiasedPool2d, FieldBatchNorm2d, FieldType, GatedNonlinearity2d, GroupConv2d,
                                  GroupPool2d, NormNonlinearity2d, PointwiseMaxPool2d, PointwiseNonlinearity2d, R2Conv,
                                  R2ConvTranspose)
from symmetries.nn.linear import EMLP, EquivariantBilinear, EquivariantLinear, GatedNonlinearity
from symmetries.nn.o3 import (BesselBasis, ElementwiseTensorProduct, FullTensorProduct, FullyConnectedTensorProduct,
                              Gate, Instruction, IrrepsBatchNorm, IrrepsLayerNorm, IrrepsLinear, NormActivation,
                              PointConvolution, PolynomialCutoff, RadialEmbedding, SphericalHarmonics, SteerableLinear,
                              TensorProduct, hidden_irreps)
from symmetries.nn.sets import (AttentionPooling, DeepSets, DeepSetsLayer, EquivariantDeepSets, InducedSetAttention,
                                MultiheadAttentionBlock, PermutationLinear, SetAttention, check_set, set_partitions,
                                set_pool)

__all__ = ["linear", "o3", "sets", "graphs", "images", "gauge", "mlp", "EGNN", "GNN", "EGNNLayer", "GNNLayer",
           "MessagePassing", "check_graph", "edge_vectors", "fully_connected_graph", "global_pool", "knn_graph",
           "radius_graph", "scatter", "AntialiasedPool2d", "FieldBatchNorm2d", "FieldType",
           "GatedNonlinearity2d", "GroupConv2d", "GroupPool2d", "NormNonlinearity2d", "PointwiseMaxPool2d",
           "PointwiseNonlinearity2d", "R2Conv", "R2ConvTranspose", "EMLP", "EquivariantBilinear",
           "EquivariantLinear", "GatedNonlinearity", "BesselBasis", "ElementwiseTensorProduct", "FullTensorProduct",
           "FullyConnectedTensorProduct", "Gate", "Instruction", "IrrepsBatchNorm", "IrrepsLayerNorm",
           "IrrepsLinear", "NormActivation", "PointConvolution", "PolynomialCutoff", "RadialEmbedding",
           "SphericalHarmonics", "SteerableLinear", "TensorProduct", "hidden_irreps", "AttentionPooling", "DeepSets",
           "DeepSetsLayer", "EquivariantDeepSets", "InducedSetAttention", "MultiheadAttentionBlock",
           "PermutationLinear", "SetAttention", "check_set", "set_partitions", "set_pool"]
