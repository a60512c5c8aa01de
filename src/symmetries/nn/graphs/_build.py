"""Graph construction in plain torch (no torch_cluster): radius, k-nearest-neighbour and
fully connected graphs, batched by a PyG ``batch`` vector.

Every function returns ``edge_index`` ``[2, E]`` in PyG's ``source_to_target`` flow: row 0
the neighbour ``j``, row 1 the centre ``i`` (messages flow ``j -> i``), sorted by centre and
then by distance (ties by neighbour index). Nodes of different graphs are never joined.
Distances are computed exactly as :math:`\\sum_k (p_{ik} - p_{jk})^2`, in row blocks of
``2**24 / N`` rows so memory stays ``O(N)`` per block.
"""

from __future__ import annotations

import torch

from symmetries.nn.graphs._scatter import check_graph

_BLOCK_ENTRIES = 2**24


def _prepare(pos, batch):
    if not torch.is_tensor(pos) or pos.dim() != 2 or not pos.is_floating_point():
        raise ValueError(f"pos must be a float tensor [N, d], got "
                         f"{tuple(pos.shape) if torch.is_tensor(pos) else type(pos).__name__}")
    check_graph(pos, batch=batch)
    if batch is None:
        batch = torch.zeros(pos.shape[0], dtype=torch.long, device=pos.device)
    return batch


def _neighbours(pos, batch, k, radius, loop):
    """For each node, the up to ``k`` nearest candidates within ``radius``: (target, source)."""
    n = pos.shape[0]
    k = min(k, n)
    rows = max(1, _BLOCK_ENTRIES // max(n, 1))
    targets, sources = [], []
    index = torch.arange(n, device=pos.device)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        d2 = (pos[start:stop, None, :] - pos[None, :, :]).pow(2).sum(-1)
        bad = batch[start:stop, None] != batch[None, :]
        if not loop:
            bad = bad | (index[start:stop, None] == index[None, :])
        d2 = d2.masked_fill(bad, float("inf"))
        # stable order: sort by distance, ties by index (sort is stable on the index order)
        order = torch.sort(d2, dim=1, stable=True).indices[:, :k]
        dist = torch.gather(d2, 1, order)
        keep = torch.isfinite(dist) if radius is None else dist <= radius * radius
        t = index[start:stop, None].expand_as(order)
        targets.append(t[keep])
        sources.append(order[keep])
    return torch.stack([torch.cat(sources), torch.cat(targets)])


def radius_graph(pos: torch.Tensor, r: float, batch: torch.Tensor | None = None, loop: bool = False,
                 max_num_neighbors: int = 32) -> torch.Tensor:
    r"""Edges ``j -> i`` between nodes of the same graph with :math:`|p_i - p_j| \le r`.

    ``pos`` ``[N, d]``, ``batch`` ``[N]`` (optional). At most ``max_num_neighbors`` per node
    are kept, the nearest ones (torch_cluster keeps an arbitrary subset). ``loop`` adds
    ``i -> i``. Returns ``edge_index`` ``[2, E]``.
    """
    if not r > 0:
        raise ValueError(f"radius must be positive, got {r}")
    if int(max_num_neighbors) < 1:
        raise ValueError(f"max_num_neighbors must be >= 1, got {max_num_neighbors}")
    batch = _prepare(pos, batch)
    return _neighbours(pos, batch, int(max_num_neighbors), float(r), loop)


def knn_graph(pos: torch.Tensor, k: int, batch: torch.Tensor | None = None, loop: bool = False) -> torch.Tensor:
    r"""Edges ``j -> i`` from each node's ``k`` nearest neighbours ``j`` in its own graph.

    A graph with fewer than ``k + 1`` nodes contributes all its pairs. ``pos`` ``[N, d]``,
    ``batch`` ``[N]`` (optional); ``loop`` counts the node itself among its neighbours.
    """
    if int(k) < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    batch = _prepare(pos, batch)
    return _neighbours(pos, batch, int(k), None, loop)


def fully_connected_graph(batch: torch.Tensor | int, loop: bool = False) -> torch.Tensor:
    """All edges ``j -> i`` between nodes of the same graph. ``batch`` is a ``[N]`` batch
    vector, or an int ``N`` for one graph of ``N`` nodes. Sorted by target, then source."""
    if isinstance(batch, int):
        if batch < 1:
            raise ValueError(f"a graph needs at least one node, got {batch}")
        batch = torch.zeros(batch, dtype=torch.long)
    check_graph(batch, batch=batch)
    same = batch[:, None] == batch[None, :]
    if not loop:
        same.fill_diagonal_(False)
    target, source = same.nonzero(as_tuple=True)
    return torch.stack([source, target])
