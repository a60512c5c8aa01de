"""DeepSets (Zaheer et al. 2017): permutation-invariant and -equivariant networks on sets.

A batch of sets is a tensor ``[B, n, C]`` (element axis 1, channels last) with an optional
boolean ``mask`` ``[B, n]`` (``True`` for real elements) so sets of different sizes share
one padded batch. Padded entries never influence real outputs, and padded outputs are 0.
"""

from __future__ import annotations

import torch
from torch import nn

from symmetries.nn._mlp import mlp
from symmetries._internal.tracing import is_compiling

POOLS = ("sum", "mean", "max")


def check_set(x: torch.Tensor, mask: torch.Tensor | None = None, features: int | None = None,
              order: int = 1) -> None:
    """Validate a batch of sets ``[B, n, C]`` (``order`` 2: ``[B, n, n, C]``) and its mask ``[B, n]``.

    Args:
        x: the batch.
        mask: ``True`` for real elements, or ``None`` (default); every set needs one.
        features: the number of channels ``C`` expected, or ``None`` (default) for any.
        order: 1 for sets, 2 for ``n x n`` set tensors (default: 1).

    Raises:
        ValueError: naming the shape expected and the one given (also for empty sets).
    """
    want = "[B, n, " + ("n, " if order == 2 else "") + ("C]" if features is None else f"{features}]")
    if not torch.is_tensor(x) or x.dim() != 2 + order or (order == 2 and x.shape[1] != x.shape[2]):
        raise ValueError(f"expected a batch of {'sets' if order == 1 else 'n x n set tensors'} {want}, got "
                         f"{('shape ' + str(tuple(x.shape))) if torch.is_tensor(x) else type(x).__name__}")
    if features is not None and x.shape[-1] != features:
        raise ValueError(f"expected {want} with {features} channels, got shape {tuple(x.shape)}")
    if x.shape[1] == 0:
        raise ValueError(f"empty sets: got shape {tuple(x.shape)} with no elements")
    if mask is None:
        return
    if not torch.is_tensor(mask) or mask.dtype != torch.bool or tuple(mask.shape) != tuple(x.shape[:2]):
        got = f"shape {tuple(mask.shape)} {mask.dtype}" if torch.is_tensor(mask) else type(mask).__name__
        raise ValueError(f"mask must be a bool tensor [B, n] = {tuple(x.shape[:2])}, got {got}")
    if not is_compiling() and not bool(mask.any(1).all()):
        empty = (~mask.any(1)).nonzero().flatten().tolist()
        raise ValueError(f"empty sets: batch entries {empty[:8]} have no element with mask True")


def masked_fill_padding(x: torch.Tensor, mask: torch.Tensor | None, value: float = 0.0,
                        order: int = 1) -> torch.Tensor:
    """Set the padded entries of ``x`` ``[B, n, ...]`` (``order`` 2: ``[B, n, n, ...]``, an entry
    ``(i, j)`` is padding unless both ``i`` and ``j`` are real) to ``value``."""
    if mask is None:
        return x
    m = mask[:, :, None] & mask[:, None, :] if order == 2 else mask
    return x.masked_fill(~m.view(*m.shape, *([1] * (x.dim() - m.dim()))), value)


def set_pool(x: torch.Tensor, mask: torch.Tensor | None = None, reduce: str = "sum") -> torch.Tensor:
    r"""Pool a batch of sets over its elements, permutation-invariant.

    ``"sum"`` :math:`\sum_i x_i`, ``"mean"`` :math:`\frac{1}{n_b} \sum_i x_i` with
    :math:`n_b` the number of real elements, ``"max"`` the elementwise maximum over real
    elements.

    Args:
        x: the sets.
        mask: ``True`` for real elements; padded ones (``False``) are ignored (default:
            ``None``, all real).
        reduce: ``"sum"`` (default), ``"mean"`` or ``"max"``.

    Returns:
        The pooled features.

    Shapes:
        - **input:** x ``[B, n, C]``, mask ``[B, n]``
        - **output:** ``[B, C]``
    """
    if reduce not in POOLS:
        raise ValueError(f"reduce must be one of {POOLS}, got {reduce!r}")
    if reduce == "max":
        return masked_fill_padding(x, mask, float("-inf")).amax(1)
    total = masked_fill_padding(x, mask).sum(1)
    if reduce == "sum":
        return total
    count = x.new_full((x.shape[0], 1), x.shape[1]) if mask is None else mask.sum(1, keepdim=True).to(x.dtype)
    return total / count


class DeepSetsLayer(nn.Module):
    r"""The permutation-equivariant layer of DeepSets:

    .. math:: y_i = \Lambda x_i + \Gamma\, \mathrm{pool}_j(x_j) + b

    (two linear maps and a bias: with ``reduce="sum"`` or ``"mean"`` this spans all
    linear :math:`S_n`-equivariant maps on sets plus the invariant bias; ``"max"`` is the
    max-pooling variant). Padded outputs are 0.

    Args:
        in_features: input channels.
        out_features: output channels.
        reduce: the pool, ``"sum"`` (default), ``"mean"`` or ``"max"`` (:func:`set_pool`).
        bias: learn :math:`b` (default: ``True``).

    Shapes:
        - **input:** x ``[B, n, in_features]``, mask ``[B, n]`` (optional)
        - **output:** ``[B, n, out_features]``
    """

    def __init__(self, in_features: int, out_features: int, reduce: str = "sum", bias: bool = True):
        super().__init__()
        if reduce not in POOLS:
            raise ValueError(f"reduce must be one of {POOLS}, got {reduce!r}")
        self.in_features, self.out_features, self.reduce = in_features, out_features, reduce
        self.elementwise = nn.Linear(in_features, out_features, bias=bias)
        self.pooled = nn.Linear(in_features, out_features, bias=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        check_set(x, mask, self.in_features)
        y = self.elementwise(x) + self.pooled(set_pool(x, mask, self.reduce))[:, None, :]
        return masked_fill_padding(y, mask)


class EquivariantDeepSets(nn.Module):
    r"""A stack of :class:`DeepSetsLayer` with activations between them,
    permutation-equivariant: :math:`f(PX) = P f(X)`.

    Args:
        in_features: input channels.
        out_features: output channels.
        hidden: channels between the layers (default: 64).
        layers: the number of layers, >= 1 (default: 3).
        reduce: the pool of every layer (default: ``"sum"``).
        act: the activation class (default: ``nn.SiLU``), none after the last layer.

    Shapes:
        - **input:** x ``[B, n, in_features]``, mask ``[B, n]`` (optional)
        - **output:** ``[B, n, out_features]``
    """

    def __init__(self, in_features: int, out_features: int, hidden: int = 64, layers: int = 3, reduce: str = "sum",
                 act: type[nn.Module] = nn.SiLU):
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        sizes = [in_features] + [hidden] * (layers - 1) + [out_features]
        self.layers = nn.ModuleList(DeepSetsLayer(a, b, reduce) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = act()

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        for k, layer in enumerate(self.layers):
            x = layer(x, mask)
            if k < len(self.layers) - 1:
                x = masked_fill_padding(self.act(x), mask)
        return x


class DeepSets(nn.Module):
    r"""The permutation-invariant DeepSets network,

    .. math::
        f(X) = \rho\big(\mathrm{pool}_{i} \, \phi(x_i)\big).

    Args:
        in_features: input channels.
        out_features: output channels.
        hidden: the width of both MLPs (default: 64).
        phi_layers: linear layers of :math:`\phi`, applied to each element, each followed
            by ``act`` (default: 2).
        rho_layers: linear layers of :math:`\rho`, on the pooled vector (default: 2).
        reduce: the pool over real elements, ``"sum"`` (default), ``"mean"`` or ``"max"``.
        act: the activation class (default: ``nn.SiLU``).

    Shapes:
        - **input:** x ``[B, n, in_features]``, mask ``[B, n]`` (optional)
        - **output:** ``[B, out_features]``
    """

    def __init__(self, in_features: int, out_features: int, hidden: int = 64, phi_layers: int = 2,
                 rho_layers: int = 2, reduce: str = "sum", act: type[nn.Module] = nn.SiLU):
        super().__init__()
        if reduce not in POOLS:
            raise ValueError(f"reduce must be one of {POOLS}, got {reduce!r}")
        if phi_layers < 1 or rho_layers < 1:
            raise ValueError(f"phi_layers and rho_layers must be >= 1, got {phi_layers}, {rho_layers}")
        self.in_features, self.reduce = in_features, reduce
        self.phi = mlp([in_features] + [hidden] * phi_layers, act, last_act=True)
        self.rho = mlp([hidden] * rho_layers + [out_features], act)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        check_set(x, mask, self.in_features)
        return self.rho(set_pool(self.phi(x), mask, self.reduce))
