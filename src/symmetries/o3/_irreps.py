r"""Irreducible representations of O(3) and their direct sums, written as in e3nn 0.6.

An irrep ``"lp"`` has degree ``l >= 0`` and parity ``p`` (``e`` = +1, ``o`` = -1); it has
dimension :math:`2l + 1` and acts by :math:`\rho(R) = p^{(1 - \det R)/2} D^l(R \det R)`.
A direct sum ``"16x0e + 8x1o"`` lays its coordinates out multiplicity-major: 16 scalars,
then 8 vectors of 3 components each.
"""

from __future__ import annotations

import re
from typing import Iterator, NamedTuple

import torch

_IRREP = re.compile(r"^(\d+)([eoy])$")
_MUL_IRREP = re.compile(r"^(?:(\d+)\s*x\s*)?(\d+[eoy])$")


class Irrep(tuple):
    r"""An O(3) irrep ``(l, p)``: ``Irrep("1o")``, ``Irrep(1, -1)`` or ``Irrep((1, -1))``,
    of dimension :math:`2l + 1`, acting by

    .. math::
        \rho(R) = p^{(1 - \det R)/2} D^l(R \det R).

    ``"1y"`` means :math:`(1, (-1)^1)`, the parity of the spherical harmonic of degree l.

    Args:
        l: the degree, an int >= 0; or a string ``"<l><p>"`` (``p`` one of ``e``, ``o``,
            ``y``), a pair ``(l, p)``, or an ``Irrep`` (returned as it is).
        p: the parity, +1 or -1, when ``l`` is an int.
    """

    def __new__(cls, l, p=None):
        if isinstance(l, Irrep):
            return l
        if isinstance(l, str):
            if p is not None:
                raise ValueError(f"Irrep({l!r}, {p!r}): give a string like '1o' or a pair (l, p), not both")
            m = _IRREP.match(l.strip())
            if m is None:
                raise ValueError(f"cannot parse irrep {l!r}: expected '<l><p>' like '0e', '1o' or '2y'")
            l, code = int(m.group(1)), m.group(2)
            p = {"e": 1, "o": -1, "y": (-1) ** l}[code]
        elif p is None and isinstance(l, tuple):
            if len(l) != 2:
                raise ValueError(f"an irrep is a pair (l, p), got {l!r}")
            l, p = l
        if not isinstance(l, int) or isinstance(l, bool) or l < 0:
            raise ValueError(f"irrep degree l must be an int >= 0, got {l!r}")
        if p not in (1, -1):
            raise ValueError(f"irrep parity p must be +1 or -1, got {p!r}")
        return super().__new__(cls, (l, int(p)))

    @property
    def l(self) -> int:  # noqa: E743
        """The degree."""
        return self[0]

    @property
    def p(self) -> int:
        """The parity, +1 (even) or -1 (odd)."""
        return self[1]

    @property
    def dim(self) -> int:
        """The dimension, :math:`2l + 1`."""
        return 2 * self[0] + 1

    def is_scalar(self) -> bool:
        return self == (0, 1)

    def __repr__(self):
        return f"{self.l}{'e' if self.p == 1 else 'o'}"

    __str__ = __repr__

    def __mul__(self, other) -> Iterator["Irrep"]:
        """The irreps in the tensor product: :math:`|l_1 - l_2| \\le l \\le l_1 + l_2`, :math:`p = p_1 p_2`."""
        if isinstance(other, int):
            return NotImplemented
        other = Irrep(other)
        p = self.p * other.p
        return (Irrep(l, p) for l in range(abs(self.l - other.l), self.l + other.l + 1))

    def __rmul__(self, mul):
        if not isinstance(mul, int):
            return NotImplemented
        return Irreps([(mul, self)])

    def __add__(self, other):
        return Irreps(self) + Irreps(other)

    def __radd__(self, other):
        return Irreps(other) + Irreps(self)

    def D_from_matrix(self, R: torch.Tensor) -> torch.Tensor:
        """:math:`\\rho(R)` for orthogonal matrices ``(..., 3, 3)``, shape ``(..., 2l+1, 2l+1)``."""
        from symmetries.o3._wigner import irrep_D_from_matrix

        return irrep_D_from_matrix(self.l, self.p, R)


class MulIrrep(NamedTuple):
    """``mul`` copies of the irrep ``ir``, of dimension ``mul * ir.dim``; unpacks as
    ``mul, (l, p)``.

    Args:
        mul: the multiplicity.
        ir: the irrep.
    """

    mul: int
    ir: Irrep

    @property
    def dim(self) -> int:
        return self.mul * self.ir.dim

    def __repr__(self):
        return f"{self.mul}x{self.ir}"


class Irreps(tuple):
    r"""A direct sum of O(3) irreps with multiplicities, e.g. ``Irreps("16x0e + 8x1o + 4x2e")``.

    Iterating gives ``(mul, (l, p))`` pairs. ``+`` concatenates, ``k * irreps`` repeats the
    list, ``irreps.rep`` is the :class:`symmetries.reps.Rep` of :class:`symmetries.groups.O3`.
    Coordinates are laid out multiplicity-major, block after block:

    .. math::
        \rho(R) = \bigoplus_i m_i\, \rho_{l_i p_i}(R).

    Args:
        irreps: a string ``"<mul>x<l><p> + ..."`` (``mul`` defaults to 1), an ``Irrep``,
            another ``Irreps``, or a list of ``(mul, ir)`` / ``ir`` / string items
            (default: ``None``, the empty sum).
    """

    def __new__(cls, irreps=None):
        if isinstance(irreps, Irreps):
            return super().__new__(cls, irreps)
        items = []
        if irreps is None:
            pass
        elif isinstance(irreps, Irrep):
            items.append(MulIrrep(1, irreps))
        elif isinstance(irreps, str):
            text = irreps.strip()
            if text:
                for term in text.split("+"):
                    m = _MUL_IRREP.match(term.strip())
                    if m is None:
                        raise ValueError(
                            f"cannot parse irreps {irreps!r}: term {term.strip()!r} is not '<mul>x<l><p>' "
                            "(expected something like '16x0e + 8x1o')")
                    items.append(MulIrrep(int(m.group(1) or 1), Irrep(m.group(2))))
        else:
            for item in irreps:
                if isinstance(item, str):
                    items.extend(Irreps(item))
                    continue
                if isinstance(item, Irrep):
                    items.append(MulIrrep(1, item))
                    continue
                if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], int) and not isinstance(item, Irrep):
                    mul, ir = item
                    try:
                        ir = Irrep(ir)
                    except (ValueError, TypeError):
                        ir = None
                    if ir is not None:
                        if mul < 0:
                            raise ValueError(f"multiplicity must be >= 0, got {mul} in {irreps!r}")
                        items.append(MulIrrep(mul, ir))
                        continue
                    items.append(MulIrrep(1, Irrep(item)))
                    continue
                raise ValueError(f"cannot read {item!r} as (mul, irrep) in {irreps!r}")
        return super().__new__(cls, items)

    # ----------------------------------------------------------------- sizes
    @property
    def dim(self) -> int:
        """The total dimension, :math:`\\sum_i m_i (2 l_i + 1)`."""
        return sum(mi.dim for mi in self)

    @property
    def num_irreps(self) -> int:
        """The number of irreps counted with multiplicity, :math:`\\sum_i m_i`."""
        return sum(mi.mul for mi in self)

    @property
    def ls(self) -> list[int]:
        """The degree of every copy, in order."""
        return [ir.l for mul, ir in self for _ in range(mul)]

    @property
    def lmax(self) -> int:
        """The largest degree (``ValueError`` for the empty sum)."""
        if not self:
            raise ValueError("lmax of empty Irreps")
        return max(ir.l for _, ir in self)

    def slices(self) -> list[slice]:
        """The slice of each ``mul x ir`` block in a flat tensor ``(..., dim)``."""
        out, i = [], 0
        for mi in self:
            out.append(slice(i, i + mi.dim))
            i += mi.dim
        return out

    def count(self, ir) -> int:
        """Total multiplicity of ``ir``."""
        ir = Irrep(ir)
        return sum(mul for mul, x in self if x == ir)

    def __contains__(self, ir) -> bool:
        try:
            ir = Irrep(ir)
        except (ValueError, TypeError):
            return super().__contains__(ir)
        return any(x == ir for _, x in self)

    # ----------------------------------------------------------------- rewriting
    def simplify(self) -> "Irreps":
        """Merge consecutive equal irreps and drop zero multiplicities (order kept)."""
        out = []
        for mul, ir in self:
            if mul == 0:
                continue
            if out and out[-1][1] == ir:
                out[-1] = (out[-1][0] + mul, ir)
            else:
                out.append((mul, ir))
        return Irreps(out)

    def remove_zero_multiplicities(self) -> "Irreps":
        return Irreps([(mul, ir) for mul, ir in self if mul > 0])

    def sort(self) -> "SortedIrreps":
        """Sort by ``(l, p)`` with odd before even as in e3nn (``0o < 0e < 1o < 1e``).

        Returns ``(irreps, p, inv)``: ``sorted[i] = self[inv[i]]`` and ``self[j] = sorted[p[j]]``.
        """
        inv = tuple(sorted(range(len(self)), key=lambda i: (self[i].ir.l, self[i].ir.p, i)))
        p = [0] * len(inv)
        for i, j in enumerate(inv):
            p[j] = i
        return SortedIrreps(Irreps([self[i] for i in inv]), tuple(p), inv)

    # ----------------------------------------------------------------- algebra
    def __add__(self, other) -> "Irreps":
        return Irreps(tuple(self) + tuple(Irreps(other)))

    def __radd__(self, other) -> "Irreps":
        return Irreps(other) + self

    def __mul__(self, k) -> "Irreps":
        if not isinstance(k, int) or isinstance(k, bool):
            raise TypeError(f"Irreps can be multiplied by an int (repetition), got {type(k).__name__}; "
                            "use symmetries.nn.FullyConnectedTensorProduct for tensor products")
        return Irreps(tuple(self) * k)

    __rmul__ = __mul__

    def __getitem__(self, i):
        out = super().__getitem__(i)
        return Irreps(out) if isinstance(i, slice) else out

    def __eq__(self, other):
        try:
            other = Irreps(other)
        except (ValueError, TypeError):
            return False
        return tuple.__eq__(self, other)

    def __ne__(self, other):
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self):
        return "+".join(map(repr, self))

    __str__ = __repr__

    # ----------------------------------------------------------------- tensors
    def randn(self, *size, normalization: str = "component", generator=None, dtype=None, device=None) -> torch.Tensor:
        """Random tensor of shape ``(*size, dim)``; ``size`` may contain one ``-1`` for the irrep axis.

        ``component``: every coordinate ~ N(0, 1); ``norm``: each irrep has E|x|^2 = 1.
        """
        size = tuple(size)
        if size.count(-1) > 1:
            raise ValueError(f"at most one -1 (the irrep axis) in size, got {size}")
        if -1 not in size:
            size = size + (-1,)
        axis = size.index(-1)
        shape = size[:axis] + (self.dim,) + size[axis + 1:]
        x = torch.randn(shape, generator=generator, dtype=dtype, device=device)
        if normalization == "component":
            return x
        if normalization == "norm":
            scale = torch.cat([torch.full((mi.dim,), mi.ir.dim ** -0.5, dtype=x.dtype) for mi in self]).to(x.device)
            return x * scale.view((-1,) + (1,) * (len(shape) - axis - 1))
        raise ValueError(f"normalization must be 'component' or 'norm', got {normalization!r}")

    # ----------------------------------------------------------------- the representation
    @property
    def rep(self):
        """The O(3) representation (a ``SumRep`` of ``irrep(O3(), l, p)`` in order)."""
        from symmetries.o3._rep import irreps_rep

        return irreps_rep(self)

    def as_rep(self):
        return self.rep

    def D_from_matrix(self, R: torch.Tensor) -> torch.Tensor:
        """Block-diagonal :math:`\\rho(R)`, ``(..., dim, dim)``, for orthogonal ``R`` ``(..., 3, 3)``."""
        from symmetries.o3._wigner import irrep_D_from_matrix

        blocks = {ir: irrep_D_from_matrix(ir.l, ir.p, R) for _, ir in self}
        out = R.new_zeros(R.shape[:-2] + (self.dim, self.dim))
        i = 0
        for mul, ir in self:
            for _ in range(mul):
                out[..., i:i + ir.dim, i:i + ir.dim] = blocks[ir]
                i += ir.dim
        return out

    @staticmethod
    def spherical_harmonics(lmax: int, p: int = -1) -> "Irreps":
        """``1x0e + 1x1o + ... + 1x(lmax)`` with parity :math:`p^l`."""
        return Irreps([(1, Irrep(l, p ** l)) for l in range(lmax + 1)])


class SortedIrreps(NamedTuple):
    irreps: Irreps
    p: tuple
    inv: tuple
