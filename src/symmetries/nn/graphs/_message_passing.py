"""Message passing over ``(x, edge_index, batch)`` in PyTorch Geometric's layout.

Node features ``x`` ``[N, C]``; ``edge_index`` ``[2, E]`` long, row 0 the source ``j`` and
row 1 the target ``i`` of the message ``j -> i``; ``edge_attr`` ``[E, D]``; ``batch``
``[N]`` graph index of each node. A torch_geometric ``Data`` / ``Batch`` (anything with
``x`` and ``edge_index`` attributes) is accepted in place of ``x``.
"""

from __future__ import annotations

import torch
from torch import nn

from symmetries.nn._mlp import mlp
from symmetries.nn.graphs._scatter import REDUCTIONS, scatter_unchecked, check_graph, global_pool


def unpack_graph(data, *names: str) -> tuple:
    """The attributes ``names`` of a PyG ``Data`` / ``Batch`` (``None`` where absent)."""
    return tuple(getattr(data, name, None) for name in names)


def is_graph_data(obj) -> bool:
    """``True`` for torch_geometric ``Data`` / ``Batch`` objects (duck-typed: no import)."""
    return not torch.is_tensor(obj) and hasattr(obj, "edge_index")


class MessagePassing(nn.Module):
    r"""Base class of message-passing layers,

    .. math::
        x_i' = \gamma\big(x_i,\ \textstyle\bigoplus_{j \to i} \phi(x_i, x_j, e_{ji})\big).

    Subclasses implement :meth:`message` ``(x_i, x_j, edge_attr) -> [E, ...]`` and
    optionally :meth:`update` ``(aggregated, x) -> x'``. :meth:`propagate` gathers the
    target (``x_i = x[edge_index[1]]``) and source (``x_j = x[edge_index[0]]``) rows, calls
    :meth:`message`, reduces the messages onto their targets with ``aggr`` (a node without
    incoming edges receives zeros), then calls :meth:`update`. ``x`` may be a tensor or a
    tuple of per-node tensors. Permutation equivariant by construction: relabelling nodes
    relabels every output row.

    Args:
        aggr: the reduction :math:`\bigoplus`, ``"sum"`` (default), ``"mean"``, ``"max"`` or
            ``"min"``.
    """

    def __init__(self, aggr: str = "sum"):
        super().__init__()
        if aggr not in REDUCTIONS:
            raise ValueError(f"aggr must be one of {REDUCTIONS}, got {aggr!r}")
        self.aggr = aggr

    def message(self, x_i, x_j, edge_attr):
        """The message :math:`\\phi(x_i, x_j, e_{ji})` of each edge ``j -> i``: ``[E, ...]``."""
        raise NotImplementedError

    def update(self, aggregated, x):
        """The new node features :math:`\\gamma(x_i, m_i)` from the aggregated messages (default: ``m_i``)."""
        return aggregated

    def propagate(self, edge_index: torch.Tensor, x, edge_attr: torch.Tensor | None = None, check: bool = True):
        """Gather, message, aggregate, update.

        Args:
            edge_index: ``[2, E]`` long, sources in row 0 and targets in row 1.
            x: node features ``[N, ...]``, or a tuple of such tensors.
            edge_attr: ``[E, ...]``, passed to :meth:`message` (default: ``None``).
            check: validate the graph (default: ``True``); ``False`` for networks that
                validated it once for all their layers.

        Returns:
            What :meth:`update` returns for the aggregated messages ``[N, ...]``.
        """
        first = x[0] if isinstance(x, tuple) else x
        n = check_graph(first, edge_index, edge_attr=edge_attr) if check else first.shape[0]
        source, target = edge_index[0], edge_index[1]
        if isinstance(x, tuple):
            x_i, x_j = tuple(t[target] for t in x), tuple(t[source] for t in x)
        else:
            x_i, x_j = x[target], x[source]
        messages = self.message(x_i, x_j, edge_attr)
        return self.update(scatter_unchecked(messages, target, 0, n, self.aggr), x)


class GNNLayer(MessagePassing):
    r"""The graph layer of the EGNN paper's GNN baseline (Satorras et al. 2021, eq. 1-2):

    .. math::
        m_{ij} = \phi_e(h_i, h_j, a_{ij}), \qquad
        h_i' = h_i + \phi_h\big(h_i, \textstyle\bigoplus_{j \to i} m_{ij}\big)

    (the residual only when ``in_features == out_features`` and ``residual``). ``phi_e``
    and ``phi_h`` are two-layer MLPs of width ``hidden`` (``phi_e`` with ``act`` after both
    layers). ``forward(h, edge_index, edge_attr=None)`` or ``forward(data)``.

    Args:
        in_features: node feature channels.
        out_features: output channels (default: ``None``, ``in_features``).
        hidden: the width of the MLPs and of the messages (default: 64).
        edge_features: channels of :math:`a_{ij}`, 0 for none (default: 0).
        aggr: the reduction :math:`\bigoplus` (default: ``"sum"``; see :class:`MessagePassing`).
        residual: add :math:`h_i` when the widths match (default: ``True``).
        act: the activation class (default: ``nn.SiLU``).

    Shapes:
        - **input:** h ``[N, in_features]``, edge_index ``[2, E]``, edge_attr ``[E, edge_features]``
        - **output:** ``[N, out_features]``
    """

    def __init__(self, in_features: int, out_features: int | None = None, hidden: int = 64, edge_features: int = 0,
                 aggr: str = "sum", residual: bool = True, act: type[nn.Module] = nn.SiLU):
        super().__init__(aggr)
        out_features = in_features if out_features is None else out_features
        self.in_features, self.out_features, self.edge_features = in_features, out_features, edge_features
        self.residual = residual and in_features == out_features
        self.phi_e = mlp([2 * in_features + edge_features, hidden, hidden], act, last_act=True)
        self.phi_h = mlp([in_features + hidden, hidden, out_features], act)

    def message(self, h_i, h_j, edge_attr):
        parts = [h_i, h_j] + ([edge_attr] if self.edge_features else [])
        return self.phi_e(torch.cat(parts, -1))

    def update(self, m, h):
        out = self.phi_h(torch.cat([h, m], -1))
        return h + out if self.residual else out

    def forward(self, h, edge_index: torch.Tensor | None = None, edge_attr: torch.Tensor | None = None):
        if is_graph_data(h):
            h, edge_index, edge_attr = unpack_graph(h, "x", "edge_index", "edge_attr")
        _check_features(h, self.in_features, "node features")
        if self.edge_features:
            _check_edge_attr(edge_attr, self.edge_features)
        return self.propagate(edge_index, h, edge_attr)

    def _unchecked(self, h, edge_index, edge_attr):
        return self.propagate(edge_index, h, edge_attr, check=False)


class GNN(nn.Module):
    r"""A stack of :class:`GNNLayer`: a linear embedding to ``hidden``, ``layers``
    residual message-passing layers, then a two-layer decoder to ``out_features`` per node, or
    per graph after pooling over the ``batch`` vector.

    ``forward(x, edge_index, edge_attr=None, batch=None, num_graphs=None)`` or
    ``forward(data)``; ``num_graphs`` (default: ``batch.max() + 1``) is the pool's.

    Args:
        in_features: node feature channels.
        out_features: output channels.
        hidden: the width of every layer (default: 64).
        layers: the number of message-passing layers (default: 4).
        edge_features: edge attribute channels, 0 for none (default: 0).
        aggr: the layers' reduction (default: ``"sum"``).
        pool: ``None`` (default) for per-node outputs, or ``"sum"``, ``"mean"``, ``"max"``
            (or ``"min"``) for per-graph outputs.
        act: the activation class (default: ``nn.SiLU``).

    Shapes:
        - **input:** x ``[N, in_features]``, edge_index ``[2, E]``, edge_attr
          ``[E, edge_features]``, batch ``[N]``
        - **output:** ``[N, out_features]``, or with ``pool`` ``[B, out_features]``
    """

    def __init__(self, in_features: int, out_features: int, hidden: int = 64, layers: int = 4,
                 edge_features: int = 0, aggr: str = "sum", pool: str | None = None,
                 act: type[nn.Module] = nn.SiLU):
        super().__init__()
        if pool is not None and pool not in REDUCTIONS:
            raise ValueError(f"pool must be None or one of {REDUCTIONS}, got {pool!r}")
        self.in_features, self.edge_features, self.pool = in_features, edge_features, pool
        self.embed = nn.Linear(in_features, hidden)
        self.layers = nn.ModuleList(GNNLayer(hidden, hidden, hidden, edge_features, aggr, True, act)
                                    for _ in range(layers))
        self.decode = mlp([hidden, hidden, out_features], act)

    def forward(self, x, edge_index=None, edge_attr=None, batch=None, num_graphs: int | None = None):
        if is_graph_data(x):
            x, edge_index, edge_attr, batch = unpack_graph(x, "x", "edge_index", "edge_attr", "batch")
        _check_features(x, self.in_features, "node features")
        check_graph(x, edge_index, batch, edge_attr=edge_attr)
        if self.edge_features:
            _check_edge_attr(edge_attr, self.edge_features)
        h = self.embed(x)
        for layer in self.layers:  # the graph was validated above, once for all layers
            h = layer._unchecked(h, edge_index, edge_attr)
        if self.pool is not None:
            h = global_pool(h, batch, self.pool, num_graphs)
        return self.decode(h)


def _check_features(x, features: int, what: str) -> None:
    if not torch.is_tensor(x) or x.dim() != 2 or x.shape[1] != features:
        got = f"shape {tuple(x.shape)}" if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{what} must have shape [N, {features}], got {got}")


def _check_edge_attr(edge_attr, features: int) -> None:
    if edge_attr is None:
        raise ValueError(f"this layer expects edge_attr [E, {features}], got None")
    _check_features(edge_attr, features, "edge_attr")
