r"""Field types: what a feature map's channels are, as reps of a planar point group.

A feature map ``(B, C, H, W)`` is a stack of fields; field ``i`` occupies ``reps[i].dim``
consecutive channels and transforms by the rep ``reps[i]`` of the point group
(:class:`~symmetries.groups.Cyclic`, :class:`~symmetries.groups.Dihedral`,
:class:`~symmetries.groups.SO2`, :class:`~symmetries.groups.O2`):

.. math::  (g \cdot f)(x) = \rho(g)\, f(g^{-1} x), \qquad \rho = \bigoplus_i \rho_i.

The reps are ordinary :mod:`symmetries.reps` objects: ``trivial(G)``, ``irrep(G, ...)``,
``regular(G)`` (finite groups), and :func:`quotient` permutation reps.
"""

from __future__ import annotations

import torch

from symmetries.actions import ImageAction
from symmetries.actions import is_planar_group
from symmetries.groups import Cyclic, Dihedral, Group
from symmetries.reps import PermutationRep, Rep, SumRep, regular, trivial


class FieldType:
    r"""A stack of fields over a planar point group: field ``i`` occupies ``reps[i].dim``
    consecutive channels and transforms by ``reps[i]``,

    .. math::
        (g \cdot f)(x) = \rho(g)\, f(g^{-1} x), \qquad \rho = \bigoplus_i \rho_i.

    Build with ``FieldType(G, [rep, rep, ...])`` or the shortcuts :meth:`trivial`,
    :meth:`regular`, :meth:`irreps`, and concatenate with ``+``. ``size`` is the channel count.

    Args:
        group: ``Cyclic``, ``Dihedral``, ``SO2`` or ``O2``.
        reps: one rep or a non-empty list of reps of ``group``, one per field; not direct
            sums (pass their summands as separate fields).

    Shapes:
        - **feature maps:** ``(B, size, H, W)``
    """

    def __init__(self, group: Group, reps):
        if not is_planar_group(group):
            raise TypeError(f"field types live on planar point groups (Cyclic, Dihedral, SO2, O2), got {group!r}")
        reps = [reps] if isinstance(reps, Rep) else list(reps)
        if not reps:
            raise ValueError("a field type needs at least one field")
        for i, r in enumerate(reps):
            if not isinstance(r, Rep):
                raise TypeError(f"field {i} must be a Rep, got {type(r).__name__}")
            if r.group != group:
                raise ValueError(f"field {i} ({r!r}) is a rep of {r.group!r}, expected a rep of {group!r}")
            if isinstance(r, SumRep):
                raise ValueError(f"field {i} is a direct sum {r!r}: pass its summands as separate fields")
        self.group, self.reps = group, tuple(reps)
        self.size = sum(r.dim for r in reps)

    # ------------------------------------------------------------ constructors
    @classmethod
    def trivial(cls, group: Group, n: int) -> "FieldType":
        """``n`` scalar fields."""
        return cls(group, [trivial(group)] * _count(n))

    @classmethod
    def regular(cls, group: Group, n: int) -> "FieldType":
        """``n`` regular fields (finite groups): ``|G|`` channels each, permuted by ``g``."""
        return cls(group, [regular(group)] * _count(n))

    @classmethod
    def irreps(cls, group: Group, reps, n: int = 1) -> "FieldType":
        """``n`` copies of the list ``reps`` (irreps or any non-sum reps), in that order."""
        reps = list(reps)
        return cls(group, reps * _count(n))

    # ------------------------------------------------------------ structure
    @property
    def rep(self) -> Rep:
        """The direct sum of all fields, how the ``size`` channels transform."""
        return self.reps[0] if len(self.reps) == 1 else SumRep(list(self.reps))

    def __len__(self):
        return len(self.reps)

    def __add__(self, other: "FieldType") -> "FieldType":
        if not isinstance(other, FieldType):
            raise TypeError(f"can only add a FieldType to a FieldType, got {type(other).__name__}")
        if other.group != self.group:
            raise ValueError(f"cannot concatenate field types of {self.group!r} and {other.group!r}")
        return FieldType(self.group, self.reps + other.reps)

    def __eq__(self, other):
        return isinstance(other, FieldType) and self.group == other.group and self.reps == other.reps

    def __reduce__(self):
        # regular and quotient reps hold local functions: pickle how to rebuild them instead
        return (_rebuild, (self.group, tuple(_spec(r) for r in self.reps)))

    def __hash__(self):
        return hash((self.group, self.reps))

    def __repr__(self):
        runs = []
        for r in self.reps:
            if runs and runs[-1][0] == r:
                runs[-1][1] += 1
            else:
                runs.append([r, 1])
        body = " + ".join(f"{m}x{_name(r)}" for r, m in runs)
        return f"FieldType({self.group!r}: {body}; {self.size} channels)"

    def field_of_channel(self) -> torch.Tensor:
        """``(size,)`` long: the field index of every channel."""
        return torch.repeat_interleave(torch.arange(len(self.reps)), torch.tensor([r.dim for r in self.reps]))

    def offsets(self) -> list[int]:
        """First channel of every field."""
        out, c = [], 0
        for r in self.reps:
            out.append(c)
            c += r.dim
        return out

    def action(self, mode: str = "bilinear", disk: bool = False) -> ImageAction:
        """How the group moves feature maps of this type (for checks and augmentation)."""
        return ImageAction(self.group, self.rep, mode=mode, disk=disk)

    def check(self, x: torch.Tensor, what: str = "input") -> None:
        """Raise a clear error unless ``x`` is a ``(B, size, H, W)`` floating tensor."""
        if not torch.is_tensor(x):
            raise TypeError(f"{what} must be a tensor (B, {self.size}, H, W), got {type(x).__name__}")
        if x.dim() != 4 or x.shape[1] != self.size:
            raise ValueError(f"{what} must have shape (B, {self.size}, H, W) for {self!r}, got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"{what} must be a floating tensor, got {x.dtype}")


def _spec(r: Rep):
    if isinstance(r, PermutationRep) and r.name == "regular":
        return ("regular",)
    if isinstance(r, PermutationRep) and getattr(r, "subgroup", None) is not None:
        return ("quotient", r.subgroup)
    return r


def _rebuild(group, specs) -> "FieldType":
    reps = []
    for s in specs:
        if isinstance(s, tuple) and s[0] == "regular":
            reps.append(regular(group))
        elif isinstance(s, tuple) and s[0] == "quotient":
            reps.append(quotient(group, s[1]))
        else:
            reps.append(s)
    return FieldType(group, reps)


def _count(n):
    if int(n) < 1:
        raise ValueError(f"the number of fields must be >= 1, got {n}")
    return int(n)


def _name(r: Rep) -> str:
    if isinstance(r, PermutationRep):
        return r.name
    return repr(r).replace(f"{r.group!r}, ", "").replace(f"({r.group!r})", "")


def quotient(group: Group, subgroup: Group) -> Rep:
    r"""The quotient (permutation) rep of ``group`` on the cosets :math:`G/H`,
    :math:`\rho(g)\, e_{aH} = e_{gaH}`.

    ``group = Cyclic(N)``, ``subgroup = Cyclic(M)`` (rotations by multiples of
    :math:`2\pi/M`, ``M`` divides ``N``): ``N/M`` channels, cyclically shifted.
    ``group = Dihedral(N)``: ``subgroup = Cyclic(M)`` gives ``2N/M`` channels (cosets
    :math:`r^k f^t C_M`), ``subgroup = Dihedral(M)`` (with the flip) gives ``N/M``.
    ``D_N / C_N`` is the 2-channel "sign of the reflection" field.

    Args:
        group: ``Cyclic(N)`` or ``Dihedral(N)``.
        subgroup: ``Cyclic(M)`` or (for a dihedral group) ``Dihedral(M)``, ``M`` dividing
            ``N``; other pairs raise ``ValueError``.

    Returns:
        A :class:`~symmetries.reps.PermutationRep` named ``"quotient/<subgroup>"``.
    """
    N = getattr(group, "n", None)
    M = getattr(subgroup, "n", None)
    ok = isinstance(group, (Cyclic, Dihedral)) and isinstance(subgroup, (Cyclic, Dihedral))
    ok = ok and not (isinstance(group, Cyclic) and isinstance(subgroup, Dihedral)) and N % M == 0
    if not ok:
        raise ValueError(f"no quotient rep for {group!r} / {subgroup!r}: need C_N/C_M, D_N/C_M or D_N/D_M "
                         "with M dividing N")
    q = N // M
    flips = isinstance(group, Dihedral) and isinstance(subgroup, Cyclic)
    dim = 2 * q if flips else q

    def permute(g):
        if isinstance(group, Cyclic):
            a, s = g, torch.zeros_like(g)
        else:
            a, s = g[:, 0], g[:, 1]
        k = torch.arange(q, device=g.device)[None]
        sign = (1 - 2 * s)[:, None]
        new_k = (a[:, None] + sign * k) % q  # g r^k C = r^(a + (-1)^s k) f^s C
        if not flips:
            return new_k
        new_t = torch.stack([s, 1 - s], 1)  # coset r^k f^t -> r^(...) f^(s xor t)
        return (new_k.repeat(1, 2) + q * new_t.repeat_interleave(q, 1)).long()

    rep = PermutationRep(group, dim, permute, f"quotient/{subgroup!r}")
    rep.subgroup = subgroup
    return rep
