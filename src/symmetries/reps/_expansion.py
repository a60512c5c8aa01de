r"""Equivariant maps as coefficients times a block basis, and the invariant bias.

Every linear layer of the library writes its weight the same way: for each pair of
distinct summands of its input and output reps, a basis of the equivariant maps between
them (shared by all copies of the pair), one coefficient per basis element and copy, and
the blocks scattered to where the copies sit. :class:`BlockBasisExpansion` is that one
expansion; the layers only choose the basis (the solved blocks, steerable kernels, ...).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch
from torch import nn

from symmetries.groups import check_same_group
from symmetries.reps._basic import TrivialRep
from symmetries.reps._basis import block_basis
from symmetries.reps._rep import Rep


def summand_indices(rep: Rep) -> dict[Rep, torch.Tensor]:
    """Where the copies of each distinct summand of ``rep`` sit.

    Args:
        rep: the representation; its ``components()`` are the summands.

    Returns:
        ``{summand: indices}`` over the distinct summands in order of first appearance;
        row ``a`` of ``indices`` (long, ``(multiplicity, summand.dim)``) holds the coordinates
        of the ``a``-th copy in ``rep``.
    """
    slots: dict[Rep, list[torch.Tensor]] = {}
    offset = 0
    for r in rep.components():
        slots.setdefault(r, []).append(torch.arange(offset, offset + r.dim))
        offset += r.dim
    return {r: torch.stack(v) for r, v in slots.items()}


def fixed_vectors(rep: Rep) -> torch.Tensor:
    r"""Orthonormal basis ``(k, dim)`` (float64) of the vectors with :math:`\rho(g) v = v`."""
    return _dense(block_basis(TrivialRep(rep.group), rep))[:, :, 0]


def _dense(basis: torch.Tensor) -> torch.Tensor:
    return basis.to_dense() if basis.is_sparse else basis


class Block(NamedTuple):
    """One pair of distinct summands, the ``summand_out``-th of ``rep_out`` and the
    ``summand_in``-th of ``rep_in`` (counted in order of first appearance): ``mul_out x mul_in``
    copies of a ``num_basis``-element basis of ``dim_out x dim_in`` maps, whose coefficients are
    ``weight[start : start + numel]`` laid out ``(mul_out, mul_in, num_basis)``."""

    summand_out: int
    summand_in: int
    dim_out: int
    dim_in: int
    mul_out: int
    mul_in: int
    num_basis: int
    start: int

    @property
    def numel(self) -> int:
        return self.mul_out * self.mul_in * self.num_basis


class BlockBasisExpansion(nn.Module):
    r"""The equivariant maps ``rep_in -> rep_out`` as coefficients times a block basis, and
    the bias on the invariant directions of ``rep_out``:

    .. math::
        W = \sum_{s,t} \sum_{a,b,k} w^{st}_{abk}\; \iota^s_a\, B^{st}_k\, (\iota^t_b)^\top,
        \qquad b = \sum_s \sum_{a,k} c^s_{ak}\; \iota^s_a\, u^s_k,

    over the distinct summands :math:`s` of ``rep_out`` and :math:`t` of ``rep_in``, where
    :math:`\iota^s_a` places the :math:`a`-th copy of :math:`s`, :math:`B^{st}_k` are the
    basis maps :math:`t \to s` (:math:`\rho_s(g) B = B \rho_t(g)`, so
    :math:`\rho_{out}(g) W = W \rho_{in}(g)`) and :math:`u^s_k` the fixed vectors of
    :math:`s` (:math:`\rho_{out}(g) b = b`). A basis may carry trailing axes (the taps of a
    convolution filter, ...): they stay trailing axes of :math:`W`.

    Coefficients are flat: the blocks ``(s, t)`` in order (``s`` outer, summands in order of
    first appearance), each laid out ``(mul_out, mul_in, num_basis)`` (see ``blocks``); the
    bias the same way for the pairs ``(s, trivial)``. The bases are kept in float64 and
    re-rounded on every dtype change, so a float32 module converted to float64 is exact;
    they are non-persistent buffers, so the module adds nothing to a ``state_dict``.

    Args:
        rep_in (Rep): the input rep.
        rep_out (Rep): the output rep, of the same group.
        basis (callable, optional): ``basis(t, s)`` for summands ``t`` of ``rep_in`` and
            ``s`` of ``rep_out`` returns the basis ``(num_basis, s.dim, t.dim, *trailing)``
            (float64; dense or sparse; ``num_basis`` may be 0). Default:
            :func:`~symmetries.reps.block_basis`, the solved equivariant maps.
        bias (bool, optional): whether to build the bias map (default: ``True``).
        invariants (callable, optional): ``invariants(s)`` returns ``(n, s.dim)`` vectors
            fixed by ``s``, one bias coefficient each. Default: an orthonormal basis of them.

    Attributes:
        weight_numel (int): the number of weight coefficients.
        bias_numel (int): the number of bias coefficients (0 without bias).
        blocks (tuple): one ``Block`` per pair of distinct summands ``(s, t)``, in coefficient
            order: ``summand_out``, ``summand_in``, ``dim_out``, ``dim_in``, ``mul_out``,
            ``mul_in``, ``num_basis``, ``start`` and ``numel``.
        bias_summand (torch.Tensor): ``(bias_numel,)``, the summand (index in
            ``rep_out.components()``) that each bias coefficient sits on.
        shape (tuple): ``(rep_out.dim, rep_in.dim, *trailing)``, the shape of :math:`W`.
        trailing_shape (tuple): the trailing axes of the bases.

    Shapes:
        - **weight:** :math:`(\text{weight\_numel},)` ->
          :math:`(\text{rep\_out.dim}, \text{rep\_in.dim}, *\text{trailing})`
        - **bias:** :math:`(\text{bias\_numel},)` -> :math:`(\text{rep\_out.dim},)`
    """

    def __init__(self, rep_in: Rep, rep_out: Rep, basis: Callable[[Rep, Rep], torch.Tensor] = block_basis,
                 bias: bool = True, invariants: Callable[[Rep], torch.Tensor] = fixed_vectors):
        super().__init__()
        for name, r in (("rep_in", rep_in), ("rep_out", rep_out)):
            if not isinstance(r, Rep):
                raise TypeError(f"{name} must be a Rep, got {type(r).__name__}")
        check_same_group(rep_in.group, rep_out.group, "rep_out")
        self._name = f"{rep_in!r} -> {rep_out!r}"  # no Rep kept: some hold local functions, which do not pickle
        self._exact: dict[str, torch.Tensor] = {}  # float64 tensors, the source of every dtype's buffers
        slots_in, slots_out = summand_indices(rep_in), summand_indices(rep_out)
        blocks, trailing = [], None
        for i, (s, idx_out) in enumerate(slots_out.items()):
            for j, (t, idx_in) in enumerate(slots_in.items()):
                B = _dense(basis(t, s)).double()
                if tuple(B.shape[1:3]) != (s.dim, t.dim) or (trailing is not None and B.shape[3:] != trailing):
                    raise ValueError(f"the basis of {t!r} -> {s!r} must have shape (n, {s.dim}, {t.dim}"
                                     f"{''.join(f', {n}' for n in trailing or ())}), got {tuple(B.shape)}")
                trailing = B.shape[3:]
                if len(B):
                    self._register_exact(f"basis{len(blocks)}", B)
                start = blocks[-1].start + blocks[-1].numel if blocks else 0
                blocks.append(Block(i, j, s.dim, t.dim, len(idx_out), len(idx_in), len(B), start))
        self.blocks: tuple[Block, ...] = tuple(blocks)
        self._n_in = len(slots_in)  # blocks per row of summands of rep_out
        self.trailing_shape = tuple(trailing or ())
        self.shape = (rep_out.dim, rep_in.dim, *self.trailing_shape)
        self.weight_numel = sum(b.numel for b in blocks)
        # the blocks fill a matrix grouped by summand type; these indices put its rows and columns in place
        grouped_out = torch.cat([idx.flatten() for idx in slots_out.values()])
        grouped_in = torch.cat([idx.flatten() for idx in slots_in.values()])
        self._reorder_out = not torch.equal(grouped_out, torch.arange(rep_out.dim))
        self._reorder_in = not torch.equal(grouped_in, torch.arange(rep_in.dim))
        self.register_buffer("_grouped_out", grouped_out, persistent=False)
        self.register_buffer("_grouped_in", grouped_in, persistent=False)
        self.register_buffer("_out_index", torch.argsort(grouped_out), persistent=False)
        self.register_buffer("_in_index", torch.argsort(grouped_in), persistent=False)
        self._build_bias(rep_out, slots_out, bias, invariants)

    def _register_exact(self, name: str, exact: torch.Tensor) -> None:
        self._exact[name] = exact
        self.register_buffer(name, exact.to(torch.get_default_dtype()), persistent=False)

    def _build_bias(self, rep_out, slots_out, bias, invariants):
        position: dict[Rep, list[int]] = {}  # summand -> where its copies are in rep_out.components()
        for i, r in enumerate(rep_out.components()):
            position.setdefault(r, []).append(i)
        cols, summand = [], []
        for s, idx_out in slots_out.items() if bias else ():
            U = invariants(s).double()
            for copy, i in zip(idx_out, position[s]):
                for u in U:
                    col = torch.zeros(rep_out.dim, dtype=torch.float64)
                    col[copy] = u
                    cols.append(col)
                    summand.append(i)
        self.bias_numel = len(cols)
        if cols:
            self._register_exact("bias_basis", torch.stack(cols, 1))
        self.bias_summand = torch.tensor(summand, dtype=torch.long)

    def _apply(self, fn, recurse=True):
        # a dtype change re-rounds the bases from float64, so float32 -> float64 stays exact
        super()._apply(fn, recurse)
        for name, exact in self._exact.items():
            buf = getattr(self, name)
            setattr(self, name, exact.to(device=buf.device, dtype=buf.dtype))
        return self

    def _check(self, coefficients: torch.Tensor, expected: int, what: str) -> None:
        if isinstance(coefficients, torch.fx.Proxy):  # traced by torch.fx: nothing to check
            return
        if tuple(coefficients.shape) != (expected,):
            raise ValueError(f"{self._name} takes {expected} {what} coefficients, shape "
                             f"({expected},), got shape {tuple(coefficients.shape)}")
        if self._exact:
            dtype = getattr(self, next(iter(self._exact))).dtype
            if coefficients.dtype != dtype:
                raise TypeError(f"the bases of {self._name} are {dtype}, got {what} "
                                f"coefficients of {coefficients.dtype}")

    def _block(self, weight: torch.Tensor, i: int) -> torch.Tensor:
        """Block ``i`` of the grouped matrix, ``(mul_out d_out, mul_in d_in, *trailing)``."""
        b = self.blocks[i]
        rows, cols = b.mul_out * b.dim_out, b.mul_in * b.dim_in
        if not b.num_basis:
            return weight.new_zeros(rows, cols, *self.trailing_shape)
        basis = getattr(self, f"basis{i}")
        w = weight[b.start:b.start + b.numel].reshape(b.mul_out * b.mul_in, b.num_basis)
        block = (w @ basis.reshape(b.num_basis, -1)).reshape(b.mul_out, b.mul_in, *basis.shape[1:])
        return block.transpose(1, 2).reshape(rows, cols, *self.trailing_shape)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        """The map :math:`W` ``(rep_out.dim, rep_in.dim, *trailing)`` of the coefficients
        ``weight`` ``(weight_numel,)``, which have the bases' dtype (else ``TypeError``)."""
        self._check(weight, self.weight_numel, "weight")
        rows = []
        for first in range(0, len(self.blocks), self._n_in):
            cols = [self._block(weight, i) for i in range(first, first + self._n_in)]
            rows.append(cols[0] if len(cols) == 1 else torch.cat(cols, 1))
        W = rows[0] if len(rows) == 1 else torch.cat(rows, 0)
        if self._reorder_out:
            W = W.index_select(0, self._out_index)
        if self._reorder_in:
            W = W.index_select(1, self._in_index)
        return W

    def bias_vector(self, bias: torch.Tensor) -> torch.Tensor:
        """The invariant vector :math:`b` ``(rep_out.dim,)`` of the coefficients ``bias``
        ``(bias_numel,)``."""
        self._check(bias, self.bias_numel, "bias")
        return self.bias_basis @ bias

    def coefficients(self, matrix: torch.Tensor) -> torch.Tensor:
        """The least-squares coefficients of a map: the inverse of :meth:`forward` on the
        equivariant maps, and the orthogonal projection onto them for an orthonormal basis.

        Args:
            matrix: a map ``(rep_out.dim, rep_in.dim, *trailing)``, equivariant or not.

        Returns:
            The coefficients ``(weight_numel,)``, in the dtype of ``matrix``.
        """
        if tuple(matrix.shape) != self.shape:
            raise ValueError(f"expected a matrix of shape {self.shape} for {self._name}, "
                             f"got {tuple(matrix.shape)}")
        grouped = matrix.index_select(0, self._grouped_out).index_select(1, self._grouped_in)
        heights = [b.mul_out * b.dim_out for b in self.blocks[::self._n_in]]
        widths = [b.mul_in * b.dim_in for b in self.blocks[:self._n_in]]
        pieces = [row.split(widths, 1) for row in grouped.split(heights, 0)]
        coefs = []
        for i, b in enumerate(self.blocks):
            if b.num_basis:
                block = pieces[i // self._n_in][i % self._n_in]
                X = block.reshape(b.mul_out, b.dim_out, b.mul_in, b.dim_in, -1).transpose(1, 2)
                X = X.reshape(b.mul_out * b.mul_in, -1)
                B = getattr(self, f"basis{i}").reshape(b.num_basis, -1).to(X)
                coefs.append(torch.linalg.solve(B @ B.T, B @ X.T).T.reshape(-1))
        return torch.cat(coefs) if coefs else matrix.new_zeros(0)

    def extra_repr(self) -> str:
        trailing = f", trailing {self.trailing_shape}" if self.trailing_shape else ""
        return f"{self._name}, {self.weight_numel} weights, {self.bias_numel} biases{trailing}"
