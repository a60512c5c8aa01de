"""All linear permutation-equivariant maps between sets and 2-tensors (Maron et al. 2019).

A tensor of order ``k`` over a set of ``n`` elements has ``k`` element axes: order 0 is a
vector ``[B, C]``, order 1 a set ``[B, n, C]``, order 2 an ``n x n`` array (edges, pairs)
``[B, n, n, C]``. :math:`S_n` permutes every element axis at once. The linear equivariant
maps order ``k`` -> order ``l`` are spanned by one map per partition of the ``k + l``
index positions (Bell(k + l) of them when n >= k + l: 2 maps 1 -> 1, 5 maps 1 -> 2 and
2 -> 1, 15 maps 2 -> 2); the invariant biases of order ``l`` by the partitions of the
``l`` output positions (1 for sets, 2 for 2-tensors: constant and diagonal).

The map of a partition (in the "diagram" basis): indices in one block are equal; blocks
with only input positions are summed (or averaged) over, blocks with only output
positions are broadcast, blocks with both are copied. For example the 15 maps 2 -> 2 are
identity, transpose, diagonal, row/column sums and totals placed on rows, columns, the
diagonal or everywhere. This spans the same space as
``symmetries.reps.equivariant_basis(standard(Symmetric(n))**k, standard(Symmetric(n))**l)``
(its orbit basis); the tests check that, and the counts.
"""

from __future__ import annotations

import math
import string

import torch
from torch import nn

from symmetries.nn.sets._deepsets import check_set, masked_fill_padding


def set_partitions(items: list[int]) -> list[list[list[int]]]:
    """All partitions of ``items`` into non-empty blocks, in a fixed order.

    Args:
        items: the items to partition.

    Returns:
        Bell(len(items)) partitions, each a list of blocks (lists of items); ``[[]]`` for
        no items.
    """
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for part in set_partitions(rest):
        out.append([[first]] + part)
        for i in range(len(part)):
            out.append(part[:i] + [[first] + part[i]] + part[i + 1:])
    return out


class _PartitionOp:
    """The diagram-basis map of one partition of positions ``0..l-1`` (output) and
    ``l..l+k-1`` (input)."""

    def __init__(self, partition, k: int, l: int):
        letters = string.ascii_lowercase[3:]  # b and c are batch and channel
        self.k, self.l = k, l
        block_of = {p: i for i, block in enumerate(partition) for p in block}
        outs = [b for b in range(len(partition)) if any(p < l for p in partition[b])]
        self.kept = [b for b in outs if any(p >= l for p in partition[b])]
        self.summed = sum(1 for blk in partition if all(p >= l for p in blk))
        in_letters = "".join(letters[block_of[l + i]] for i in range(k))
        kept_letters = "".join(letters[b] for b in self.kept)
        self.equation = f"b{in_letters}c->b{kept_letters}c"
        # output axes: one per block with an output position, ordered by first output position
        self.out_blocks = sorted(outs, key=lambda b: min(partition[b]))
        self.first = [min(partition[b]) for b in self.out_blocks]
        self.positions = [sorted(p for p in partition[b] if p < l) for b in self.out_blocks]

    def __call__(self, x: torch.Tensor, n: int, count: torch.Tensor | None) -> torch.Tensor:
        """``x`` ``[B, n^k, C]`` (k axes) -> ``[B, n^l, C]``; ``count`` ``[B]`` for averaging."""
        z = torch.einsum(self.equation, x)
        if count is not None and self.summed:
            z = z / count.view(-1, *([1] * (z.dim() - 1))) ** self.summed
        # one axis per output block, in out_blocks order: z's axes (kept blocks) moved into
        # place, and axes of size 1 (broadcast) for blocks with output positions only
        t = z.permute(0, *[1 + self.kept.index(b) for b in self.out_blocks if b in self.kept], z.dim() - 1)
        shape = [z.shape[0]] + [n if b in self.kept else 1 for b in self.out_blocks] + [z.shape[-1]]
        t = t.reshape(shape).expand(shape[0], *([n] * len(self.out_blocks)), shape[-1])
        if self.l == len(self.out_blocks):  # one output position per block: axes are already in place
            return t
        grids = torch.meshgrid(*([torch.arange(n, device=x.device)] * self.l), indexing="ij")
        index = tuple(grids[f] for f in self.first)
        vals = t[(slice(None),) + index]
        equal = torch.ones_like(grids[0], dtype=torch.bool)
        for pos in self.positions:
            for p in pos[1:]:
                equal = equal & (grids[p] == grids[pos[0]])
        return vals * equal[None, ..., None].to(vals.dtype)


class PermutationLinear(nn.Module):
    r"""The general linear :math:`S_n`-equivariant map from order-``in_order`` to
    order-``out_order`` set tensors (Maron, Ben-Hamu, Shamir, Lipman 2019):

    .. math:: y = \sum_{p} L_p(x)\, W_p + \sum_{q} B_q\, b_q

    over the partitions ``p`` of the ``in_order + out_order`` index positions (the maps
    :math:`L_p`, each mixing channels by its own ``W_p`` ``[in_features, out_features]``)
    and the partitions ``q`` of the output positions (the invariant biases). ``mask``
    marks real elements: padded inputs are ignored, padded outputs are 0.

    Args:
        in_order: the order of the input, 0 (vector), 1 (set) or 2 (``n x n`` tensor).
        out_order: the order of the output, likewise (not both 0).
        in_features: input channels.
        out_features: output channels.
        bias: learn the invariant biases :math:`b_q`, initialised to zero (default: ``True``).
        reduce: ``"mean"`` (default) divides every sum over elements by the set size (so
            the layer behaves alike on sets of different sizes), ``"sum"`` does not.

    Shapes:
        - **input:** x ``[B, (n,) * in_order, in_features]``, mask ``[B, n]`` (optional);
          with ``in_order`` 0 the set size comes from ``n=`` or the mask
        - **output:** ``[B, (n,) * out_order, out_features]``
    """

    def __init__(self, in_order: int, out_order: int, in_features: int, out_features: int, bias: bool = True,
                 reduce: str = "mean"):
        super().__init__()
        for name, k in (("in_order", in_order), ("out_order", out_order)):
            if k not in (0, 1, 2):
                raise ValueError(f"{name} must be 0 (vector), 1 (set) or 2 (n x n tensor), got {k}")
        if in_order == out_order == 0:
            raise ValueError("in_order = out_order = 0 has no element axis: use nn.Linear")
        if reduce not in ("sum", "mean"):
            raise ValueError(f"reduce must be 'sum' or 'mean', got {reduce!r}")
        self.in_order, self.out_order, self.reduce = in_order, out_order, reduce
        self.in_features, self.out_features = in_features, out_features
        positions = list(range(out_order + in_order))
        self.ops = [_PartitionOp(p, in_order, out_order) for p in set_partitions(positions)]
        self.bias_ops = [_PartitionOp(p, 0, out_order) for p in set_partitions(list(range(out_order)))] if bias else []
        self.weight = nn.Parameter(torch.randn(len(self.ops), in_features, out_features)
                                   / math.sqrt(len(self.ops) * in_features))
        self.bias = nn.Parameter(torch.zeros(len(self.bias_ops), out_features)) if bias else None

    @property
    def num_maps(self) -> int:
        """The number of linear maps (Bell(in_order + out_order))."""
        return len(self.ops)

    def extra_repr(self):
        return (f"order {self.in_order} -> {self.out_order}, {self.in_features} -> {self.out_features} features, "
                f"{len(self.ops)} maps + {len(self.bias_ops)} biases, reduce={self.reduce!r}")

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, n: int | None = None) -> torch.Tensor:
        """``n`` (the set size) is needed only when ``in_order`` is 0."""
        if self.in_order == 0:
            if not torch.is_tensor(x) or x.dim() != 2 or x.shape[1] != self.in_features:
                raise ValueError(f"expected vectors [B, {self.in_features}], got "
                                 f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")
            if n is None:
                n = mask.shape[1] if mask is not None else None
            if n is None:
                raise ValueError("in_order 0 needs the set size: pass n= or mask=")
        else:
            check_set(x, mask, self.in_features, self.in_order)
            n = x.shape[1]
            x = masked_fill_padding(x, mask, order=self.in_order)
        count = None
        if self.reduce == "mean":
            count = (mask.sum(1) if mask is not None else torch.full((x.shape[0],), n, device=x.device)).to(x.dtype)
        y = sum(torch.einsum("b...i,io->b...o", op(x, n, count), w) for op, w in zip(self.ops, self.weight))
        if self.bias is not None:
            one = x.new_ones(x.shape[0], 1)
            y = y + sum(op(one * b, n, None) for op, b in zip(self.bias_ops, self.bias))
        return masked_fill_padding(y, mask, order=self.out_order) if self.out_order else y

    @torch.no_grad()
    def basis_matrices(self, n: int) -> torch.Tensor:
        r"""The maps :math:`L_p` as matrices ``[num_maps, n**out_order, n**in_order]``
        (float64, ``reduce`` applied, index order row-major), for comparison with
        :func:`symmetries.reps.equivariant_basis`."""
        d_in = n ** self.in_order
        eye = torch.eye(d_in, dtype=torch.float64).reshape(d_in, *([n] * self.in_order), 1)
        count = torch.full((d_in,), float(n), dtype=torch.float64) if self.reduce == "mean" else None
        return torch.stack([op(eye, n, count).reshape(d_in, -1).T for op in self.ops])
