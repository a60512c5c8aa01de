"""E(n)-equivariant graph neural networks (Satorras, Hoogeboom, Welling 2021).

One layer (their eq. 3-6; velocity variant eq. 7), with :math:`j \\to i` messages along
``edge_index`` (PyG layout: row 0 source ``j``, row 1 target ``i``):

.. math::
    m_{ij} &= \\phi_e(h_i, h_j, |x_i - x_j|^2, a_{ij}) \\\\
    v_i' &= \\phi_v(h_i)\\, v_i + C \\textstyle\\sum_{j} (x_i - x_j)\\, \\phi_x(m_{ij})
        \\quad(\\text{without velocities: } v_i' = C \\textstyle\\sum_j \\dots) \\\\
    x_i' &= x_i + v_i' \\\\
    h_i' &= h_i + \\phi_h\\big(h_i, \\textstyle\\sum_j m_{ij}\\big)

with :math:`C = 1/\\deg(i)` (``coord_aggr="mean"``, the paper's :math:`1/(M-1)` on a
complete graph) or 1 (``"sum"``). Rotations, reflections and translations of ``x`` (and
rotations of ``v``) move ``x'`` alike and leave ``h'`` unchanged; relabelling nodes
relabels the outputs. As in the reference code, the velocity term uses the input
velocity in every layer.

Stability options: ``normalize`` uses :math:`(x_i - x_j)/\\sqrt{|x_i - x_j|^2 + \\epsilon}`;
``tanh`` bounds :math:`\\phi_x` to ``coords_range``; ``clamp`` caps the norm of each
message's coordinate update (a rotation-equivariant version of the reference code's
componentwise clamp); the last layer of :math:`\\phi_x` has no bias and Xavier-uniform
weights with gain ``0.001``.
"""

from __future__ import annotations

import torch
from torch import nn

from symmetries.nn._mlp import mlp
from symmetries.nn.graphs._message_passing import is_graph_data, unpack_graph
from symmetries.nn.graphs._build import fully_connected_graph
from symmetries.nn.graphs._scatter import POOLS, check_graph, global_pool, scatter_unchecked


class EGNNLayer(nn.Module):
    r"""One E(n)-equivariant layer (E_GCL), the equations of the module docstring:

    .. math::
        m_{ij} = \phi_e(h_i, h_j, |x_i - x_j|^2, a_{ij}), \quad
        x_i' = x_i + C \textstyle\sum_j (x_i - x_j)\, \phi_x(m_{ij}), \quad
        h_i' = h_i + \phi_h\big(h_i, \textstyle\sum_j m_{ij}\big).

    ``forward(h, pos, edge_index, edge_attr=None, vel=None)`` returns ``(h', pos')``.

    Args:
        features: node feature channels.
        out_features: output channels (default: ``None``, ``features``).
        hidden: the width of the MLPs and messages (default: ``None``, ``features``).
        edge_features: channels of :math:`a_{ij}`, 0 for none (default: 0).
        velocity: add :math:`\phi_v(h_i)\, v_i` to the coordinate update; ``vel`` is then
            required (default: ``False``).
        residual: add :math:`h_i` when ``out_features == features`` (default: ``True``).
        attention: multiply :math:`m_{ij}` by a learned gate :math:`\sigma(w^T m_{ij})`
            (default: ``False``).
        normalize: use :math:`(x_i - x_j)/\sqrt{|x_i - x_j|^2 + \epsilon}` (default: ``False``).
        tanh: bound :math:`\phi_x` to ``coords_range`` by a tanh (default: ``False``).
        coords_range: the bound with ``tanh`` (default: 1.0).
        clamp: cap on the norm of each message's coordinate update, or ``None`` (default).
        aggr: reduces messages for :math:`h`, ``"sum"`` (default, as in the paper) or ``"mean"``.
        coord_aggr: reduces coordinate updates, ``"mean"`` (default, :math:`C = 1/\deg(i)`)
            or ``"sum"`` (:math:`C = 1`).
        update_coords: update the positions (default: ``True``); ``False`` returns them as
            they came.
        act: the activation class (default: ``nn.SiLU``).
        eps: the :math:`\epsilon` of ``normalize`` (default: 1e-8).

    Shapes:
        - **input:** h ``[N, features]``, pos ``[N, d]``, edge_index ``[2, E]``, edge_attr
          ``[E, edge_features]``, vel ``[N, d]`` (with ``velocity``)
        - **output:** h' ``[N, out_features]``, pos' ``[N, d]``
    """

    def __init__(self, features: int, out_features: int | None = None, hidden: int | None = None,
                 edge_features: int = 0, velocity: bool = False, residual: bool = True, attention: bool = False,
                 normalize: bool = False, tanh: bool = False, coords_range: float = 1.0, clamp: float | None = None,
                 aggr: str = "sum", coord_aggr: str = "mean", update_coords: bool = True,
                 act: type[nn.Module] = nn.SiLU, eps: float = 1e-8):
        super().__init__()
        for name, value in (("aggr", aggr), ("coord_aggr", coord_aggr)):
            if value not in ("sum", "mean"):
                raise ValueError(f"{name} must be 'sum' or 'mean', got {value!r}")
        if clamp is not None and not clamp > 0:
            raise ValueError(f"clamp must be a positive norm bound or None, got {clamp}")
        out_features = features if out_features is None else out_features
        hidden = features if hidden is None else hidden
        self.features, self.out_features, self.edge_features = features, out_features, edge_features
        self.velocity, self.residual = velocity, residual and out_features == features
        self.normalize, self.tanh, self.coords_range, self.clamp = normalize, tanh, float(coords_range), clamp
        self.aggr, self.coord_aggr, self.update_coords, self.eps = aggr, coord_aggr, update_coords, float(eps)
        self.phi_e = mlp([2 * features + 1 + edge_features, hidden, hidden], act, last_act=True)
        self.phi_h = mlp([features + hidden, hidden, out_features], act)
        self.gate = nn.Linear(hidden, 1) if attention else None
        if update_coords:
            last = nn.Linear(hidden, 1, bias=False)
            nn.init.xavier_uniform_(last.weight, gain=0.001)
            self.phi_x = nn.Sequential(nn.Linear(hidden, hidden), act(), last)
            self.phi_v = mlp([features, hidden, 1], act) if velocity else None
        elif velocity:
            raise ValueError("velocity=True needs update_coords=True")

    def forward(self, h: torch.Tensor, pos: torch.Tensor, edge_index: torch.Tensor,
                edge_attr: torch.Tensor | None = None, vel: torch.Tensor | None = None):
        _check_inputs(h, pos, edge_index, edge_attr, vel, self.features, self.edge_features, self.velocity)
        return self._unchecked(h, pos, edge_index, edge_attr, vel)

    def _unchecked(self, h, pos, edge_index, edge_attr, vel):
        n = h.shape[0]
        source, target = edge_index[0], edge_index[1]
        diff = pos[target] - pos[source]
        radial = diff.pow(2).sum(-1, keepdim=True)
        parts = [h[target], h[source], radial] + ([edge_attr] if self.edge_features else [])
        m = self.phi_e(torch.cat(parts, -1))
        if self.gate is not None:
            m = m * torch.sigmoid(self.gate(m))
        if self.update_coords:
            if self.normalize:
                diff = diff / torch.sqrt(radial + self.eps)
            w = self.phi_x(m)
            if self.tanh:
                w = self.coords_range * torch.tanh(w)
            trans = diff * w
            if self.clamp is not None:
                norm = trans.norm(dim=-1, keepdim=True)
                trans = trans * (self.clamp / norm.clamp_min(self.clamp))
            update = scatter_unchecked(trans, target, 0, n, self.coord_aggr)
            if self.velocity:
                update = update + self.phi_v(h) * vel
            pos = pos + update
        out = self.phi_h(torch.cat([h, scatter_unchecked(m, target, 0, n, self.aggr)], -1))
        return (h + out if self.residual else out), pos


class EGNN(nn.Module):
    r"""An E(n)-equivariant network: a linear embedding of ``h`` to ``hidden``, ``layers``
    :class:`EGNNLayer`, and a linear read-out of ``h`` to ``out_features``.

    ``forward(h, pos, edge_index=None, edge_attr=None, vel=None, batch=None)`` returns
    ``(h, pos)``; ``edge_index=None`` is the complete graph within each graph of ``batch``.
    ``h`` may instead be a PyG ``Data`` with ``x``, ``pos`` (and ``edge_index``,
    ``edge_attr``, ``vel``, ``batch``). Dense inputs (``pos`` of 3 dimensions) are complete
    graphs, and the outputs are dense too.

    Args:
        in_features: node feature channels.
        hidden: the width of the embedding and of every layer (default: 64).
        out_features: read-out channels (default: ``None``, no read-out: ``hidden`` channels).
        layers: the number of layers, >= 1 (default: 4).
        edge_features: edge attribute channels, 0 for none (default: 0).
        velocity: the layers' velocity term; ``vel`` is then required (default: ``False``).
        dim: the required number of coordinates ``d`` (default: ``None``, any).
        pool: ``None`` (default) for per-node ``h``, or ``"sum"``, ``"mean"``, ``"max"``: the
            node features (invariant under E(n)) are pooled per graph of ``batch`` (per dense
            graph), an invariant graph-level read-out for classification or regression;
            ``pos`` is returned per node as before.
        **options: the other arguments of :class:`EGNNLayer` (``attention``, ``normalize``,
            ``tanh``, ``clamp``, ``aggr``, ``coord_aggr``, ...), passed to every layer.

    Shapes:
        - **input (sparse, PyG layout):** h ``[N, in_features]``, pos ``[N, d]``, edge_index
          ``[2, E]``, edge_attr ``[E, edge_features]``, vel ``[N, d]``, batch ``[N]``
        - **input (dense):** h ``[B, M, in_features]``, pos / vel ``[B, M, d]``, edge_attr
          ``[B, M, M, edge_features]`` (entry ``[b, i, j]`` for the message ``j -> i``)
        - **output:** h ``[N, out_features]`` (dense ``[B, M, out_features]``), or with ``pool``
          ``[num_graphs, out_features]`` (dense ``[B, out_features]``); pos as it came
    """

    def __init__(self, in_features: int, hidden: int = 64, out_features: int | None = None, layers: int = 4,
                 edge_features: int = 0, velocity: bool = False, dim: int | None = None, pool: str | None = None,
                 **options):
        super().__init__()
        if layers < 1:
            raise ValueError(f"EGNN needs at least one layer, got {layers}")
        if pool is not None and pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS} or None (per-node features), got {pool!r}")
        self.pool = pool
        self.in_features, self.edge_features, self.velocity, self.dim = in_features, edge_features, velocity, dim
        self.embed = nn.Linear(in_features, hidden)
        self.layers = nn.ModuleList(EGNNLayer(hidden, hidden, hidden, edge_features, velocity, **options)
                                    for _ in range(layers))
        self.readout = nn.Linear(hidden, out_features) if out_features is not None else None

    def forward(self, h, pos=None, edge_index=None, edge_attr=None, vel=None, batch=None):
        if is_graph_data(h):
            h, pos, edge_index, edge_attr, vel, batch = unpack_graph(h, "x", "pos", "edge_index", "edge_attr",
                                                                     "vel", "batch")
        if not torch.is_tensor(pos):
            raise ValueError(f"EGNN needs positions, got {type(pos).__name__}")
        if self.dim is not None and pos.shape[-1] != self.dim:
            raise ValueError(f"positions must have {self.dim} coordinates in the last axis, got shape {tuple(pos.shape)}")
        if pos.dim() == 3:
            return self._dense(h, pos, edge_attr, vel)
        if edge_index is None:
            check_graph(pos, batch=batch)
            edge_index = (fully_connected_graph(batch) if batch is not None
                          else fully_connected_graph(pos.shape[0], device=pos.device))
        elif batch is not None:
            check_graph(pos, edge_index, batch)
        h, pos = self._run(h, pos, edge_index, edge_attr, vel)
        return (h if self.pool is None else global_pool(h, batch, self.pool)), pos

    def _run(self, h, pos, edge_index, edge_attr, vel):
        first = self.layers[0]
        _check_inputs(h, pos, edge_index, edge_attr, vel, self.in_features, first.edge_features, first.velocity)
        h = self.embed(h)
        for layer in self.layers:  # the graph was validated above, once for all layers
            h, pos = layer._unchecked(h, pos, edge_index, edge_attr, vel)
        if self.readout is not None:
            h = self.readout(h)
        return h, pos

    def _dense(self, h, pos, edge_attr, vel):
        b, m, d = pos.shape
        if not torch.is_tensor(h) or h.dim() != 3 or h.shape != (b, m, self.in_features):
            raise ValueError(f"dense node features must have shape [B={b}, M={m}, {self.in_features}], got "
                             f"{tuple(h.shape) if torch.is_tensor(h) else type(h).__name__}")
        if vel is not None and vel.shape != pos.shape:
            raise ValueError(f"velocities must have the shape of the positions {tuple(pos.shape)}, got {tuple(vel.shape)}")
        # static shapes (arange only): capturable in a CUDA graph, compiles without graph breaks
        edge_index = fully_connected_graph(m, num_graphs=b, device=pos.device)
        k = self.edge_features
        if k and edge_attr is None:
            raise ValueError(f"this network expects dense edge_attr [B={b}, M={m}, M={m}, {k}], got None")
        if edge_attr is not None:
            if not k or edge_attr.dim() != 4 or edge_attr.shape != (b, m, m, k):
                raise ValueError(f"dense edge_attr must have shape [B={b}, M={m}, M={m}, {k}], got "
                                 f"{tuple(edge_attr.shape)}")
            # row b M + i of the flattened [B M, M, D] holds the messages into node i of graph b
            edge_attr = edge_attr.reshape(b * m, m, -1)[edge_index[1], edge_index[0] % m]
        h, pos = self._run(h.reshape(b * m, -1), pos.reshape(b * m, d), edge_index, edge_attr,
                           None if vel is None else vel.reshape(b * m, d))
        h = h.reshape(b, m, -1)
        if self.pool is not None:
            h = {"sum": h.sum, "mean": h.mean, "max": h.amax}[self.pool](1)
        return h, pos.reshape(b, m, d)


def _check_inputs(h, pos, edge_index, edge_attr, vel, features, edge_features, velocity) -> int:
    if not torch.is_tensor(h) or h.dim() != 2 or h.shape[1] != features:
        raise ValueError(f"node features must have shape [N, {features}], got "
                         f"{tuple(h.shape) if torch.is_tensor(h) else type(h).__name__}")
    if edge_index is None:
        raise ValueError("EGNNLayer needs edge_index [2, E]")
    n = check_graph(h, edge_index, pos=pos, edge_attr=edge_attr if edge_features else None)
    if edge_features and edge_attr is None:
        raise ValueError(f"this layer expects edge_attr [E, {edge_features}], got None")
    if edge_features and (edge_attr.dim() != 2 or edge_attr.shape[1] != edge_features):
        raise ValueError(f"edge_attr must have shape [E, {edge_features}], got {tuple(edge_attr.shape)}")
    if velocity:
        if vel is None:
            raise ValueError("velocity=True: pass vel [N, d] (the input velocities)")
        if vel.shape != pos.shape:
            raise ValueError(f"velocities must have the shape of the positions {tuple(pos.shape)}, got {tuple(vel.shape)}")
    elif vel is not None:
        raise ValueError("vel was given to a layer built with velocity=False")
    return n
