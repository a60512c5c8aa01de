r"""Permutations of set elements and graph nodes.

:math:`S_n` acts on labels by :math:`i \mapsto p[i]`: the element that had label ``i``
gets label ``p[i]``, so a per-element tensor becomes :math:`x'[p[i]] = x[i]`, i.e.
:math:`x' = x[p^{-1}]`, and an edge list is relabelled as :math:`e' = p[e]`.
"""

from __future__ import annotations

import torch

from symmetries.groups import Symmetric
from symmetries.actions._action import Action
from symmetries.actions._layout import find_batch, layout_entries, map_layout

_GRAPH_KINDS = ("node", "edge_index", "batch", "edge", "graph")


class SetPermutation(Action):
    r""":math:`S_n` acting on dense batches of sets and set tensors,

    .. math::
        x'_{p[i_1] \dots p[i_k]} = x_{i_1 \dots i_k}.

    A batch of one element permutes every sample alike; ``B`` elements act one per sample.

    Args:
        n: the set size.
        layout: one entry or a tuple / list / dict of entries matching the input. An int
            ``k`` marks a tensor ``[B, n, ..., n, ...]`` whose axes ``1..k`` index elements
            (``1`` for sets ``[B, n, C]`` and masks ``[B, n]``, ``2`` for pair / edge
            tensors ``[B, n, n, C]``); ``0`` or ``None`` leaves an entry unchanged
            (default: ``1``, one set tensor).

    Shapes:
        - **x:** per entry ``k``: ``[B, (n,) * k, ...]``
        - **output:** the shapes of ``x``
    """

    def __init__(self, n: int, layout=1):
        self.group, self.n, self.layout = Symmetric(n), int(n), layout
        for entry in layout_entries(layout):
            if entry is not None and not (isinstance(entry, int) and 0 <= entry <= 8):
                raise ValueError(f"SetPermutation layout entries are element-axis counts (0, 1, 2, ...) or None, "
                                 f"got {entry!r}")

    def __repr__(self):
        return f"SetPermutation({self.n}, {self.layout!r})"

    def act(self, g, x):
        self.group.check(g)
        inv = self.group.inverse(g)
        return map_layout(self.layout, x, lambda k, v: self._permute(k, v, inv))

    def _permute(self, k, x, inv):
        if not k:
            return x
        n, b = self.n, inv.shape[0]
        if not torch.is_tensor(x) or x.dim() < 1 + k or tuple(x.shape[1:1 + k]) != (n,) * k:
            raise ValueError(f"expected a tensor [B, {', '.join(['n'] * k)}, ...] with n = {n}, got "
                             f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")
        inv = inv.to(x.device)
        if b != 1 and x.shape[0] != b:
            raise ValueError(f"{b} permutations act one per sample on tensors [B={b}, ...], got shape {tuple(x.shape)}")
        for axis in range(1, 1 + k):
            if b == 1:
                x = x.index_select(axis, inv[0])
            else:
                shape = [b] + [1] * (x.dim() - 1)
                shape[axis] = n
                x = torch.gather(x, axis, inv.view(shape).expand(x.shape))
        return x


class GraphPermutation(Action):
    r""":math:`S_n` relabelling the nodes of a graph in PyTorch Geometric's layout,

    .. math::
        x' = x[p^{-1}], \qquad e' = p[e].

    One element of :math:`S_N` relabels all ``N`` nodes of the input (a batch of graphs is
    one disconnected graph; its batch vector moves along). ``B`` elements of :math:`S_n`
    act one per graph on a batch of ``B`` graphs of ``n`` nodes each stored in order
    (``batch = [0]*n + [1]*n + ...``), which needs a ``"batch"`` entry.

    Args:
        n: the number of nodes permuted (all ``N`` nodes, or the nodes of each graph).
        layout: one entry or a tuple / list / dict matching the input, marking each entry
            (default: ``("node", "edge_index")``):

            - ``"node"``: a node-level tensor ``[N, ...]``, rows moved: :math:`x' = x[p^{-1}]`;
            - ``"batch"``: the batch vector ``[N]``, moved like node features;
            - ``"edge_index"``: ``[2, E]`` long, relabelled :math:`e' = p[e]` (edge order
              kept, so ``"edge"`` features ``[E, ...]`` stay as they are);
            - ``"edge"``, ``"graph"`` or ``None``: unchanged.

    Shapes:
        - **x:** node entries ``[N, ...]``, edge_index ``[2, E]``, batch ``[N]``
        - **output:** the shapes of ``x``
    """

    def __init__(self, n: int, layout=("node", "edge_index")):
        self.group, self.n, self.layout = Symmetric(n), int(n), layout
        for entry in layout_entries(layout):
            if entry is not None and entry not in _GRAPH_KINDS:
                raise ValueError(f"unknown graph entry {entry!r}; use one of {_GRAPH_KINDS} or None")

    def __repr__(self):
        return f"GraphPermutation({self.n}, {self.layout!r})"

    def batch_size(self, x) -> int:
        batch = find_batch(self.layout, x)
        return 1 if batch is None else (int(batch.max()) + 1 if batch.numel() else 0)

    def act(self, g, x):
        self.group.check(g)
        perm = self._global(g, find_batch(self.layout, x))
        inv = torch.argsort(perm)
        return map_layout(self.layout, x, lambda kind, v: self._move(kind, v, perm, inv))

    def _global(self, g, batch):
        """One permutation of all nodes, from one element or one element per graph."""
        if g.shape[0] == 1:
            return g[0]
        b, n = g.shape
        if batch is None:
            raise ValueError(f"{b} elements act one per graph only with a 'batch' entry in the layout")
        expected = torch.arange(b, device=batch.device).repeat_interleave(n)
        if batch.shape != expected.shape or not bool((batch == expected).all()):
            raise ValueError(f"{b} elements of S_{n} act one per graph on {b} graphs of {n} nodes stored in order; "
                             f"the batch vector has {batch.shape[0]} nodes in another arrangement")
        return (g.to(batch.device) + (torch.arange(b, device=batch.device) * n)[:, None]).reshape(-1)

    def _move(self, kind, x, perm, inv):
        if kind in (None, "edge", "graph"):
            return x
        if not torch.is_tensor(x):
            raise ValueError(f"a {kind!r} entry must be a tensor, got {type(x).__name__}")
        perm, inv = perm.to(x.device), inv.to(x.device)
        if kind == "edge_index":
            if x.dtype != torch.long or x.dim() != 2 or x.shape[0] != 2:
                raise ValueError(f"the layout {self.layout!r} marks an entry 'edge_index', which must be a long tensor "
                                 f"[2, E], got shape {tuple(x.shape)} {x.dtype}; if the input is another arrangement, "
                                 f"say so with layout=, e.g. GraphPermutation({self.n}, ('node', 'batch')) for "
                                 f"(pos, batch)")
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= perm.shape[0]):
                raise ValueError(f"edge_index refers to node {int(x.max())} but the permutation acts on "
                                 f"{perm.shape[0]} nodes")
            return perm[x]
        if x.dim() == 0 or x.shape[0] != perm.shape[0]:
            raise ValueError(f"the layout {self.layout!r} marks an entry {kind!r}, which must have one row per node "
                             f"({perm.shape[0]}), got shape {tuple(x.shape)}; set layout= to match the input")
        return x[inv]
