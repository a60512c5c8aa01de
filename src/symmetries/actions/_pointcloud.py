"""Point clouds under E(n): positions rotate, reflect and translate; features follow their reps.

The Euclidean group :math:`E(n) = \\mathbb{R}^n \\rtimes O(n)` is stored as homogeneous
``(n+1) x (n+1)`` matrices

.. math:: g = \\begin{pmatrix} Q & t \\\\ 0 & 1 \\end{pmatrix}, \\qquad g \\cdot x = Q x + t,

so composition is matrix multiplication and every tool that takes a group (the checker,
augmentation, the basis solver through its Lie algebra) works on it unchanged.
"""

from __future__ import annotations

import torch

from ..groups import O, O2, O3, SO, SO2, SO3, MatrixGroup
from ..groups._orthogonal import haar_orthogonal, so_generators
from ._action import Action

_KINDS = ("position", "vector", "pseudovector", "scalar", "batch")


class Euclidean(MatrixGroup):
    r"""The Euclidean group :math:`E(n)` (``special=False``) or :math:`SE(n)` (``True``):
    elements ``(b, n+1, n+1)`` float64 homogeneous matrices :math:`[[Q, t], [0, 1]]`.

    ``sample`` draws Haar-random :math:`Q` and Gaussian translations :math:`t \sim
    N(0, \mathrm{scale}^2 I)` (there is no uniform distribution on :math:`\mathbb{R}^n`).
    :meth:`linear` and :meth:`translation` split elements; :meth:`from_parts` joins them;
    :attr:`linear_group` is :math:`O(n)` or :math:`SO(n)`, the group of the feature reps.
    """

    def __init__(self, n: int, special: bool = False, scale: float = 1.0):
        n = int(n)
        if n < 1:
            raise ValueError(f"Euclidean(n) needs n >= 1, got {n}")
        rot = so_generators(n) if n > 1 else torch.zeros(0, n, n, dtype=torch.float64)
        lie = torch.zeros(len(rot) + n, n + 1, n + 1, dtype=torch.float64)
        lie[: len(rot), :n, :n] = rot
        for i in range(n):
            lie[len(rot) + i, i, n] = 1.0
        disc = None
        if not special:
            disc = torch.eye(n + 1, dtype=torch.float64)
            if n % 2:
                disc[:n, :n] = -torch.eye(n, dtype=torch.float64)
            else:
                disc[0, 0] = -1.0
        super().__init__(lie, disc, dim=n + 1, scale=scale)
        self.n, self.special = n, bool(special)
        named = {2: (O2, SO2), 3: (O3, SO3)}
        self.linear_group = named[n][special]() if n in named else (SO(n) if special else O(n))

    def _key(self):
        return (self.n, self.special, self.scale)

    def __repr__(self):
        return f"{'SpecialEuclidean' if self.special else 'Euclidean'}({self.n})"

    def inverse(self, a):
        q, t = self.linear(a), self.translation(a)
        qt = q.transpose(-1, -2)
        return self.from_parts(qt, -(qt @ t[..., None])[..., 0])

    def sample(self, n, generator=None, device=None):
        q = haar_orthogonal(n, self.n, generator, special=self.special)
        t = torch.randn(n, self.n, generator=generator, dtype=torch.float64) * self.scale
        g = self.from_parts(q, t)
        return g.to(device) if device is not None else g

    def check(self, g):
        super().check(g)
        bottom = g[:, self.n, :]
        expected = torch.zeros_like(bottom)
        expected[:, self.n] = 1.0
        if g.numel() and (bottom - expected).abs().max() > 1e-9:
            raise ValueError(f"{self!r} elements are homogeneous matrices [[Q, t], [0, 1]]: the last row must be "
                             f"(0, ..., 0, 1), got {bottom[0].tolist()}")

    @staticmethod
    def linear(g: torch.Tensor) -> torch.Tensor:
        """The orthogonal parts :math:`Q` ``(b, n, n)``."""
        return g[:, :-1, :-1]

    @staticmethod
    def translation(g: torch.Tensor) -> torch.Tensor:
        """The translations :math:`t` ``(b, n)``."""
        return g[:, :-1, -1]

    @staticmethod
    def from_parts(q: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Homogeneous matrices from ``q`` ``(b, n, n)`` and ``t`` ``(b, n)``."""
        b, n = t.shape
        g = torch.zeros(b, n + 1, n + 1, dtype=q.dtype, device=q.device)
        g[:, :n, :n] = q
        g[:, :n, n] = t
        g[:, n, n] = 1.0
        return g


class PointCloudAction(Action):
    r"""How :math:`O(n)`, :math:`SO(n)` or :math:`E(n)` moves a point cloud and its features.

    ``layout`` describes the input: one entry, or a tuple / list / dict of entries matching
    the input's structure. Entries:

    - ``"position"``: :math:`x \mapsto Q x + t` on the last axis (``n`` coordinates);
    - ``"vector"``: :math:`v \mapsto Q v` (velocities, forces); ``"pseudovector"``:
      :math:`v \mapsto \det(Q)\, Q v`;
    - a :class:`~symmetries.reps.Rep` of :math:`O(n)` / :math:`SO(n)`: :math:`f \mapsto
      \rho(Q) f` on the last axis;
    - ``"scalar"`` or ``None``: unchanged (charges, edge_index, invariant features);
    - ``"batch"``: a PyG batch vector ``[N]`` (unchanged); with it, a batch of ``B``
      elements acts per graph: node ``k`` is moved by element ``batch[k]``.

    Dense clouds ``[B, M, n]``: one element acts on everything, or ``B`` elements act one
    per sample. Flat clouds ``[N, n]`` with a ``"batch"`` entry: one element, or one per graph.
    """

    def __init__(self, group, layout="position"):
        if isinstance(group, Euclidean):
            self.n, self.linear_group = group.n, group.linear_group
        elif isinstance(group, MatrixGroup) and group.compact:
            self.n, self.linear_group = group.d, group
        else:
            raise TypeError(f"PointCloudAction needs Euclidean(n), O(n) or SO(n), got {group!r}")
        self.group, self.layout = group, layout
        for entry in _entries(layout):
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
        batch = _find_batch(self.layout, x)
        q, t = self._parts(g)
        return _map(self.layout, x, lambda entry, v: self._act_one(entry, v, q, t, batch))

    def batch_size(self, x) -> int:
        batch = _find_batch(self.layout, x)
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


def _entries(layout):
    if isinstance(layout, dict):
        return list(layout.values())
    if isinstance(layout, (tuple, list)):
        return list(layout)
    return [layout]


def _map(layout, x, fn):
    """Apply ``fn(entry, value)`` along the structure of ``layout`` and ``x``."""
    if isinstance(layout, dict):
        if not isinstance(x, dict) or set(x) != set(layout):
            raise ValueError(f"input must be a dict with keys {sorted(layout)}, got "
                             f"{sorted(x) if isinstance(x, dict) else type(x).__name__}")
        return {k: fn(layout[k], v) for k, v in x.items()}
    if isinstance(layout, (tuple, list)):
        if not isinstance(x, (tuple, list)) or len(x) != len(layout):
            raise ValueError(f"input must be a tuple of {len(layout)} entries ({layout}), got "
                             f"{len(x) if isinstance(x, (tuple, list)) else type(x).__name__}")
        return type(x)(fn(e, v) for e, v in zip(layout, x))
    return fn(layout, x)


def _find_batch(layout, x):
    if isinstance(layout, dict) and isinstance(x, dict):
        pairs = [(layout[k], x.get(k)) for k in layout]
    elif isinstance(layout, (tuple, list)) and isinstance(x, (tuple, list)):
        pairs = list(zip(layout, x))
    else:
        pairs = [(layout, x)]
    for entry, value in pairs:
        if isinstance(entry, str) and entry == "batch":
            if not torch.is_tensor(value) or value.dtype != torch.long or value.dim() != 1:
                raise ValueError(f"the 'batch' entry must be a 1-D long tensor [N], got "
                                 f"{tuple(value.shape) if torch.is_tensor(value) else type(value).__name__}")
            return value
    return None
