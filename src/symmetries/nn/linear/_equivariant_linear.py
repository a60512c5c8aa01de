"""EquivariantLinear: a linear layer whose weight lies in the solved equivariant basis."""

from __future__ import annotations

import torch
from torch import nn

from symmetries.reps import BlockBasisExpansion, Rep, block_basis


class EquivariantLinear(nn.Module):
    r"""Linear map with :math:`\rho_{out}(g) W = W \rho_{in}(g)` and
    :math:`\rho_{out}(g) b = b` for all g,

    .. math::
        y = W x + b, \qquad W = \sum_k w_k B_k.

    :math:`B_k` is the basis of equivariant maps, solved block by block for each pair of
    distinct summands of ``rep_in`` and ``rep_out`` (copies share the block basis and get their
    own coefficients). The bias lives on the invariant directions of ``rep_out``. Both are
    expanded by :class:`~symmetries.reps.BlockBasisExpansion` (its coefficient layout).
    Parameters: ``weight`` (all basis coefficients, flat; initialized normal with unit output
    variance) and ``bias`` (zeros); the bases are non-persistent buffers, rebuilt from the reps,
    so the state_dict holds only the coefficients.

    Args:
        rep_in: the input representation.
        rep_out: the output representation, of the same group.
        bias: learn the invariant bias (default: ``True``); ``bias`` is ``None`` anyway when
            ``rep_out`` has no invariant direction.
        max_block: pairs of summands with more than this many unknowns
            (:math:`d_{out} d_{in}`) are left out (their block of W stays zero): a smaller,
            still exactly equivariant, family of maps that avoids solving large blocks
            (default: ``None``, all pairs).

    Shapes:
        - **input:** ``(..., rep_in.dim)``, of the weight's dtype
        - **output:** ``(..., rep_out.dim)``
    """

    def __init__(self, rep_in: Rep, rep_out: Rep, bias: bool = True, max_block: int | None = None):
        super().__init__()

        def basis(t_in: Rep, t_out: Rep) -> torch.Tensor:
            if max_block is not None and t_in.dim * t_out.dim > max_block:
                return torch.zeros(0, t_out.dim, t_in.dim, dtype=torch.float64)
            return block_basis(t_in, t_out)

        self.expansion = BlockBasisExpansion(rep_in, rep_out, basis, bias)
        self.rep_in, self.rep_out = rep_in, rep_out
        self.weight = nn.Parameter(torch.empty(self.expansion.weight_numel))
        if self.expansion.bias_numel:
            self.bias = nn.Parameter(torch.zeros(self.expansion.bias_numel))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _init_scale(self) -> torch.Tensor:
        r"""Coefficient std :math:`\sqrt{d_{out} / \mathrm{fan}}`, the fan of an output summand
        being the coefficients that feed each of its copies: unit output variance."""
        blocks = [b for b in self.expansion.blocks if b.num_basis]
        fan: dict[int, int] = {}
        for b in blocks:
            fan[b.summand_out] = fan.get(b.summand_out, 0) + b.mul_in * b.num_basis
        w = self.weight
        return torch.cat([torch.full((b.numel,), (b.dim_out / fan[b.summand_out]) ** 0.5, dtype=w.dtype, device=w.device)
                          for b in blocks])

    def reset_parameters(self):
        r"""Draw the coefficients normal with std :math:`\sqrt{d_{out} / \mathrm{fan}}`, the fan
        being the coefficients that feed each copy of an output summand (unit output
        variance), and zero the bias."""
        with torch.no_grad():
            if self.weight.numel():
                self.weight.copy_(torch.randn_like(self.weight) * self._init_scale())
            if self.bias is not None:
                self.bias.zero_()

    @property
    def num_basis(self) -> int:
        """Number of free weight coefficients (the dimension of the equivariant space)."""
        return self.weight.numel()

    def matrix(self) -> torch.Tensor:
        """The dense weight :math:`W`, ``(rep_out.dim, rep_in.dim)``."""
        return self.expansion(self.weight)

    def bias_vector(self) -> torch.Tensor | None:
        """The invariant bias :math:`b`, ``(rep_out.dim,)``, or ``None``."""
        return None if self.bias is None else self.expansion.bias_vector(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 0 or x.shape[-1] != self.rep_in.dim:
            raise ValueError(f"EquivariantLinear expects inputs (..., {self.rep_in.dim}) for {self.rep_in!r}, "
                             f"got shape {tuple(x.shape)}")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"EquivariantLinear has {self.weight.dtype} weights, got a {x.dtype} input")
        W = self.matrix()
        y = x @ W.T
        b = self.bias_vector()
        return y if b is None else y + b

    def set_matrix(self, W: torch.Tensor) -> None:
        """Set the weight to the orthogonal projection of a dense ``W`` onto the equivariant maps."""
        with torch.no_grad():
            self.weight.copy_(self.expansion.coefficients(W.to(self.weight)))

    def extra_repr(self) -> str:
        return f"{self.rep_in!r} -> {self.rep_out!r}, {self.num_basis} coefficients, bias={self.bias is not None}"
