"""Graphs in PyTorch Geometric's layout (``x [N, C]``, ``edge_index [2, E]``, ``batch [N]``):
scatter reductions, graph building (radius with periodic cells, k-nearest, complete),
message passing and EGNN."""

from symmetries.nn.graphs._build import fully_connected_graph, knn_graph, radius_graph
from symmetries.nn.graphs._egnn import EGNN, EGNNLayer, dense_complete_edges
from symmetries.nn.graphs._message_passing import GNN, GNNLayer, MessagePassing
from symmetries.nn.graphs._neighbors import edge_vectors, neighbor_list
from symmetries.nn.graphs._scatter import check_graph, global_pool, scatter, scatter_unchecked

__all__ = ["scatter", "scatter_unchecked", "global_pool", "check_graph", "radius_graph", "knn_graph", "fully_connected_graph", "dense_complete_edges",
           "neighbor_list", "edge_vectors", "MessagePassing", "GNN", "GNNLayer", "EGNN", "EGNNLayer"]
