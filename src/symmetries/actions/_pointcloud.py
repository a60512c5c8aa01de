"""Point clouds under E(n), O(n) and SO(n): positions rotate, reflect and translate; features
follow their reps."""

from __future__ import annotations

import torch

from symmetries.groups import SO, Euclidean, MatrixGroup, O
from symmetries.actions._action import Action
from symmetries.actions._layout import find_batch, layout_entries, map_layout

_KINDS = ("position", "vector", "pseudovector", "scalar", "batch")


class PointCloudAction(Action):
    r"""How :math:`O(n)`, :math:`SO(n)` or :math:`E(n)` moves a point cloud and its features,

    .. math::
        x \mapsto Q x + t, \qquad f \mapsto \rho(Q) f.

    Dense clouds ``[B, M, n]``: one element acts on everything, or ``B`` elements act one
    per sample. Flat clouds ``[N, n]`` with a ``"batch"`` entry: one element, or one per graph.

    Args:
        group: ``Euclidean(n)``, or a compact matrix group (``O(n)``, ``SO(n)``: no
            translation).
        layout: describes the input: one entry, or a tuple / list / dict of entries matching
            the input's structure (default: ``"position"``). Entries:

            - ``"position"``: :math:`x \mapsto Q x + t` on the last axis (``n`` coordinates);
            - ``"vector"``: :math:`v \mapsto Q v` (velocities, forces); ``"pseudovector"``:
              :math:`v \mapsto \det(Q)\, Q v`;
            - a :class:`~symmetries.reps.Rep` of :math:`O(n)` / :math:`SO(n)`: :math:`f \mapsto
              \rho(Q) f` on the last axis;
            - ``"scalar"`` or ``None``: unchanged (charges, edge_index, invariant features);
            - ``"batch"``: a PyG batch vector ``[N]`` (unchanged); with it, a batch of ``B``
              elements acts per graph: node ``k`` is moved by element ``batch[k]``.

    Shapes:
        - **x:** per entry ``[B, ..., n]`` / ``[N, ..., n]`` (``rep.dim`` for a Rep entry),
          batch ``[N]``
        - **output:** the shapes of ``x``
    """

    def __init__(self, group, layout="position"):
        if isinstance(group, Euclidean):
            self.n, self.linear_group = group.n, group.linear_group
        elif isinstance(group, MatrixGroup) and group.compact:
            self.n, self.linear_group = group.d, group
        else:
            raise TypeError(f"PointCloudAction needs Euclidean(n), O(n) or SO(n), got {group!r}")
        self.group, self.layout = group, layout
        for entry in layout_entries(layout):
            if isinstance(entry, str):
                if entry not in _KINDS:
                    raise ValueError(f"unknown point-cloud entry {entry!r}; use one of {_KINDS}, a Rep or None")
            elif entry is not None:
                if not (hasattr(entry, "group") and callable(entry)):
                    raise TypeError(f"layout entries are strings, Reps or None, got {type(entry).__name__}")
                if not _same_linear_group(entry.group, self.linear_group):
                    raise ValueError(f"feature rep {entry!r} belongs to {entry.group!r}, but {group!r} acts on "
                                     f"features through {self.linear_group!r}")

    def __repr__(self):
        return f"PointCloudAction({self.group!r}, {self.layout!r})"

    def _parts(self, g):
        if isinstance(self.group, Euclidean):
            return Euclidean.linear(g), Euclidean.translation(g)
        return g, torch.zeros(g.shape[0], self.n, dtype=g.dtype, device=g.device)

    def act(self, g, x):
        self.group.check(g)
        batch = find_batch(self.layout, x)
        q, t = self._parts(g)
        return map_layout(self.layout, x, lambda entry, v: self._act_one(entry, v, q, t, batch))

    def batch_size(self, x) -> int:
        batch = find_batch(self.layout, x)
        if batch is not None:
            return int(batch.max()) + 1 if batch.numel() else 0
        return super().batch_size(x)

    def _act_one(self, entry, x, q, t, batch):
        if entry in (None, "scalar", "batch"):
            return x
        if not torch.is_tensor(x) or not x.is_floating_point():
            raise ValueError(f"a {entry!r} entry must be a float tensor, got "
                             f"{x.dtype if torch.is_tensor(x) else type(x).__name__}")
        if isinstance(entry, str):
            dim = self.n
            if x.dim() == 0 or x.shape[-1] != dim:
                raise ValueError(f"{entry} entries must have {dim} coordinates in the last axis (the group "
                                 f"{self.group!r} acts on R^{dim}), got shape {tuple(x.shape)}")
            mats = q if entry != "pseudovector" else q * torch.linalg.det(q)[:, None, None]
            shift = t if entry == "position" else None
        else:
            dim = entry.dim
            if x.dim() == 0 or x.shape[-1] != dim:
                raise ValueError(f"features of rep {entry!r} must have {dim} channels in the last axis, "
                                 f"got shape {tuple(x.shape)}")
            mats, shift = entry(q), None
        mats = mats.to(dtype=x.dtype, device=x.device)
        shift = None if shift is None else shift.to(dtype=x.dtype, device=x.device)
        b = mats.shape[0]
        if b == 1:
            y = x @ mats[0].T
            return y + shift[0] if shift is not None else y
        if batch is not None:
            if x.shape[0] != batch.shape[0]:
                raise ValueError(f"per-graph elements act on node-level tensors [N={batch.shape[0]}, ...], "
                                 f"got shape {tuple(x.shape)}")
            if not torch.compiler.is_compiling() and int(batch.max()) >= b:
                raise ValueError(f"the batch vector names graph {int(batch.max())} but only {b} elements were given")
            mats, shift = mats[batch], None if shift is None else shift[batch]
            y = (mats @ x.reshape(x.shape[0], -1, dim).transpose(1, 2)).transpose(1, 2).reshape(x.shape)
            return y if shift is None else y + shift.view(x.shape[0], *([1] * (x.dim() - 2)), dim)
        if x.dim() < 2 or x.shape[0] != b:
            raise ValueError(f"{b} group elements act one per sample on tensors [B={b}, ...], got shape "
                             f"{tuple(x.shape)}")
        y = (x.reshape(b, -1, dim) @ mats.transpose(1, 2)).reshape(x.shape)
        return y if shift is None else y + shift.view(b, *([1] * (x.dim() - 2)), dim)


def _same_linear_group(a, b) -> bool:
    """``O(3)`` and ``O3()`` (likewise SO, n = 2) are the same matrix group under two names."""
    if a == b:
        return True
    return (isinstance(a, O) and isinstance(b, O) and a.d == b.d
            and isinstance(a, SO) == isinstance(b, SO))
