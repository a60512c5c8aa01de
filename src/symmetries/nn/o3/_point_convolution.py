r"""Point convolution of O(3) features along edges (Thomas et al. 2018, "tensor field networks").

The message from :math:`j` to :math:`i` couples the sender's features with the spherical
harmonics of the edge, channel by channel, each path weighted by a learned function of the
edge's invariants :math:`e_{ij}` (its length and any invariant edge scalars):

.. math::
    m_{ij} = \sum_{\text{paths } (l_1, l_f) \to l} R^{(l_1, l_f, l)}(e_{ij}) \odot
             \big(h_j^{(l_1)} \otimes Y^{(l_f)}(\hat r_{ij})\big)^{(l)}.
"""

from __future__ import annotations

from torch import nn

from symmetries.nn.o3.tensor_product import TensorProduct
from symmetries.nn._mlp import mlp
from symmetries.o3 import Irrep, Irreps


def hidden_irreps(channels: int, l_max: int) -> Irreps:
    """``channels`` copies of each degree ``l <= l_max`` with the parity :math:`(-1)^l` of
    the spherical harmonics: ``"16x0e + 16x1o + 16x2e"`` for 16 channels and ``l_max = 2``."""
    return Irreps([(channels, Irrep(l, (-1) ** l)) for l in range(l_max + 1)])


def channelwise_paths(irreps_in, irreps_filter, wanted) -> tuple[Irreps, list]:
    """Every channel-wise (``uvu``) path from ``irreps_in`` x ``irreps_filter`` into an irrep of
    ``wanted``, one output block per path: ``(irreps of the messages, instructions)``."""
    wanted = set(ir for _, ir in Irreps(wanted))
    mid, instructions = [], []
    for i1, (mul, ir1) in enumerate(Irreps(irreps_in)):
        for i2, (_, ir2) in enumerate(Irreps(irreps_filter)):
            for ir in ir1 * ir2:
                if ir in wanted:
                    instructions.append((i1, i2, len(mid), "uvu", True))
                    mid.append((mul, ir))
    return Irreps(mid), instructions


class PointConvolution(nn.Module):
    """Per-edge messages ``(h_source [E, irreps_in.dim], Y [E, irreps_filter.dim], e [E,
    num_invariants]) -> [E, irreps_messages.dim]``: the channel-wise tensor product of the
    module docstring, its per-edge path weights an MLP ``num_invariants -> hidden -> hidden ->
    weights`` of the edge invariants. ``wanted`` chooses the output irreps (paths into others
    are dropped); ``irreps_messages`` has one block per path."""

    def __init__(self, irreps_in, irreps_filter, wanted, num_invariants: int, radial_hidden: int = 64):
        super().__init__()
        self.irreps_messages, instructions = channelwise_paths(irreps_in, irreps_filter, wanted)
        self.tp = TensorProduct(irreps_in, irreps_filter, self.irreps_messages, instructions, shared_weights=False,
                                internal_weights=False)
        self.radial = mlp([num_invariants, radial_hidden, radial_hidden, self.tp.weight_numel])

    def forward(self, h_source, edge_sh, invariants):
        return self.tp(h_source, edge_sh, self.radial(invariants))
