r"""Lattice gauge fields: local gauge transformations and lattice translations acting on links
``(B, D, L_0, ..., L_{D-1}, N, N)`` and site fields ``(B, C, L_0, ..., L_{D-1}, N, N)``."""

from __future__ import annotations

import torch

from symmetries.actions._action import Action
from symmetries.actions._layout import layout_entries, map_layout
from symmetries.groups import Cyclic, DirectProduct, LatticeGauge

_KINDS = ("links", "site", "scalar")


def _check_layout(layout, name):
    for entry in layout_entries(layout):
        if entry is not None and entry not in _KINDS:
            raise ValueError(f"unknown {name} layout entry {entry!r}; use one of {_KINDS} or None")


class GaugeAction(Action):
    r"""Local gauge transformations :math:`\Omega` moving lattice gauge fields,

    .. math::
        U_\mu(x) \mapsto \Omega(x)\, U_\mu(x)\, \Omega(x + \hat\mu)^\dagger, \qquad
        W(x) \mapsto \Omega(x)\, W(x)\, \Omega(x)^\dagger,

    with :math:`\Omega(x + \hat\mu)` = ``torch.roll(Omega, -1, dims=1 + mu)`` (periodic). One
    element acts on the whole batch, or ``B`` elements one per sample; elements are cast to
    the data's complex dtype. Gauge-invariant outputs (traces of loops) go with
    :func:`~symmetries.actions.invariant`.

    Args:
        gauge: the :class:`~symmetries.groups.LatticeGauge` (gauge group and lattice shape).
        layout: describes the input, like :class:`PointCloudAction`: one entry, or a tuple /
            list / dict of entries (default: ``"links"``). Entries:

            - ``"links"``: links ``(B, D, L..., N, N)``;
            - ``"site"``: site fields ``(B, C, L..., N, N)`` (plaquettes, L-CNN features);
            - ``"scalar"`` or ``None``: unchanged.

    Shapes:
        - **g:** ``(1 or B, L_0, ..., L_{D-1}, N, N)``
        - **x:** per entry as above
        - **output:** the shapes of ``x``
    """

    def __init__(self, gauge: LatticeGauge, layout="links"):
        if not isinstance(gauge, LatticeGauge):
            raise TypeError(f"GaugeAction needs a LatticeGauge(group, shape), got {gauge!r}")
        _check_layout(layout, "GaugeAction")
        self.group, self.layout = gauge, layout

    def __repr__(self):
        return f"GaugeAction({self.group!r}, {self.layout!r})"

    def act(self, g, x):
        self.group.check(g)
        return map_layout(self.layout, x, lambda entry, v: self._act_one(entry, v, g))

    def _act_one(self, entry, x, g):
        if entry in (None, "scalar"):
            return x
        G, D = self.group, self.group.D
        want = (f"(B, {D}, {', '.join(map(str, G.shape))}, {G.N}, {G.N})" if entry == "links" else
                f"(B, C, {', '.join(map(str, G.shape))}, {G.N}, {G.N})")
        if not torch.is_tensor(x) or not x.is_complex():
            raise ValueError(f"{entry} entries must be complex tensors {want}, got "
                             f"{f'{tuple(x.shape)} {x.dtype}' if torch.is_tensor(x) else type(x).__name__}")
        if x.dim() != D + 4 or tuple(x.shape[2:]) != (*G.shape, G.N, G.N) or (entry == "links" and x.shape[1] != D):
            raise ValueError(f"{entry} entries for {G!r} must have shape {want}, got {tuple(x.shape)}")
        b = g.shape[0]
        if b != 1 and b != x.shape[0]:
            raise ValueError(f"{b} gauge transformations act one per sample on tensors [B={b}, ...], got shape "
                             f"{tuple(x.shape)}")
        om = g.to(dtype=x.dtype, device=x.device)
        if entry == "site":
            return om[:, None] @ x @ om[:, None].mH
        ahead = torch.stack([torch.roll(om, shifts=-1, dims=1 + mu) for mu in range(D)], 1)
        return om[:, None] @ x @ ahead.mH


def translation_group(shape) -> DirectProduct | Cyclic:
    r"""The lattice translations :math:`\mathbb{Z}_{L_0} \times \dots \times \mathbb{Z}_{L_{D-1}}`
    as nested :class:`~symmetries.groups.DirectProduct` of :class:`~symmetries.groups.Cyclic`
    groups, ``((C_{L_0}, C_{L_1}), C_{L_2}) ...`` (one ``Cyclic`` for ``D = 1``).

    Args:
        shape: the lattice extents.

    Returns:
        the group; an element is nested pairs of ``(n,)`` long shifts.
    """
    shape = tuple(int(s) for s in shape)
    group = Cyclic(shape[0])
    for L in shape[1:]:
        group = DirectProduct(group, Cyclic(L))
    return group


def _shifts(g, D):
    out = []
    for _ in range(D - 1):
        g, last = g
        out.append(last)
    return [g] + out[::-1]


class LatticeTranslation(Action):
    r"""Periodic lattice translations by :math:`t = (t_0, \dots, t_{D-1})`,

    .. math::
        U_\mu(x) \mapsto U_\mu(x - t), \qquad W(x) \mapsto W(x - t),

    by ``torch.roll`` on the lattice axes of links and site fields (the direction index and
    channels are untouched).

    Args:
        shape: the lattice extents :math:`(L_0, \dots, L_{D-1})`.
        layout: as :class:`GaugeAction` (``"links"``, ``"site"``, ``"scalar"`` / ``None``;
            default: ``"links"``); ``"site"`` covers any tensor ``(B, C, L..., ...)`` whose
            lattice axes start at dimension 2, so traced loops ``(B, P, L...)`` translate too.

    Shapes:
        - **g:** nested pairs of ``(1 or B,)`` long shifts (:func:`translation_group`)
        - **x:** per entry ``(B, D or C, L_0, ..., L_{D-1}, ...)``
        - **output:** the shapes of ``x``
    """

    def __init__(self, shape, layout="links"):
        self.shape = tuple(int(s) for s in shape)
        _check_layout(layout, "LatticeTranslation")
        self.group, self.layout, self.D = translation_group(self.shape), layout, len(self.shape)

    def __repr__(self):
        return f"LatticeTranslation({self.shape}, {self.layout!r})"

    def act(self, g, x):
        self.group.check(g)
        t = torch.stack([s.cpu() for s in _shifts(g, self.D)], 1)  # (b, D)
        return map_layout(self.layout, x, lambda entry, v: self._act_one(entry, v, t))

    def _act_one(self, entry, x, t):
        if entry in (None, "scalar"):
            return x
        if not torch.is_tensor(x) or x.dim() < 2 + self.D or tuple(x.shape[2:2 + self.D]) != self.shape:
            raise ValueError(f"{entry} entries must have lattice axes {self.shape} at dimensions 2..{1 + self.D}, "
                             f"got {tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")
        dims = tuple(range(2, 2 + self.D))
        if t.shape[0] == 1:
            return torch.roll(x, shifts=tuple(int(s) for s in t[0]), dims=dims)
        if t.shape[0] != x.shape[0]:
            raise ValueError(f"{t.shape[0]} translations act one per sample on tensors [B={t.shape[0]}, ...], "
                             f"got shape {tuple(x.shape)}")
        return torch.stack([torch.roll(x[i], shifts=tuple(int(s) for s in t[i]), dims=tuple(d - 1 for d in dims))
                            for i in range(x.shape[0])])
