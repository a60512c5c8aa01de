r"""Graph construction in plain torch (no torch_cluster): the conventions every builder
follows, the batch checks they share, and the complete graph.

Every builder (:func:`fully_connected_graph`, :func:`~symmetries.nn.graphs.radius_graph`,
:func:`~symmetries.nn.graphs.knn_graph`) returns ``edge_index`` ``[2, E]`` long in PyG's
``source_to_target`` flow:

- row 0 holds the neighbour (source) :math:`j`, row 1 the centre (target) :math:`i`;
  messages flow :math:`j \to i`;
- edges are sorted by target :math:`i`, then by source :math:`j` (then, in a periodic
  radius graph, by cell shift: a fixed order of the images of one source), so the order
  depends on which pairs are edges, never on the distances;
- nodes of different graphs of ``batch`` are never joined; ``batch`` ``[N]`` must be sorted
  (the nodes of each graph contiguous), as in a PyG ``Batch``;
- without ``loop`` there are no edges :math:`i \to i` (in a periodic radius graph a node's
  own periodic images are still its neighbours).

With these rules the radius graph of a radius larger than every graph equals the complete
graph, edge for edge.
"""

from __future__ import annotations

import torch

from symmetries._internal.tracing import is_compiling


def check_batch(batch: torch.Tensor | None, n: int, device, where: str) -> torch.Tensor:
    """A validated, sorted ``[N]`` long batch vector (zeros when ``batch`` is ``None``)."""
    if batch is None:
        return torch.zeros(n, dtype=torch.long, device=device)
    if not torch.is_tensor(batch) or batch.dtype != torch.long or batch.dim() != 1:
        got = f"shape {tuple(batch.shape)} {batch.dtype}" if torch.is_tensor(batch) else type(batch).__name__
        raise ValueError(f"{where}: batch must be a 1-D long tensor [N], got {got}")
    if batch.shape[0] != n:
        raise ValueError(f"{where}: batch has {batch.shape[0]} entries but there are {n} nodes: "
                         f"it must map each node to its graph")
    if batch.device != device:
        raise ValueError(f"{where}: batch is on {batch.device} but the nodes on {device}")
    if n and not is_compiling():
        if int(batch[0]) < 0:
            raise ValueError(f"{where}: batch entries must be graph indices >= 0, got {int(batch[0])}")
        down = (batch[1:] < batch[:-1]).nonzero()
        if down.numel():
            k = int(down[0]) + 1
            raise ValueError(f"{where}: batch must be sorted (the nodes of each graph contiguous, as in a PyG "
                             f"Batch), got batch[{k}] = {int(batch[k])} after batch[{k - 1}] = {int(batch[k - 1])}")
    return batch


def _complete_sources(start: torch.Tensor, local: torch.Tensor, k: torch.Tensor, loop: bool) -> torch.Tensor:
    """Source of the ``k``-th edge into the node at position ``local`` of the block starting
    at ``start``: the block's nodes in order, skipping the node itself unless ``loop``."""
    return start + k if loop else start + k + (k >= local).long()


def fully_connected_graph(batch: torch.Tensor | int, loop: bool = False, num_graphs: int | None = None,
                          device: torch.device | str | None = None) -> torch.Tensor:
    r"""The complete graph of each graph of a batch: every edge :math:`j \to i` with
    :math:`j \ne i` (or all pairs, with ``loop``) between nodes of the same graph.

    Two forms, one builder (the same edges in the same order):

    - ``batch`` a ``[N]`` sorted batch vector: graphs of any sizes ``n_b``;
    - ``batch`` an int ``M``: ``num_graphs`` (default 1) graphs of ``M`` nodes each, graph
      ``b`` holding nodes ``b M, ..., b M + M - 1`` (a dense ``[B, M, ...]`` batch
      flattened to ``[B M, ...]``). This form builds its edges from ``arange`` alone, with
      shapes that depend on ``M`` and ``num_graphs`` only, so it can be captured in a CUDA
      graph or compiled by ``torch.compile(fullgraph=True)``.

    Edges are sorted by target, then by source. Graph :math:`b` has
    :math:`n_b (n_b - 1)` edges (:math:`n_b^2` with ``loop``).

    Args:
        batch: ``[N]`` long batch vector, or the number of nodes per graph ``M``.
        loop: add the self-loops :math:`i \to i` (default: ``False``).
        num_graphs: with an int ``batch``, the number of graphs ``B`` (default: ``None``, 1).
        device: with an int ``batch``, where to build (default: the CPU); a batch vector's
            graph is built on its device.

    Returns:
        ``edge_index``, long, sources in row 0 and targets in row 1.

    Shapes:
        - **input:** batch ``[N]``, or ``M`` (``N = B M``)
        - **output:** edge_index ``[2, E]``, :math:`E = \sum_b n_b (n_b - 1)` (``B M (M - 1)``)

    Raises:
        ValueError: for an empty graph, an unsorted batch vector, or ``num_graphs`` /
            ``device`` with a batch vector.

    Example::

        >>> fully_connected_graph(3)
        tensor([[1, 2, 0, 2, 0, 1],
                [0, 0, 1, 1, 2, 2]])
    """
    if isinstance(batch, (int, torch.SymInt)) and not isinstance(batch, bool):
        return _dense_complete(batch, 1 if num_graphs is None else num_graphs, loop, device)
    if num_graphs is not None or device is not None:
        raise ValueError("fully_connected_graph: num_graphs and device go with an int number of nodes per graph; "
                         "a batch vector already says which node is in which graph (and where)")
    if not torch.is_tensor(batch):
        raise ValueError(f"fully_connected_graph: batch must be a [N] batch vector or an int number of nodes, "
                         f"got {type(batch).__name__}")
    n = batch.shape[0] if batch.dim() == 1 else -1
    batch = check_batch(batch, n, batch.device, "fully_connected_graph")
    if n == 0:
        raise ValueError("fully_connected_graph: empty graph: the batch vector has 0 entries "
                         "(a graph needs at least one node)")
    counts = torch.bincount(batch)
    start = (torch.cumsum(counts, 0) - counts)[batch]
    local = torch.arange(n, device=batch.device) - start
    per_target = counts[batch] - (0 if loop else 1)
    target = torch.repeat_interleave(torch.arange(n, device=batch.device), per_target)
    first = torch.cumsum(per_target, 0) - per_target
    k = torch.arange(target.shape[0], device=batch.device) - first[target]
    return torch.stack([_complete_sources(start[target], local[target], k, loop), target])


def _dense_complete(nodes, num_graphs, loop, device):
    if nodes < 1:
        raise ValueError(f"fully_connected_graph: a graph needs at least one node, got {nodes}")
    if num_graphs < 0:
        raise ValueError(f"fully_connected_graph: num_graphs must be >= 0, got {num_graphs}")
    width = nodes if loop else nodes - 1  # edges into each node
    node = torch.arange(num_graphs * nodes, device=device)
    local = node % nodes
    k = torch.arange(width, device=device)
    source = _complete_sources((node - local)[:, None], local[:, None], k[None, :], loop)
    return torch.stack([source.reshape(-1), node[:, None].expand(-1, width).reshape(-1)])
