r"""SE(3)-Transformer layers (Fuchs et al., NeurIPS 2020): attention over point convolutions.

Values and keys are point convolutions of the sender's features (:mod:`._convolution`),
the query a linear map of the receiver's; per head :math:`k`,

.. math::
    \alpha^k_{ij} = \operatorname{softmax}_{j \in \mathcal N(i)}
        \frac{\langle q^k_i, \kappa^k_{ij} \rangle}{\sqrt{d_k}}, \qquad
    h_i' = \sigma\Big(\sum_{j \in \mathcal N(i)} \alpha^{k(c)}_{ij}\, v_{ij, c} + S h_i\Big),

the inner product taken over all irreps of the head's channels (invariant, since each
irrep transforms orthogonally), :math:`S` the self-interaction and :math:`\sigma` a gated
nonlinearity (where the paper used a norm nonlinearity). Channels are split into heads
within each irrep block, so every block's multiplicity must be divisible by ``heads``.
"""

from __future__ import annotations

import torch
from torch import nn

from symmetries.nn import IrrepsLinear
from symmetries.nn.graphs import scatter_unchecked
from symmetries.nn.o3 import gate_for
from symmetries.o3 import Irreps
from symmetries.nn.o3 import PointConvolution
from symmetries.models._tfn import TFN


def head_index(irreps: Irreps, heads: int) -> torch.Tensor:
    """``[irreps.dim]``: the head of each component, channels of every block split into
    ``heads`` contiguous groups."""
    parts = []
    for mul, ir in irreps:
        if mul % heads:
            raise ValueError(f"every block's multiplicity must be divisible by heads={heads}; {mul}x{ir} in {irreps} is not")
        parts.append(torch.arange(mul).div(mul // heads, rounding_mode="floor").repeat_interleave(ir.dim))
    return torch.cat(parts)


def segment_softmax(logits: torch.Tensor, index: torch.Tensor, num_segments: int) -> torch.Tensor:
    """Softmax of ``logits [E, H]`` over the rows that share ``index [E]`` (each target's edges)."""
    top = scatter_unchecked(logits.detach(), index, 0, num_segments, "max")[index]
    e = (logits - top).exp()
    return e / scatter_unchecked(e, index, 0, num_segments, "sum")[index]


class SE3TransformerLayer(nn.Module):
    r"""One SE(3)-Transformer attention layer ``irreps_in -> irreps_out`` with keys and
    queries in ``irreps_key``: values :math:`v_{ij}` and keys :math:`\kappa_{ij}` are point
    convolutions of the sender's features, the query :math:`q_i` a linear map of the
    receiver's; per head :math:`k`,

    .. math::
        \alpha^k_{ij} = \operatorname{softmax}_{j \in \mathcal N(i)}
            \frac{\langle q^k_i, \kappa^k_{ij} \rangle}{\sqrt{d_k}}, \qquad
        h_i' = \sigma\Big(\sum_{j \in \mathcal N(i)} \alpha^{k(c)}_{ij}\, v_{ij, c} + S h_i\Big),

    the inner product taken over all irreps of the head's channels (invariant),
    :math:`d_k` = ``irreps_key.dim / heads``, :math:`S` the self-interaction and
    :math:`\sigma` a gated nonlinearity. Channels are split into heads within each irrep
    block, so every block's multiplicity (of ``irreps_key`` and of the gate's input) must
    be divisible by ``heads``.

    Args:
        irreps_in: the irreps of the node features :math:`h`.
        irreps_out: the irreps of :math:`h'`.
        irreps_key: the irreps of keys and queries.
        irreps_filter: the irreps of the edges' spherical harmonics.
        num_invariants: edge invariants fed to the radial MLPs.
        heads: attention heads (default: 1).
        radial_hidden: the width of the radial MLPs (default: 64).

    Shapes:
        - **input:** h ``[N, irreps_in.dim]``, edge_index ``[2, E]`` (source, target),
          edge_sh ``[E, irreps_filter.dim]``, invariants ``[E, num_invariants]``
        - **output:** ``[N, irreps_out.dim]``
    """

    def __init__(self, irreps_in, irreps_out, irreps_key, irreps_filter, num_invariants: int, heads: int = 1,
                 radial_hidden: int = 64):
        super().__init__()
        self.gate = gate_for(irreps_out)
        irreps_key, self.heads = Irreps(irreps_key), heads
        self.value = PointConvolution(irreps_in, irreps_filter, self.gate.irreps_in, num_invariants, radial_hidden)
        self.value_linear = IrrepsLinear(self.value.irreps_messages, self.gate.irreps_in)
        self.key = PointConvolution(irreps_in, irreps_filter, irreps_key, num_invariants, radial_hidden)
        self.key_linear = IrrepsLinear(self.key.irreps_messages, irreps_key)
        self.query = IrrepsLinear(irreps_in, irreps_key)
        self.self_interaction = IrrepsLinear(irreps_in, self.gate.irreps_in, biases=True)
        self.register_buffer("_key_heads", head_index(irreps_key, heads), persistent=False)
        self.register_buffer("_value_heads", head_index(self.gate.irreps_in, heads), persistent=False)
        self.scale = (irreps_key.dim // heads) ** -0.5

    def forward(self, h, edge_index, edge_sh, invariants):
        source, target = edge_index[0], edge_index[1]
        n, e = h.shape[0], source.shape[0]
        sender = h[source]
        key = self.key_linear(self.key(sender, edge_sh, invariants))
        products = self.query(h)[target] * key
        logits = products.new_zeros(e, self.heads).index_add(1, self._key_heads, products) * self.scale
        alpha = segment_softmax(logits, target, n)  # [E, heads]
        value = self.value_linear(self.value(sender, edge_sh, invariants))
        attended = scatter_unchecked(alpha[:, self._value_heads] * value, target, 0, n, "sum")
        return self.gate(attended + self.self_interaction(h))


class SE3Transformer(TFN):
    r"""An SE(3)-Transformer (Fuchs et al., NeurIPS 2020): ``layers``
    :class:`SE3TransformerLayer` with ``heads`` heads on hidden features (and keys) of
    ``channels`` x degrees ``0..l_max``, filters :math:`Y^{0..l_{filter}}`, and a linear
    read-out to ``irreps_out``, per node; the inputs, symmetries and ``pool`` option of
    :class:`~symmetries.models.TFN`.

    The arguments other than ``heads`` and the shapes are those of
    :class:`~symmetries.models.TFN`.

    Args:
        heads: attention heads; must divide ``channels`` (default: 2).
    """

    def __init__(self, irreps_in, irreps_out, channels: int = 32, l_max: int = 1, layers: int = 4, heads: int = 2,
                 l_filter: int | None = None, num_edge_scalars: int = 0, radial_hidden: int = 64,
                 pool: str | None = None):
        nn.Module.__init__(self)
        self._build(irreps_in, irreps_out, channels, l_max, layers, l_filter, num_edge_scalars, pool,
                    lambda a, b, hidden, irreps_filter, k: SE3TransformerLayer(a, b, hidden, irreps_filter, k, heads,
                                                                               radial_hidden))
