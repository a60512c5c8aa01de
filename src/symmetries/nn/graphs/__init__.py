"""Graphs in PyTorch Geometric's layout (``x [N, C]``, ``edge_index [2, E]``, ``batch [N]``):
scatter reductions, graph building (one radius graph, periodic cells included; k-nearest;
one complete graph, from a batch vector or for equal-size dense blocks), message passing
and EGNN.

Every builder returns ``edge_index`` with row 0 the source :math:`j` and row 1 the target
:math:`i`, sorted by target then source; a pair at exactly the radius is not an edge (see
:func:`radius_graph`)."""

from symmetries.nn.graphs._build import fully_connected_graph
from symmetries.nn.graphs._egnn import EGNN, EGNNLayer
from symmetries.nn.graphs._message_passing import GNN, GNNLayer, MessagePassing
from symmetries.nn.graphs._radius import edge_vectors, knn_graph, radius_graph
from symmetries.nn.graphs._scatter import POOLS, check_graph, global_pool, scatter, scatter_unchecked

__all__ = ["scatter", "scatter_unchecked", "global_pool", "POOLS", "check_graph", "radius_graph", "knn_graph",
           "fully_connected_graph", "edge_vectors", "MessagePassing", "GNN", "GNNLayer", "EGNN", "EGNNLayer"]
