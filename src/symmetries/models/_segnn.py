r"""Steerable E(3)-equivariant graph network, SEGNN (Brandstetter et al., ICLR 2022).

Every linear map is *steered* by an attribute: a fully connected tensor product of the
features with spherical harmonics, :math:`W_a h = \mathrm{TP}_W(h, a)`, so the weights are
shared but the map depends on the geometry. With :math:`a_{ij} = Y(x_j - x_i)` on edges
and :math:`a_i` on nodes (by default the mean of its edges' :math:`a_{ij}` with
:math:`a_i^{(0)} = 1`),

.. math::
    m_{ij} = \sigma\big(W'_{a_{ij}}\, \sigma(W_{a_{ij}} [h_i, h_j, s_{ij}])\big), \qquad
    m_i = \frac{1}{|\mathcal N(i)|} \sum_{j \in \mathcal N(i)} m_{ij}, \qquad
    h_i' = h_i + U'_{a_i}\, \sigma(U_{a_i} [h_i, m_i]),

:math:`s_{ij}` invariant edge scalars and :math:`\sigma` a gated nonlinearity.
"""

from __future__ import annotations

import torch
from torch import nn

from symmetries.nn import SphericalHarmonics, scatter
from symmetries.nn.o3 import SteerableLinear, gate_for
from symmetries.o3 import Irreps
from symmetries.models._geometric_graph import geometric_graph
from symmetries.models._pooling import check_pool, pool_nodes


class SEGNNLayer(nn.Module):
    r"""One SEGNN message-passing layer on ``irreps_hidden`` features, every linear map
    steered by the edge attributes :math:`a_{ij}` or the node attributes :math:`a_i`
    (:class:`~symmetries.nn.o3.SteerableLinear`):

    .. math::
        m_{ij} = \sigma\big(W'_{a_{ij}}\, \sigma(W_{a_{ij}} [h_i, h_j, s_{ij}])\big), \qquad
        m_i = \frac{1}{|\mathcal N(i)|} \sum_{j \in \mathcal N(i)} m_{ij}, \qquad
        h_i' = h_i + U'_{a_i}\, \sigma(U_{a_i} [h_i, m_i]),

    :math:`s_{ij}` invariant edge scalars and :math:`\sigma` a gated nonlinearity.

    Args:
        irreps_hidden: the irreps of :math:`h` and :math:`h'`.
        irreps_attr: the irreps of the attributes.
        num_edge_scalars: invariant features :math:`s_{ij}` per edge that join the message
            input (default: 0).

    Shapes:
        - **input:** h ``[N, irreps_hidden.dim]``, edge_index ``[2, E]`` (source :math:`j`,
          target :math:`i`), edge_attr ``[E, irreps_attr.dim]``, node_attr
          ``[N, irreps_attr.dim]``, edge_scalars ``[E, num_edge_scalars]`` or ``None``
        - **output:** ``[N, irreps_hidden.dim]``
    """

    def __init__(self, irreps_hidden, irreps_attr, num_edge_scalars: int = 0):
        super().__init__()
        hidden = Irreps(irreps_hidden)
        message_in = hidden + hidden + Irreps([(num_edge_scalars, "0e")] if num_edge_scalars else [])
        self.gates = nn.ModuleList(gate_for(hidden) for _ in range(3))
        self.message1 = SteerableLinear(message_in, self.gates[0].irreps_in, irreps_attr)
        self.message2 = SteerableLinear(hidden, self.gates[1].irreps_in, irreps_attr)
        self.update1 = SteerableLinear(hidden + hidden, self.gates[2].irreps_in, irreps_attr)
        self.update2 = SteerableLinear(hidden, hidden, irreps_attr)

    def forward(self, h, edge_index, edge_attr, node_attr, edge_scalars=None):
        source, target = edge_index[0], edge_index[1]
        parts = [h[target], h[source]] + ([edge_scalars] if edge_scalars is not None else [])
        m = self.gates[0](self.message1(torch.cat(parts, -1), edge_attr))
        m = self.gates[1](self.message2(m, edge_attr))
        m = scatter(m, target, dim_size=h.shape[0], reduce="mean")
        return h + self.update2(self.gates[2](self.update1(torch.cat([h, m], -1), node_attr)), node_attr)


class SEGNN(nn.Module):
    r"""SEGNN (Brandstetter et al., ICLR 2022): a steerable embedding :math:`W_{a_i} f_i`,
    ``layers`` :class:`SEGNNLayer`, and a read-out :math:`W'_{a_i} \sigma(W_{a_i} h_i)` to
    ``irreps_out``, per node. Edge attributes are :math:`a_{ij} = Y(x_j - x_i)`;
    ``node_attr`` defaults to the mean of each node's edge attributes, plus the harmonics of
    ``node_vectors`` (a velocity, say) when given, with the ``0e`` part set to 1 (so the
    steered maps on nodes start as ordinary linear maps; larger attributes grow the features
    at every layer).

    Equivariant under rotations, reflections and translations of ``pos`` (with ``x``
    transformed by its irreps) and under permutations of the nodes.

    Args:
        irreps_in, irreps_hidden, irreps_out: node irreps (``"2x1o + 1x0e"``, ``"32x0e + 32x1o"``,
            ``"1x1o"``); the hidden irreps may hold any degrees up to what the attributes reach.
        l_attr: degree of the spherical-harmonic attributes :math:`Y^{0..l}` (``integral``
            normalization, as the paper's code: :math:`|Y^l|^2 = (2l + 1) / 4\pi`)
            (default: 1).
        layers: message-passing layers, >= 1 (default: 4).
        num_edge_scalars: invariant edge features passed to ``forward`` (default: 0).
        pool: ``"sum"``, ``"mean"`` (any outputs) or ``"max"`` (``0e`` outputs): pool the node
            outputs per graph of ``batch`` into ``[num_graphs, irreps_out.dim]``; ``None``
            (default): per node.

    Shapes:
        - **input:** x ``[N, irreps_in.dim]``, pos ``[N, 3]``, edge_index ``[2, E]`` or
          ``None`` (the complete graph within each graph of ``batch``), batch ``[N]`` or
          ``None``, edge_scalars ``[E, num_edge_scalars]`` or ``None``, node_attr
          ``[N, irreps_attr.dim]`` or ``None``, node_vectors ``[N, 3]`` or ``None``
        - **output:** ``[N, irreps_out.dim]``; with ``pool`` ``[num_graphs, irreps_out.dim]``
    """

    def __init__(self, irreps_in, irreps_hidden, irreps_out, l_attr: int = 1, layers: int = 4,
                 num_edge_scalars: int = 0, pool: str | None = None):
        super().__init__()
        if layers < 1:
            raise ValueError(f"SEGNN needs at least one layer, got {layers}")
        self.irreps_in, self.irreps_out = Irreps(irreps_in), Irreps(irreps_out)
        self.num_edge_scalars, self.pool = num_edge_scalars, check_pool(pool, self.irreps_out)
        self.attributes = SphericalHarmonics(l_attr, normalization="integral")
        attr = self.attributes.irreps_out
        self.irreps_attr = attr
        hidden = Irreps(irreps_hidden)
        self.embedding = SteerableLinear(self.irreps_in, hidden, attr)
        self.layers = nn.ModuleList(SEGNNLayer(hidden, attr, num_edge_scalars) for _ in range(layers))
        self.head_gate = gate_for(hidden)
        self.head1 = SteerableLinear(hidden, self.head_gate.irreps_in, attr)
        self.head2 = SteerableLinear(hidden, self.irreps_out, attr)

    def forward(self, x, pos, edge_index=None, batch=None, edge_scalars=None, node_attr=None, node_vectors=None):
        edge_index, vectors = geometric_graph(x, pos, edge_index, batch, edge_scalars, self.irreps_in,
                                              self.num_edge_scalars)
        edge_attr = self.attributes(vectors)
        if node_attr is None:
            node_attr = self._node_attributes(edge_attr, edge_index[1], x.shape[0], node_vectors)
        elif node_attr.shape != (x.shape[0], self.irreps_attr.dim):
            raise ValueError(f"node_attr must have shape [N={x.shape[0]}, {self.irreps_attr.dim}] "
                             f"({self.irreps_attr}), got {tuple(node_attr.shape)}")
        h = self.embedding(x, node_attr)
        for layer in self.layers:
            h = layer(h, edge_index, edge_attr, node_attr, edge_scalars)
        return pool_nodes(self.head2(self.head_gate(self.head1(h, node_attr)), node_attr), batch, self.pool)

    def _node_attributes(self, edge_attr, target, n, node_vectors):
        """The mean of each node's edge attributes, plus the harmonics of ``node_vectors``, with
        the ``0e`` part set to 1."""
        attr = scatter(edge_attr[:, 1:], target, dim_size=n, reduce="mean")
        if node_vectors is not None:
            if not torch.is_tensor(node_vectors) or node_vectors.shape != (n, 3):
                raise ValueError(f"node_vectors must have shape [N={n}, 3], got "
                                 f"{tuple(node_vectors.shape) if torch.is_tensor(node_vectors) else type(node_vectors).__name__}")
            attr = attr + self.attributes(node_vectors)[:, 1:]
        return torch.cat([torch.ones_like(attr[:, :1]), attr], 1)
