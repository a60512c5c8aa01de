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
    r""":math:`\mathrm{MAB}(X, Y)`: queries ``x`` ``[B, m, features]`` attend to
    ``y`` ``[B, n, features]`` with ``heads`` heads; ``key_mask`` ``[B, n]`` hides padded
    keys. Returns ``[B, m, features]``."""

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
    r"""Set attention block :math:`\mathrm{SAB}(X) = \mathrm{MAB}(X, X)`, permutation-equivariant.
    ``[B, n, in_features]`` (``mask`` ``[B, n]``) -> ``[B, n, features]`` (a linear input
    projection when ``in_features != features``)."""

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
    r"""Induced set attention :math:`\mathrm{ISAB}_m(X) = \mathrm{MAB}(X, \mathrm{MAB}(I, X))`
    with ``inducing`` learned points :math:`I`: permutation-equivariant, cost linear in n.
    ``[B, n, in_features]`` -> ``[B, n, features]``."""

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
    r"""Pooling by multihead attention :math:`\mathrm{PMA}_k(X) = \mathrm{MAB}(S, \mathrm{rFF}(X))`
    over ``seeds`` learned vectors :math:`S`: permutation-invariant.
    ``[B, n, in_features]`` (``mask`` ``[B, n]``) -> ``[B, seeds, features]``
    (``[B, features]`` when ``seeds == 1`` and ``squeeze``)."""

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
