"""Scatter reductions and graph input checks in plain torch (no torch_scatter).

PyTorch Geometric's conventions: ``edge_index`` is a long tensor ``[2, E]`` whose row 0
holds the source node ``j`` and row 1 the target node ``i`` of the message ``j -> i``; a
``batch`` vector ``[N]`` maps each node to its graph.
"""

from __future__ import annotations

import torch

from symmetries._internal.tracing import is_compiling

REDUCTIONS = ("sum", "mean", "max", "min")
#: the reductions that pool node features into graph features
POOLS = ("sum", "mean", "max")


def scatter(src: torch.Tensor, index: torch.Tensor, dim: int = 0, dim_size: int | None = None,
            reduce: str = "sum") -> torch.Tensor:
    r"""Reduce the slices of ``src`` along ``dim`` into ``dim_size`` buckets given by ``index``,

    .. math::
        \mathrm{out}_k = \bigoplus_{e:\ \mathrm{index}_e = k} \mathrm{src}_e,

    with :math:`\oplus` one of ``"sum"``, ``"mean"``, ``"max"``, ``"min"``. Buckets that
    receive nothing are 0 (as in torch_scatter).

    Args:
        src: the values.
        index: long, the bucket of each slice of ``src`` along ``dim``, in ``[0, dim_size)``.
        dim: the axis to reduce (default: 0).
        dim_size: the number of buckets (default: ``None``, ``index.max() + 1``).
        reduce: ``"sum"`` (default), ``"mean"``, ``"max"`` or ``"min"``.

    Returns:
        The reduced tensor, ``src``'s shape with ``dim_size`` along ``dim``.

    Shapes:
        - **input:** src ``[..., E, ...]`` (``E`` along ``dim``), index ``[E]``
        - **output:** ``[..., dim_size, ...]``

    Raises:
        ValueError: for an unknown ``reduce``, an ``index`` that is not 1-D long or does
            not match ``src`` along ``dim``, or values outside ``[0, dim_size)`` (not
            checked under ``torch.compile``).
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    if not torch.is_tensor(index) or index.dtype != torch.long or index.dim() != 1:
        raise ValueError(f"index must be a 1-D long tensor, got {_describe(index)}")
    dim = dim % src.dim() if src.dim() else 0
    if src.dim() == 0 or index.shape[0] != src.shape[dim]:
        raise ValueError(f"index has {index.shape[0]} entries but src has shape {tuple(src.shape)} "
                         f"({'no dim' if src.dim() == 0 else src.shape[dim]} along dim {dim})")
    if dim_size is None:
        dim_size = int(index.max()) + 1 if index.numel() else 0
    if not is_compiling() and index.numel():
        lo, hi = torch.stack([index.min(), index.max()]).tolist()  # one device sync
        if lo < 0 or hi >= dim_size:
            raise ValueError(f"index values must lie in [0, {dim_size}), got {lo}..{hi}")
    return scatter_unchecked(src, index, dim, dim_size, reduce)


def scatter_unchecked(src: torch.Tensor, index: torch.Tensor, dim: int, dim_size: int, reduce: str) -> torch.Tensor:
    """:func:`scatter` without input checks (for layers whose graph was validated once).

    Args:
        src: the values.
        index: long ``[src.shape[dim]]``, entries in ``[0, dim_size)``.
        dim: the axis to reduce.
        dim_size: the number of buckets.
        reduce: ``"sum"``, ``"mean"``, ``"max"`` or ``"min"``.

    Returns:
        ``src``'s shape with ``dim_size`` along ``dim``; empty buckets are 0.
    """
    moved = src.movedim(dim, 0)
    shape = (dim_size,) + tuple(moved.shape[1:])
    idx = index.view(-1, *([1] * (moved.dim() - 1))).expand_as(moved)
    out = moved.new_zeros(shape)
    if reduce in ("sum", "mean"):
        out = out.scatter_add(0, idx, moved)
        if reduce == "mean":
            count = torch.zeros(dim_size, dtype=moved.dtype, device=moved.device).index_add(
                0, index, torch.ones_like(index, dtype=moved.dtype))
            out = out / count.clamp_min(1).view(-1, *([1] * (moved.dim() - 1)))
    else:
        out = out.scatter_reduce(0, idx, moved, "amax" if reduce == "max" else "amin", include_self=False)
    return out.movedim(0, dim)


def global_pool(x: torch.Tensor, batch: torch.Tensor | None = None, reduce: str = "sum",
                num_graphs: int | None = None) -> torch.Tensor:
    r"""Pool node features into graph features, :math:`h_b = \bigoplus_{i:\ \mathrm{batch}_i = b} x_i`
    (a :func:`scatter` along the nodes).

    Args:
        x: node features.
        batch: the graph of each node (default: ``None``, all nodes in one graph).
        reduce: one of :data:`POOLS` (``"sum"``, default, ``"mean"``, ``"max"``), or ``"min"``.
        num_graphs: the number of graphs ``B`` (default: ``None``, ``batch.max() + 1``);
            unused without ``batch``.

    Returns:
        The graph features.

    Shapes:
        - **input:** x ``[N, ...]``, batch ``[N]``
        - **output:** ``[B, ...]`` (``[1, ...]`` without ``batch``)
    """
    if batch is None:
        return scatter(x, torch.zeros(x.shape[0], dtype=torch.long, device=x.device), 0, 1, reduce)
    return scatter(x, batch, 0, num_graphs, reduce)


def check_graph(x: torch.Tensor, edge_index: torch.Tensor | None = None, batch: torch.Tensor | None = None,
                pos: torch.Tensor | None = None, edge_attr: torch.Tensor | None = None) -> int:
    """Validate graph inputs in PyG layout and return the number of nodes ``N``.

    Value checks (which synchronize with the device) are skipped under ``torch.compile``.

    Args:
        x: node features ``[N, ...]``, ``N >= 1``.
        edge_index: long ``[2, E]`` with entries in ``[0, N)``, on ``x``'s device (optional).
        batch: long ``[N]``, non-negative (optional).
        pos: positions ``[N, d]`` (optional).
        edge_attr: ``[E, ...]``, one row per edge; checked with ``edge_index`` only (optional).

    Returns:
        ``N``.

    Raises:
        ValueError: naming what was expected and what came.
    """
    if not torch.is_tensor(x) or x.dim() == 0:
        raise ValueError(f"node features must be a tensor [N, ...], got {_describe(x)}")
    n = x.shape[0]
    if n == 0:
        raise ValueError("empty graph: the node features have 0 rows (a graph needs at least one node)")
    if edge_index is not None:
        if not torch.is_tensor(edge_index) or edge_index.dtype != torch.long:
            raise ValueError(f"edge_index must be a long tensor [2, E], got {_describe(edge_index)}")
        if edge_index.dim() != 2 or edge_index.shape[0] != 2:
            hint = " (transposed? PyG uses [2, E])" if edge_index.dim() == 2 and edge_index.shape[1] == 2 else ""
            raise ValueError(f"edge_index must have shape [2, E], got {tuple(edge_index.shape)}{hint}")
        if edge_index.device != x.device:
            raise ValueError(f"edge_index is on {edge_index.device} but the node features on {x.device}")
        if not is_compiling() and edge_index.numel():
            lo, hi = torch.stack([edge_index.min(), edge_index.max()]).tolist()  # one device sync
            if lo < 0 or hi >= n:
                raise ValueError(f"edge_index refers to node {lo if lo < 0 else hi}, but the graph has {n} nodes "
                                 f"(valid: 0..{n - 1})")
        if edge_attr is not None and (not torch.is_tensor(edge_attr) or edge_attr.dim() == 0
                                      or edge_attr.shape[0] != edge_index.shape[1]):
            raise ValueError(f"edge_attr must have one row per edge ({edge_index.shape[1]}), got {_describe(edge_attr)}")
    if batch is not None:
        if not torch.is_tensor(batch) or batch.dtype != torch.long or batch.dim() != 1:
            raise ValueError(f"batch must be a 1-D long tensor [N], got {_describe(batch)}")
        if batch.shape[0] != n:
            raise ValueError(f"batch has {batch.shape[0]} entries but there are {n} nodes: it must map each node to its graph")
        if not is_compiling() and int(batch.min()) < 0:
            raise ValueError(f"batch entries must be graph indices >= 0, got {int(batch.min())}")
    if pos is not None:
        if not torch.is_tensor(pos) or pos.dim() != 2 or pos.shape[0] != n:
            raise ValueError(f"positions must have shape [N={n}, d], got {_describe(pos)}")
    return n


def _describe(t) -> str:
    if torch.is_tensor(t):
        return f"shape {tuple(t.shape)} {t.dtype}"
    return type(t).__name__
