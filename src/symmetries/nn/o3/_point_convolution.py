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
    the spherical harmonics: ``"16x0e + 16x1o + 16x2e"`` for 16 channels and ``l_max = 2``.

    Args:
        channels: the multiplicity of every degree.
        l_max: the largest degree.

    Returns:
        The :class:`~symmetries.o3.Irreps`.
    """
    return Irreps([(channels, Irrep(l, (-1) ** l)) for l in range(l_max + 1)])


def channelwise_paths(irreps_in, irreps_filter, wanted) -> tuple[Irreps, list]:
    r"""Every channel-wise (``uvu``) path from ``irreps_in`` x ``irreps_filter`` into an irrep of
    ``wanted``, one output block per path: :math:`(l_1, p_1) \otimes (l_2, p_2) \to (l, p_1 p_2)`
    for :math:`|l_1 - l_2| \le l \le l_1 + l_2`.

    Args:
        irreps_in: the irreps of the features, ``mul`` channels per block.
        irreps_filter: the irreps of the filter (the spherical harmonics).
        wanted: irreps; paths into any other irrep are dropped (multiplicities ignored).

    Returns:
        ``(irreps of the messages, instructions)``: block ``k`` of the messages has the
        ``mul`` of its input block; instruction ``k`` is ``(i_in, i_filter, k, "uvu", True)``
        for :class:`~symmetries.nn.o3.tensor_product.TensorProduct`.
    """
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
    r"""Per-edge messages of a tensor field network (Thomas et al. 2018): the channel-wise
    tensor product of the sender's features with the edge's spherical harmonics, each path
    weighted by an MLP of the edge invariants :math:`e_{ij}` (its length and any invariant
    edge scalars),

    .. math::
        m_{ij} = \sum_{\text{paths } (l_1, l_f) \to l} R^{(l_1, l_f, l)}(e_{ij}) \odot
                 \big(h_j^{(l_1)} \otimes Y^{(l_f)}(\hat r_{ij})\big)^{(l)}.

    The MLP is ``num_invariants -> radial_hidden -> radial_hidden -> weights`` (SiLU);
    ``irreps_messages`` has one block per path (:func:`channelwise_paths`).

    Args:
        irreps_in: the irreps of the sender's features :math:`h_j`.
        irreps_filter: the irreps of the edge's spherical harmonics :math:`Y`.
        wanted: the output irreps (paths into others are dropped).
        num_invariants: the number of edge invariants.
        radial_hidden: the width of the MLP's hidden layers (default: 64).

    Shapes:
        - **input:** h_source ``[E, irreps_in.dim]``, edge_sh ``[E, irreps_filter.dim]``,
          invariants ``[E, num_invariants]``
        - **output:** ``[E, irreps_messages.dim]``
    """

    def __init__(self, irreps_in, irreps_filter, wanted, num_invariants: int, radial_hidden: int = 64):
        super().__init__()
        self.irreps_messages, instructions = channelwise_paths(irreps_in, irreps_filter, wanted)
        self.tp = TensorProduct(irreps_in, irreps_filter, self.irreps_messages, instructions, shared_weights=False,
                                internal_weights=False)
        self.radial = mlp([num_invariants, radial_hidden, radial_hidden, self.tp.weight_numel])

    def forward(self, h_source, edge_sh, invariants):
        return self.tp(h_source, edge_sh, self.radial(invariants))
