"""Models of the charged n-body task (Satorras et al. 2021): positions after 1000 steps from
the positions, velocities and charges of 5 particles. Inputs ``(pos [B, 5, 3], vel [B, 5, 3],
charges [B, 5, 1])``, output positions ``[B, 5, 3]``:

- :class:`NBodyEGNN`: the paper's EGNN (velocity variant), node input :math:`|v_i|`, edge
  attributes :math:`(c_i c_j, |x_i - x_j|^2)`, complete graph;
- :class:`NBodyRadialField`: Radial Field (Koehler et al. 2019) in the velocity variant of
  the paper's table, E(3)-equivariant without node features;
- :class:`NBodyTFN`: a tensor field network, or with ``attention=True`` an SE(3)-Transformer;
- :class:`NBodySEGNN`: a steerable E(3) GNN (SEGNN);
- :class:`NBodyGNN`: a plain message-passing network on positions and velocities as node
  features (permutation-equivariant only);
- :class:`NBodyMLP`: an MLP on the flattened system, predicting the displacement;
- :class:`NBodyLinear`: :math:`x + t\\, v` with a learned time :math:`t` (the paper's "Linear").
"""

from __future__ import annotations

import torch
from torch import nn

from symmetries.models._segnn import SEGNN
from symmetries.models._se3_transformer import SE3Transformer
from symmetries.models._tfn import TFN
from symmetries.nn import EGNN, GNN, mlp
from symmetries.nn.graphs import fully_connected_graph


def _edge_features(pos, charges):
    """``[B, M, M, 2]``: :math:`(c_i c_j, |x_i - x_j|^2)` for the message ``j -> i``."""
    cc = charges * charges.transpose(1, 2)
    d2 = (pos[:, :, None] - pos[:, None, :]).pow(2).sum(-1)
    return torch.stack([cc, d2], -1)


class NBodyEGNN(nn.Module):
    r"""EGNN for the n-body task (Satorras et al. 2021, their ``EGNN_vel`` setup): node input
    :math:`|v_i|`, edge attributes :math:`(c_i c_j, |x_i - x_j|^2)`, complete graph; the
    output is the last layer's positions.

    Args:
        hidden: the width of the network (default: 64).
        layers: EGNN layers (default: 4).
        clamp: the bound on the norm of each message's coordinate update (default: 100.0, as
            the reference code clips each coordinate update at 100), or ``None``.
        **options: further arguments of :class:`~symmetries.nn.graphs.EGNNLayer`.

    Shapes:
        - **input:** ``(pos [B, M, 3], vel [B, M, 3], charges [B, M, 1])``
        - **output:** positions ``[B, M, 3]``
    """

    def __init__(self, hidden: int = 64, layers: int = 4, clamp: float | None = 100.0, **options):
        super().__init__()
        self.egnn = EGNN(1, hidden, None, layers, edge_features=2, velocity=True, dim=3, clamp=clamp, **options)

    def forward(self, inputs):
        pos, vel, charges = inputs
        h = vel.norm(dim=-1, keepdim=True)
        return self.egnn(h, pos, edge_attr=_edge_features(pos, charges), vel=vel)[1]


class NBodyRadialField(nn.Module):
    r"""Radial Field (Koehler, Klein, Noe 2019) as in EGNN's table (their ``RF_vel``): ``layers``
    updates of the positions alone,

    .. math::
        x_i \leftarrow x_i + \frac{1}{M - 1} \sum_{j \ne i} (x_i - x_j)\,
        \phi(|x_i - x_j|, a_{ij}) + \psi(|v_i|)\, v_i,

    with :math:`a_{ij} = (c_i c_j, |x_i - x_j|^2)` of the input frame, :math:`\phi` an MLP ending
    in ``tanh`` (its last layer without bias, Xavier-uniform with gain 0.001) and :math:`\psi` an
    MLP. E(3)-equivariant and permutation-equivariant; no node features.

    Args:
        hidden: the width of :math:`\phi` and :math:`\psi` (default: 64).
        layers: the number of updates, each with its own :math:`\phi, \psi` (default: 4).

    Shapes:
        - **input:** ``(pos [B, M, 3], vel [B, M, 3], charges [B, M, 1])``
        - **output:** positions ``[B, M, 3]``
    """

    def __init__(self, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.phi, self.psi = nn.ModuleList(), nn.ModuleList()
        for _ in range(layers):
            last = nn.Linear(hidden, 1, bias=False)
            nn.init.xavier_uniform_(last.weight, gain=0.001)
            self.phi.append(nn.Sequential(nn.Linear(3, hidden), nn.SiLU(), last, nn.Tanh()))
            self.psi.append(mlp([1, hidden, 1]))

    def forward(self, inputs):
        pos, vel, charges = inputs
        b, m, _ = pos.shape
        source, target = fully_connected_graph(m, device=pos.device)  # sorted by target: M - 1 edges each
        attr = _edge_features(pos, charges)[:, target, source]  # [B, M (M - 1), 2]
        speed = vel.norm(dim=-1, keepdim=True)
        for phi, psi in zip(self.phi, self.psi):
            diff = pos[:, target] - pos[:, source]
            r = diff.pow(2).sum(-1, keepdim=True).sqrt()
            pull = (diff * phi(torch.cat([r, attr], -1))).view(b, m, m - 1, -1).mean(2)
            pos = pos + pull + psi(speed) * vel
        return pos


def _complete_graph(pos, charges):
    """The complete graphs of a dense batch, flattened: ``(edge_index [2, E], c_i c_j [E, 1],
    x_j - x_i [E, 3])`` for the message ``j -> i``."""
    b, m, _ = pos.shape
    edge_index = fully_connected_graph(m, num_graphs=b, device=pos.device)
    cc = (charges.reshape(b * m)[edge_index[0]] * charges.reshape(b * m)[edge_index[1]])[:, None]
    flat = pos.reshape(b * m, 3)
    return edge_index, cc, flat[edge_index[0]] - flat[edge_index[1]]


class NBodyTFN(nn.Module):
    """Tensor field network (Thomas et al. 2018) for the n-body task: node input
    ``(|v_i|, c_i, v_i)`` (``2x0e + 1x1o``), edge invariants ``(|x_i - x_j|, c_i c_j)``,
    filters and hidden features up to ``l_max``, complete graph; it predicts each particle's
    displacement.

    Args:
        channels: the multiplicity of every hidden degree (default: 32).
        layers: message-passing layers (default: 4).
        l_max: the largest degree of filters and hidden features (default: 1).
        attention: make it an SE(3)-Transformer (Fuchs et al. 2020) of the same sizes
            (default: ``False``).
        heads: attention heads, with ``attention`` (default: 2).

    Shapes:
        - **input:** ``(pos [B, M, 3], vel [B, M, 3], charges [B, M, 1])``
        - **output:** positions ``[B, M, 3]``
    """

    def __init__(self, channels: int = 32, layers: int = 4, l_max: int = 1, attention: bool = False, heads: int = 2):
        super().__init__()
        options = dict(channels=channels, l_max=l_max, layers=layers, num_edge_scalars=1)
        self.net = (SE3Transformer("2x0e + 1x1o", "1x1o", heads=heads, **options) if attention
                    else TFN("2x0e + 1x1o", "1x1o", **options))

    def forward(self, inputs):
        pos, vel, charges = inputs
        b, m, _ = pos.shape
        edge_index, cc, _ = _complete_graph(pos, charges)
        x = torch.cat([vel.norm(dim=-1, keepdim=True), charges, vel], -1).reshape(b * m, 5)
        return pos + self.net(x, pos.reshape(b * m, 3), edge_index, edge_scalars=cc).view(b, m, 3)


class NBodySEGNN(nn.Module):
    r"""SEGNN (Brandstetter et al. 2022) in its n-body setup: node input ``(x_i - \bar x, v_i,
    |v_i|)`` (``2x1o + 1x0e``), edge scalars ``(|x_i - x_j|, c_i c_j)``, node attributes
    the mean of the edges' :math:`Y(x_j - x_i)` plus :math:`Y(v_i)` for degrees ``1..l_attr``
    and 1 for degree 0, hidden irreps ``channels x (0e + 1o)``, complete graph; it predicts
    each particle's displacement.

    Args:
        channels: the multiplicity of the hidden ``0e`` and ``1o`` (default: 32).
        layers: message-passing layers (default: 4).
        l_attr: the largest degree of the node and edge attributes (default: 1).

    Shapes:
        - **input:** ``(pos [B, M, 3], vel [B, M, 3], charges [B, M, 1])``
        - **output:** positions ``[B, M, 3]``
    """

    def __init__(self, channels: int = 32, layers: int = 4, l_attr: int = 1):
        super().__init__()
        self.net = SEGNN("2x1o + 1x0e", f"{channels}x0e + {channels}x1o", "1x1o", l_attr, layers, num_edge_scalars=2)

    def forward(self, inputs):
        pos, vel, charges = inputs
        b, m, _ = pos.shape
        edge_index, cc, vectors = _complete_graph(pos, charges)
        x = torch.cat([pos - pos.mean(1, keepdim=True), vel, vel.norm(dim=-1, keepdim=True)], -1).reshape(b * m, 7)
        scalars = torch.cat([vectors.norm(dim=-1, keepdim=True), cc], -1)
        out = self.net(x, pos.reshape(b * m, 3), edge_index, edge_scalars=scalars, node_vectors=vel.reshape(b * m, 3))
        return pos + out.view(b, m, 3)


class NBodyGNN(nn.Module):
    """A plain GNN (:class:`~symmetries.nn.graphs.GNN`): node features ``(x, v)``, edge attributes
    ``(c_i c_j, |x_i - x_j|^2)``, complete graph; predicts each particle's displacement.
    Permutation-equivariant only.

    Args:
        hidden: the width of the network (default: 64).
        layers: message-passing layers (default: 4).

    Shapes:
        - **input:** ``(pos [B, M, 3], vel [B, M, 3], charges [B, M, 1])``
        - **output:** positions ``[B, M, 3]``
    """

    def __init__(self, hidden: int = 64, layers: int = 4):
        super().__init__()
        self.gnn = GNN(6, 3, hidden, layers, edge_features=2)

    def forward(self, inputs):
        pos, vel, charges = inputs
        b, m, _ = pos.shape
        edge_index = fully_connected_graph(m, num_graphs=b, device=pos.device)
        edge_attr = _edge_features(pos, charges).reshape(b * m, m, 2)[edge_index[1], edge_index[0] % m]
        out = self.gnn(torch.cat([pos, vel], -1).reshape(b * m, 6), edge_index, edge_attr)
        return pos + out.view(b, m, 3)


class NBodyMLP(nn.Module):
    """An MLP on the flattened ``(x, v, c)`` of all particles, predicting the displacements
    (no symmetry built in).

    Args:
        particles: the number of particles ``M`` it takes (default: 5).
        hidden: the width of the hidden layers (default: 256).
        depth: hidden layers, each followed by SiLU (default: 3).

    Shapes:
        - **input:** ``(pos [B, M, 3], vel [B, M, 3], charges [B, M, 1])``,
          ``M = particles``
        - **output:** positions ``[B, M, 3]``
    """

    def __init__(self, particles: int = 5, hidden: int = 256, depth: int = 3):
        super().__init__()
        layers, d = [], 7 * particles
        for _ in range(depth):
            layers += [nn.Linear(d, hidden), nn.SiLU()]
            d = hidden
        self.net = nn.Sequential(*layers, nn.Linear(d, 3 * particles))

    def forward(self, inputs):
        pos, vel, charges = inputs
        x = torch.cat([pos, vel, charges], -1).flatten(1)
        return pos + self.net(x).view(pos.shape)


class NBodyLinear(nn.Module):
    r"""The paper's Linear baseline, equivariant,

    .. math::
        x' = x + t\, v,

    with one learned scalar :math:`t` (initialized to 0). No arguments.

    Shapes:
        - **input:** ``(pos [B, M, 3], vel [B, M, 3], charges [B, M, 1])``
        - **output:** positions ``[B, M, 3]``
    """

    def __init__(self):
        super().__init__()
        self.t = nn.Parameter(torch.zeros(()))

    def forward(self, inputs):
        pos, vel, _ = inputs
        return pos + self.t * vel
