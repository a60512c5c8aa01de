r"""The L-CNN network: plaquettes in, gauge-invariant predictions out."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from symmetries.nn.gauge._field import check_links
from symmetries.nn.gauge._layers import LAct, LBilin, LConv, Plaq, Trace


class LCNN(nn.Module):
    r"""A lattice gauge equivariant CNN (Favoni et al. 2022):

    .. math::

        U \xrightarrow{\text{Plaq}} W^{(0)}, \quad
        W^{(l+1)} = \text{LAct}\big(\text{LBilin}(\text{LConv}(U, W^{(l)}),\, W^{(l)})\big), \quad
        y(x) = A\, \text{Trace}(W^{(n)})(x) + b,

    then the mean of :math:`y(x)` over the lattice (``reduce="mean"``) or :math:`y(x)` per
    site (``reduce=None``). Gauge invariant, and equivariant to periodic translations of the
    lattice (invariant after the mean); the weights do not depend on the lattice size, so a
    network trained on ``8 x 8`` runs on ``64 x 64``.

    Args:
        dim: the lattice dimension ``D``.
        out_features: the number of targets.
        channels: the output channels of each ``LConv -> LBilin -> LAct`` block.
        kernel_size: ``K`` of every :class:`LConv`.
        nu: the activation of :class:`LAct`.
        complex_weights: complex weights in :class:`LConv` and :class:`LBilin`.
        dagger: the conjugate features as extra inputs of :class:`LConv` and :class:`LBilin`.
        reduce: ``"mean"`` (default) or ``None``.

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``, complex
        - **output:** ``(B, out_features)``, or ``(B, out_features, L_0, ..., L_{D-1})`` with
          ``reduce=None``; real
    """

    def __init__(self, dim: int = 2, out_features: int = 1, channels: Sequence[int] = (4, 4), kernel_size: int = 1,
                 nu="step", complex_weights: bool = True, dagger: bool = False, reduce: str | None = "mean"):
        super().__init__()
        if reduce not in ("mean", None):
            raise ValueError(f"reduce must be 'mean' or None, got {reduce!r}")
        self.dim, self.reduce = dim, reduce
        self.plaq = Plaq()
        c = self.plaq.channels(dim)
        self.convs, self.bilins, self.acts = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for c_out in channels:
            self.convs.append(LConv(c, c_out, kernel_size, dim, complex_weights=complex_weights, dagger=dagger))
            self.bilins.append(LBilin(c_out, c, c_out, complex_weights=complex_weights, dagger=dagger))
            self.acts.append(LAct(nu))
            c = c_out
        self.trace = Trace()
        self.linear = nn.Linear(2 * c, out_features)

    def forward(self, U: torch.Tensor) -> torch.Tensor:
        D, _ = check_links(U)
        if D != self.dim:
            raise ValueError(f"LCNN built for a {self.dim}-dimensional lattice, got links of a {D}-dimensional one "
                             f"(shape {tuple(U.shape)})")
        W = self.plaq(U)
        for conv, bilin, act in zip(self.convs, self.bilins, self.acts):
            W = act(bilin(conv(U, W), W))
        y = self.trace(W).to(self.linear.weight.dtype)  # (B, 2C, L...)
        y = self.linear(y.movedim(1, -1)).movedim(-1, 1)  # (B, out, L...)
        if self.reduce == "mean":
            return y.flatten(2).mean(-1)
        return y
