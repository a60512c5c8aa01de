r"""Attention on sets without positional encodings (Set Transformer, Lee et al. 2019).

Without positional encodings, multihead attention is permutation-equivariant in its
queries and invariant in its keys/values: relabelling the elements of ``X`` relabels the
rows of ``MAB(X, X)``, and pooling by attention over learned seeds is invariant.

.. math::
    \mathrm{MAB}(X, Y) = H + \mathrm{rFF}(H), \quad H = X + \mathrm{Multihead}(X, Y, Y)

(with LayerNorm after each sum when ``layer_norm``). Sets are ``[B, n, C]`` with an
optional ``mask`` ``[B, n]`` (``True`` for real elements): padded keys get no attention
weight, padded query rows are returned as 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from symmetries.nn.sets._deepsets import check_set, masked_fill_padding


class MultiheadAttentionBlock(nn.Module):
    r"""The multihead attention block of the Set Transformer: queries :math:`X` attend to
    :math:`Y`,

    .. math::
        \mathrm{MAB}(X, Y) = H + \mathrm{rFF}(H), \quad H = X + \mathrm{Multihead}(X, Y, Y)

    (with LayerNorm after each sum when ``layer_norm``); :math:`\mathrm{rFF}` is
    ``Linear -> SiLU -> Linear``.

    Args:
        features: the channels of queries, keys and output.
        heads: attention heads; must divide ``features`` (default: 4).
        layer_norm: LayerNorm after each residual sum (default: ``True``).
        ff_hidden: the hidden width of :math:`\mathrm{rFF}` (default: ``features``).

    Shapes:
        - **input:** x ``[B, m, features]``, y ``[B, n, features]``, key_mask ``[B, n]``
          (optional, ``True`` for real keys: padded keys get no attention weight)
        - **output:** ``[B, m, features]``
    """

    def __init__(self, features: int, heads: int = 4, layer_norm: bool = True, ff_hidden: int | None = None):
        super().__init__()
        if features % heads:
            raise ValueError(f"features ({features}) must be divisible by heads ({heads})")
        self.features, self.heads = features, heads
        self.q, self.k, self.v = (nn.Linear(features, features) for _ in range(3))
        self.o = nn.Linear(features, features)
        hidden = ff_hidden or features
        self.ff = nn.Sequential(nn.Linear(features, hidden), nn.SiLU(), nn.Linear(hidden, features))
        self.norm1 = nn.LayerNorm(features) if layer_norm else nn.Identity()
        self.norm2 = nn.LayerNorm(features) if layer_norm else nn.Identity()

    def _split(self, t):
        b, n, _ = t.shape
        return t.view(b, n, self.heads, self.features // self.heads).transpose(1, 2)

    def forward(self, x: torch.Tensor, y: torch.Tensor, key_mask: torch.Tensor | None = None) -> torch.Tensor:
        q, k, v = self._split(self.q(x)), self._split(self.k(y)), self._split(self.v(y))
        attn_mask = None if key_mask is None else key_mask[:, None, None, :]
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        h = self.norm1(x + self.o(a.transpose(1, 2).reshape(x.shape)))
        return self.norm2(h + self.ff(h))


class SetAttention(nn.Module):
    r"""Set attention block, permutation-equivariant,

    .. math::
        \mathrm{SAB}(X) = \mathrm{MAB}(X, X).

    Args:
        in_features: input channels (a linear input projection when ``in_features !=
            features``).
        features: channels of the block and the output (default: ``in_features``).
        heads: attention heads (default: 4).
        layer_norm: as :class:`MultiheadAttentionBlock` (default: ``True``).

    Shapes:
        - **input:** x ``[B, n, in_features]``, mask ``[B, n]`` (optional)
        - **output:** ``[B, n, features]``, padded rows 0
    """

    def __init__(self, in_features: int, features: int | None = None, heads: int = 4, layer_norm: bool = True):
        super().__init__()
        features = in_features if features is None else features
        self.in_features = in_features
        self.proj = nn.Linear(in_features, features) if features != in_features else nn.Identity()
        self.mab = MultiheadAttentionBlock(features, heads, layer_norm)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        check_set(x, mask, self.in_features)
        h = self.proj(x)
        return masked_fill_padding(self.mab(h, h, mask), mask)


class InducedSetAttention(nn.Module):
    r"""Induced set attention with :math:`m` learned points :math:`I`: permutation-equivariant,
    cost linear in n,

    .. math::
        \mathrm{ISAB}_m(X) = \mathrm{MAB}(X, \mathrm{MAB}(I, X)).

    Args:
        in_features: input channels (a linear input projection when ``in_features !=
            features``).
        features: channels of the blocks and the output (default: ``in_features``).
        inducing: :math:`m`, the number of inducing points (default: 16).
        heads: attention heads (default: 4).
        layer_norm: as :class:`MultiheadAttentionBlock` (default: ``True``).

    Shapes:
        - **input:** x ``[B, n, in_features]``, mask ``[B, n]`` (optional)
        - **output:** ``[B, n, features]``, padded rows 0
    """

    def __init__(self, in_features: int, features: int | None = None, inducing: int = 16, heads: int = 4,
                 layer_norm: bool = True):
        super().__init__()
        features = in_features if features is None else features
        self.in_features = in_features
        self.proj = nn.Linear(in_features, features) if features != in_features else nn.Identity()
        self.inducing = nn.Parameter(torch.randn(1, inducing, features) / math.sqrt(features))
        self.mab1 = MultiheadAttentionBlock(features, heads, layer_norm)
        self.mab2 = MultiheadAttentionBlock(features, heads, layer_norm)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        check_set(x, mask, self.in_features)
        h = self.proj(x)
        summary = self.mab1(self.inducing.expand(h.shape[0], -1, -1), h, mask)
        return masked_fill_padding(self.mab2(h, summary), mask)


class AttentionPooling(nn.Module):
    r"""Pooling by multihead attention over :math:`k` learned seed vectors :math:`S`:
    permutation-invariant,

    .. math::
        \mathrm{PMA}_k(X) = \mathrm{MAB}(S, \mathrm{rFF}(X)),

    :math:`\mathrm{rFF}` ``Linear(in_features, features) -> SiLU -> Linear``.

    Args:
        in_features: input channels.
        features: channels of the output (default: ``in_features``).
        seeds: :math:`k` (default: 1).
        heads: attention heads (default: 4).
        layer_norm: as :class:`MultiheadAttentionBlock` (default: ``True``).
        squeeze: drop the seed axis when ``seeds == 1`` (default: ``True``).

    Shapes:
        - **input:** x ``[B, n, in_features]``, mask ``[B, n]`` (optional)
        - **output:** ``[B, seeds, features]`` (``[B, features]`` when ``seeds == 1`` and
          ``squeeze``)
    """

    def __init__(self, in_features: int, features: int | None = None, seeds: int = 1, heads: int = 4,
                 layer_norm: bool = True, squeeze: bool = True):
        super().__init__()
        features = in_features if features is None else features
        self.in_features, self.squeeze = in_features, squeeze and seeds == 1
        self.ff = nn.Sequential(nn.Linear(in_features, features), nn.SiLU(), nn.Linear(features, features))
        self.seeds = nn.Parameter(torch.randn(1, seeds, features) / math.sqrt(features))
        self.mab = MultiheadAttentionBlock(features, heads, layer_norm)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        check_set(x, mask, self.in_features)
        out = self.mab(self.seeds.expand(x.shape[0], -1, -1), self.ff(x), mask)
        return out[:, 0] if self.squeeze else out
