r"""A path of a tensor product: which blocks it couples and how, in e3nn 0.6's form.

A path ``(i_in1, i_in2, i_out, mode)`` couples block ``i_in1`` of the first input with block
``i_in2`` of the second into block ``i_out`` of the output, through the 3j symbol
:math:`C^{l_1 l_2 l_{out}}`; it exists only where the selection rules hold,
:math:`|l_1 - l_2| \le l_{out} \le l_1 + l_2` and :math:`p_1 p_2 = p_{out}`.
"""

from __future__ import annotations

from typing import NamedTuple

MODES = ("uvw", "uvu")


class Instruction(NamedTuple):
    """One path, with the fields (and field order) of e3nn 0.6's ``Instruction``.

    Attributes:
        i_in1, i_in2, i_out: the blocks it reads and writes (indices into the irreps).
        connection_mode: ``'uvw'`` (every channel pair into every output channel) or ``'uvu'``
            (channel ``u`` of the first input into channel ``u`` of the output).
        has_weight: whether the path is weighted (always ``True`` here: unweighted paths are refused).
        path_weight: a constant factor of the path (inside the square root of its normalization).
        path_shape: the shape of its weights, ``(mul1, mul2, mul_out)`` or ``(mul1, mul2)``.
    """

    i_in1: int
    i_in2: int
    i_out: int
    connection_mode: str
    has_weight: bool
    path_weight: float
    path_shape: tuple

    @property
    def num_elements(self) -> int:
        """The channels feeding one output channel: ``mul1 * mul2`` (``'uvw'``) or ``mul2`` (``'uvu'``)."""
        return self.path_shape[0] * self.path_shape[1] if self.connection_mode == "uvw" else self.path_shape[1]


def parse_instruction(ins, irreps_in1, irreps_in2, irreps_out) -> Instruction:
    """The :class:`Instruction` of ``(i_in1, i_in2, i_out, mode[, has_weight[, path_weight]])``,
    or a ``ValueError`` naming what breaks: an index out of range, the selection rules, the
    mode, an unweighted path, or a ``'uvu'`` path whose output multiplicity is not ``mul1``."""
    ins = tuple(ins)
    if not 4 <= len(ins) <= 6:
        raise ValueError(f"an instruction is (i_in1, i_in2, i_out, mode[, has_weight[, path_weight]]), got {ins!r}")
    i1, i2, io, mode = ins[:4]
    has_weight = ins[4] if len(ins) > 4 else True
    path_weight = float(ins[5]) if len(ins) > 5 else 1.0
    for name, i, irreps in (("i_in1", i1, irreps_in1), ("i_in2", i2, irreps_in2), ("i_out", io, irreps_out)):
        if not isinstance(i, int) or not 0 <= i < len(irreps):
            raise ValueError(f"instruction {ins!r}: {name}={i!r} is not an index of irreps {irreps} "
                             f"(0..{len(irreps) - 1})")
    (mul1, ir1), (mul2, ir2), (mulo, iro) = irreps_in1[i1], irreps_in2[i2], irreps_out[io]
    if iro not in list(ir1 * ir2):
        raise ValueError(f"instruction {ins!r}: path {ir1} x {ir2} -> {iro} breaks the selection rules "
                         f"|l1-l2| <= l <= l1+l2 and p = p1*p2 (allowed: {', '.join(map(str, ir1 * ir2))})")
    if mode not in MODES:
        raise ValueError(f"instruction {ins!r}: connection mode must be one of {MODES}, got {mode!r}")
    if not has_weight:
        raise ValueError(f"instruction {ins!r}: only weighted paths are supported (has_weight=True)")
    if mode == "uvu" and mulo != mul1:
        raise ValueError(f"instruction {ins!r}: mode 'uvu' needs mul_out == mul1, got {mulo} and {mul1}")
    shape = (mul1, mul2, mulo) if mode == "uvw" else (mul1, mul2)
    return Instruction(i1, i2, io, mode, True, path_weight, shape)
