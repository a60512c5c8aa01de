r"""Tensor field network (Thomas et al. 2018): point convolutions, self-interaction, gates.

One layer maps node features :math:`h` to

.. math::
    h_i' = \sigma\Big(L \frac{1}{|\mathcal N(i)|} \sum_{j \in \mathcal N(i)} m_{ij}
            + S h_i\Big),

:math:`m_{ij}` the point convolution of :mod:`._convolution`, :math:`L, S` O(3)-linear
maps (the self-interaction :math:`S` with biases on scalars) and :math:`\sigma` a gated
nonlinearity (where the paper used a norm nonlinearity).
"""

from __future__ import annotations

import torch
from torch import nn

from symmetries.nn import IrrepsLinear, SphericalHarmonics, scatter
from symmetries.nn.o3 import gate_for
from symmetries.o3 import Irreps
from symmetries.nn.o3 import PointConvolution, hidden_irreps
from symmetries.models._geometric_graph import geometric_graph
from symmetries.models._pooling import check_pool, pool_nodes


def edge_invariants(vectors, edge_scalars):
    """``[E, 1 + k]``: the edge length and the ``k`` invariant edge scalars."""
    r = vectors.norm(dim=-1, keepdim=True)
    return torch.cat([r, edge_scalars], -1) if edge_scalars is not None else r


class TFNLayer(nn.Module):
    r"""One tensor-field-network layer ``irreps_in -> irreps_out``,

    .. math::
        h_i' = \sigma\Big(L \frac{1}{|\mathcal N(i)|} \sum_{j \in \mathcal N(i)} m_{ij}
                + S h_i\Big),

    :math:`m_{ij}` the :class:`~symmetries.nn.o3.PointConvolution` of the sender's features,
    :math:`L, S` O(3)-linear maps (the self-interaction :math:`S` with biases on scalars)
    and :math:`\sigma` the gated nonlinearity of :func:`~symmetries.nn.o3.gate_for` (where
    the paper used a norm nonlinearity).

    Args:
        irreps_in: the irreps of the node features :math:`h`.
        irreps_out: the irreps of :math:`h'`.
        irreps_filter: the irreps of the edges' spherical harmonics.
        num_invariants: edge invariants fed to the radial MLP.
        radial_hidden: the width of the radial MLP (default: 64).

    Shapes:
        - **input:** h ``[N, irreps_in.dim]``, edge_index ``[2, E]`` (source, target),
          edge_sh ``[E, irreps_filter.dim]``, invariants ``[E, num_invariants]``
        - **output:** ``[N, irreps_out.dim]``
    """

    def __init__(self, irreps_in, irreps_out, irreps_filter, num_invariants: int, radial_hidden: int = 64):
        super().__init__()
        self.gate = gate_for(irreps_out)
        self.convolution = PointConvolution(irreps_in, irreps_filter, self.gate.irreps_in, num_invariants,
                                            radial_hidden)
        self.linear = IrrepsLinear(self.convolution.irreps_messages, self.gate.irreps_in)
        self.self_interaction = IrrepsLinear(irreps_in, self.gate.irreps_in, biases=True)

    def forward(self, h, edge_index, edge_sh, invariants):
        source, target = edge_index[0], edge_index[1]
        m = scatter(self.convolution(h[source], edge_sh, invariants), target, dim_size=h.shape[0], reduce="mean")
        return self.gate(self.linear(m) + self.self_interaction(h))


class TFN(nn.Module):
    r"""A tensor field network (Thomas et al. 2018): ``layers`` :class:`TFNLayer` on hidden
    features of ``channels`` x degrees ``0..l_max`` (parity :math:`(-1)^l`), filters
    :math:`Y^{0..l_{filter}}` of the edge vectors, and a linear read-out to ``irreps_out``,
    per node. The edge invariants are the edge length and the ``edge_scalars``.

    Equivariant under rotations, reflections and translations and under permutations of the
    nodes (invariant under them with ``pool``).

    Args:
        irreps_in: the irreps of the node inputs ``x``.
        irreps_out: the irreps of the outputs.
        channels: the multiplicity of every hidden degree (default: 32).
        l_max: the largest hidden degree (default: 1).
        layers: the number of layers, >= 1 (default: 4).
        l_filter: the largest degree of the filters (default: ``l_max``).
        num_edge_scalars: invariant edge scalars given to ``forward`` (default: 0).
        radial_hidden: the width of the radial MLPs (default: 64).
        pool: ``None`` (default, per-node outputs), or ``"sum"``, ``"mean"`` or ``"max"``
            (``0e`` outputs only): pool the node outputs per graph of ``batch``, an
            invariant (or equivariant) graph-level read-out.

    Shapes:
        - **input:** x ``[N, irreps_in.dim]``, pos ``[N, 3]``, edge_index ``[2, E]`` or
          ``None`` (the complete graph within each graph of ``batch``), batch ``[N]`` or
          ``None`` (one graph), edge_scalars ``[E, num_edge_scalars]`` or ``None``
        - **output:** ``[N, irreps_out.dim]``; with ``pool`` ``[num_graphs, irreps_out.dim]``
    """

    def __init__(self, irreps_in, irreps_out, channels: int = 32, l_max: int = 1, layers: int = 4,
                 l_filter: int | None = None, num_edge_scalars: int = 0, radial_hidden: int = 64,
                 pool: str | None = None):
        super().__init__()
        self._build(irreps_in, irreps_out, channels, l_max, layers, l_filter, num_edge_scalars, pool,
                    lambda a, b, hidden, irreps_filter, k: TFNLayer(a, b, irreps_filter, k, radial_hidden))

    def _build(self, irreps_in, irreps_out, channels, l_max, layers, l_filter, num_edge_scalars, pool, make_layer):
        """Filters, ``layers`` layers ``make_layer(irreps_in, irreps_out, hidden, irreps_filter,
        num_invariants)`` and the read-out."""
        if layers < 1:
            raise ValueError(f"{type(self).__name__} needs at least one layer, got {layers}")
        self.irreps_in, self.irreps_out = Irreps(irreps_in), Irreps(irreps_out)
        self.num_edge_scalars, self.pool = num_edge_scalars, check_pool(pool, self.irreps_out)
        self.filter = SphericalHarmonics(l_max if l_filter is None else l_filter)
        hidden = hidden_irreps(channels, l_max)
        sizes = [self.irreps_in] + [hidden] * layers
        self.layers = nn.ModuleList(make_layer(a, b, hidden, self.filter.irreps_out, 1 + num_edge_scalars)
                                    for a, b in zip(sizes[:-1], sizes[1:]))
        self.readout = IrrepsLinear(hidden, self.irreps_out)

    def forward(self, x, pos, edge_index=None, batch=None, edge_scalars=None):
        edge_index, vectors = geometric_graph(x, pos, edge_index, batch, edge_scalars, self.irreps_in,
                                              self.num_edge_scalars)
        edge_sh, invariants = self.filter(vectors), edge_invariants(vectors, edge_scalars)
        h = x
        for layer in self.layers:
            h = layer(h, edge_index, edge_sh, invariants)
        return pool_nodes(self.readout(h), batch, self.pool)
