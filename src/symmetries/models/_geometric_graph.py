"""Inputs of the message-passing models on 3D point clouds: validated graph and edge geometry."""

from __future__ import annotations

import torch

from symmetries.nn import check_graph, fully_connected_graph
from symmetries.nn.o3 import check_irreps_input


def geometric_graph(x, pos, edge_index, batch, edge_scalars, irreps_in, num_edge_scalars: int):
    r"""Check a point-cloud graph in PyG layout and return ``(edge_index, vectors)``.

    Args:
        x: node features ``[N, irreps_in.dim]``.
        pos: positions ``[N, 3]``.
        edge_index: ``[2, E]``, row 0 the source :math:`j`, row 1 the target :math:`i`;
            ``None``: the complete graph within each graph of ``batch``.
        batch: ``[N]`` the graph of each node, or ``None``.
        edge_scalars: ``[E, num_edge_scalars]`` invariant edge features, or ``None``.
        irreps_in: the irreps of ``x``.
        num_edge_scalars: the number of edge scalars the model expects (0: none).

    Returns:
        ``(edge_index, vectors)``, ``vectors`` ``[E, 3]`` being :math:`x_j - x_i`, from the
        receiving node to the sender.

    Raises:
        ValueError: naming the shape expected and the one given.
    """
    check_irreps_input(irreps_in, x, "node features")
    if x.dim() != 2:
        raise ValueError(f"node features must have shape [N, {irreps_in.dim}], got {tuple(x.shape)}")
    if not torch.is_tensor(pos) or pos.dim() != 2 or pos.shape[-1] != 3:
        raise ValueError(f"positions must have shape [N, 3], got "
                         f"{tuple(pos.shape) if torch.is_tensor(pos) else type(pos).__name__}")
    if edge_index is None:
        check_graph(x, batch=batch, pos=pos)
        edge_index = (fully_connected_graph(batch) if batch is not None
                      else fully_connected_graph(x.shape[0], device=x.device))
        batch = None  # checked just now; the graph built from it is checked below
    check_graph(x, edge_index, batch, pos, edge_scalars if num_edge_scalars else None)
    if num_edge_scalars:
        if edge_scalars is None:
            raise ValueError(f"this model expects edge_scalars [E, {num_edge_scalars}], got None")
        if edge_scalars.dim() != 2 or edge_scalars.shape[1] != num_edge_scalars:
            raise ValueError(f"edge_scalars must have shape [E, {num_edge_scalars}], got {tuple(edge_scalars.shape)}")
    elif edge_scalars is not None and edge_scalars.shape[-1] != 0:
        raise ValueError(f"this model was built with num_edge_scalars=0 but got edge_scalars {tuple(edge_scalars.shape)}")
    vectors = pos[edge_index[0]] - pos[edge_index[1]]
    return edge_index, vectors
