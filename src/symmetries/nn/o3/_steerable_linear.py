"""The steerable linear map of SEGNN (Brandstetter et al., ICLR 2022): a linear map of irreps
features whose weights are steered by an attribute through a tensor product."""

from __future__ import annotations

import torch
from torch import nn

from symmetries.nn.o3.tensor_product import FullyConnectedTensorProduct
from symmetries.o3 import Irrep


class SteerableLinear(nn.Module):
    r"""The steerable linear map of SEGNN: a fully connected tensor product with the
    attribute :math:`a` and a bias on the ``0e`` outputs,

    .. math::
        y = W_a h + b.

    The tensor product holds its weights at the scale of their fan-in
    (``weight_scale='fan_in'``): the same function, but an optimizer like Adam moves them at
    the pace it moves an ``nn.Linear``'s, not :math:`\sqrt{n_{in}}` times slower. The bias
    starts at zero.

    Args:
        irreps_in: the irreps of :math:`h`.
        irreps_out: the output irreps.
        irreps_attr: the irreps of the attribute :math:`a`.

    Shapes:
        - **input:** h ``[..., irreps_in.dim]``, a ``[..., irreps_attr.dim]``
        - **output:** ``[..., irreps_out.dim]``
    """

    def __init__(self, irreps_in, irreps_out, irreps_attr):
        super().__init__()
        self.tp = FullyConnectedTensorProduct(irreps_in, irreps_attr, irreps_out, weight_scale="fan_in")
        self.irreps_out = self.tp.irreps_out
        scalar = [sl for (_, ir), sl in zip(self.irreps_out, self.irreps_out.slices()) if ir == Irrep("0e")]
        index = torch.cat([torch.arange(sl.start, sl.stop) for sl in scalar] or [torch.zeros(0, dtype=torch.long)])
        self.bias = nn.Parameter(torch.zeros(len(index)))
        self.register_buffer("_bias_index", index, persistent=False)

    def forward(self, h, a):
        out = self.tp(h, a)
        return out.index_add(-1, self._bias_index, self.bias.to(out.dtype).expand(out.shape[:-1] + self.bias.shape))
