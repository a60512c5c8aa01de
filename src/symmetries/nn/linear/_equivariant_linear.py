"""EquivariantLinear: a linear layer whose weight lies in the solved equivariant basis."""

from __future__ import annotations

import torch
from torch import nn

from symmetries.reps import Rep, trivial
from symmetries.reps import block_basis
from symmetries.groups import check_same_group


def type_slots(rep: Rep) -> dict[Rep, torch.Tensor]:
    """Distinct summands of ``rep`` -> coordinate indices ``(multiplicity, dim)`` of each copy."""
    slots: dict[Rep, list[torch.Tensor]] = {}
    offset = 0
    for r in rep.components():
        slots.setdefault(r, []).append(torch.arange(offset, offset + r.dim))
        offset += r.dim
    return {r: torch.stack(v) for r, v in slots.items()}


def dense_block(rep_in: Rep, rep_out: Rep) -> torch.Tensor:
    """Dense float64 basis ``(k, d_out, d_in)`` between two summands."""
    b = block_basis(rep_in, rep_out)
    return b.to_dense() if b.is_sparse else b


class EquivariantLinear(nn.Module):
    r"""Linear map :math:`y = W x + b` with :math:`\rho_{out}(g) W = W \rho_{in}(g)` and
    :math:`\rho_{out}(g) b = b` for all g.

    :math:`W = \sum_k w_k B_k` over the basis of equivariant maps, solved block by block for
    each pair of distinct summands of ``rep_in`` and ``rep_out`` (copies share the block basis
    and get their own coefficients). The bias lives on the invariant directions of ``rep_out``.

    Shapes: ``(..., rep_in.dim) -> (..., rep_out.dim)``. Parameters: ``weight`` (all basis
    coefficients, flat) and ``bias``; the bases are non-persistent buffers, rebuilt from the
    reps, so the state_dict holds only the coefficients.

    ``max_block``: pairs of summands with more than this many unknowns
    (:math:`d_{out} d_{in}`) are left out (their block of W stays zero): a smaller, still
    exactly equivariant, family of maps that avoids solving large blocks.
    """

    def __init__(self, rep_in: Rep, rep_out: Rep, bias: bool = True, max_block: int | None = None):
        super().__init__()
        check_same_group(rep_in.group, rep_out.group, "rep_out")
        self.rep_in, self.rep_out = rep_in, rep_out
        self._exact: dict[str, torch.Tensor] = {}  # float64 bases, the source of every dtype's copy
        slots_in, slots_out = type_slots(rep_in), type_slots(rep_out)
        self._pairs = []  # (basis buffer name, m_out, m_in, k, n_coefficients offset)
        flat_index, n_coef, fan = [], 0, {}
        std = []
        for t_out, idx_out in slots_out.items():
            for t_in, idx_in in slots_in.items():
                if max_block is not None and t_in.dim * t_out.dim > max_block:
                    continue
                B = dense_block(t_in, t_out)
                if not B.shape[0]:
                    continue
                name = f"_basis{len(self._pairs)}"
                self._exact[name] = B
                self.register_buffer(name, B.to(torch.get_default_dtype()), persistent=False)
                m_out, m_in, k = len(idx_out), len(idx_in), B.shape[0]
                self._pairs.append((name, m_out, m_in, k, n_coef))
                # rows a*do+i and columns b*di+j of the block sit at W[idx_out[a, i], idx_in[b, j]]
                flat = idx_out.reshape(-1, 1) * rep_in.dim + idx_in.reshape(1, -1)
                flat_index.append(flat.reshape(-1))
                fan[t_out] = fan.get(t_out, 0) + m_in * k
                std.append((t_out, m_out * m_in * k))
                n_coef += m_out * m_in * k
        self.register_buffer("_flat_index", torch.cat(flat_index) if flat_index else torch.zeros(0, dtype=torch.long),
                             persistent=False)
        self.weight = nn.Parameter(torch.empty(n_coef))
        self._init_scale = torch.cat([torch.full((n,), (t.dim / fan[t]) ** 0.5) for t, n in std]) if std else None
        self._build_bias(slots_out, bias)
        self.reset_parameters()

    def _build_bias(self, slots_out, bias):
        cols = []
        one = trivial(self.rep_in.group)
        for t_out, idx_out in slots_out.items():
            B = dense_block(one, t_out)  # (k, d_t, 1)
            for copy in idx_out:
                for b in B:
                    col = torch.zeros(self.rep_out.dim, dtype=torch.float64)
                    col[copy] = b[:, 0]
                    cols.append(col)
        if bias and cols:
            self._exact["_bias_basis"] = torch.stack(cols, 1)
            self.register_buffer("_bias_basis", self._exact["_bias_basis"].to(torch.get_default_dtype()),
                                 persistent=False)
            self.bias = nn.Parameter(torch.zeros(len(cols)))
        else:
            self.register_parameter("bias", None)

    def _apply(self, fn, recurse=True):
        # a dtype change re-rounds the bases from float64, so float32 -> float64 stays exact
        super()._apply(fn, recurse)
        for name, exact in self._exact.items():
            buf = getattr(self, name)
            setattr(self, name, exact.to(device=buf.device, dtype=buf.dtype))
        return self

    def reset_parameters(self):
        with torch.no_grad():
            if self._init_scale is not None:
                self.weight.copy_(torch.randn_like(self.weight) * self._init_scale.to(self.weight))
            if self.bias is not None:
                self.bias.zero_()

    @property
    def num_basis(self) -> int:
        """Number of free weight coefficients (the dimension of the equivariant space)."""
        return self.weight.numel()

    def matrix(self) -> torch.Tensor:
        """The dense weight :math:`W`, ``(rep_out.dim, rep_in.dim)``."""
        blocks = []
        for name, m_out, m_in, k, start in self._pairs:
            w = self.weight[start : start + m_out * m_in * k].reshape(m_out, m_in, k)
            B = getattr(self, name).to(w.dtype)
            blocks.append(torch.einsum("abk,kij->aibj", w, B).reshape(-1))
        W = self.weight.new_zeros(self.rep_out.dim * self.rep_in.dim)
        if blocks:
            W = W.index_put((self._flat_index,), torch.cat(blocks))
        return W.reshape(self.rep_out.dim, self.rep_in.dim)

    def bias_vector(self) -> torch.Tensor | None:
        """The invariant bias :math:`b`, ``(rep_out.dim,)``, or ``None``."""
        if self.bias is None:
            return None
        return self._bias_basis.to(self.bias.dtype) @ self.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 0 or x.shape[-1] != self.rep_in.dim:
            raise ValueError(f"EquivariantLinear expects inputs (..., {self.rep_in.dim}) for {self.rep_in!r}, "
                             f"got shape {tuple(x.shape)}")
        if x.dtype != self.weight.dtype:
            raise TypeError(f"EquivariantLinear has {self.weight.dtype} weights, got a {x.dtype} input")
        W = self.matrix()
        y = x @ W.T
        b = self.bias_vector()
        return y if b is None else y + b

    def set_matrix(self, W: torch.Tensor) -> None:
        """Set the weight to the orthogonal projection of a dense ``W`` onto the equivariant maps."""
        shape = (self.rep_out.dim, self.rep_in.dim)
        if tuple(W.shape) != shape:
            raise ValueError(f"expected a weight matrix of shape {shape} for {self.rep_in!r} -> {self.rep_out!r}, "
                             f"got {tuple(W.shape)}")
        flat = W.reshape(-1).to(self.weight)
        with torch.no_grad():
            coefs, offset = [], 0
            for name, m_out, m_in, _, _ in self._pairs:
                B = getattr(self, name).to(flat)
                d_o, d_i = B.shape[1], B.shape[2]
                idx = self._flat_index[offset : offset + m_out * d_o * m_in * d_i]
                offset += len(idx)
                block = flat[idx].reshape(m_out, d_o, m_in, d_i)
                coefs.append(torch.einsum("aibj,kij->abk", block, B).reshape(-1))
            self.weight.copy_(torch.cat(coefs) if coefs else self.weight)

    def extra_repr(self) -> str:
        return f"{self.rep_in!r} -> {self.rep_out!r}, {self.num_basis} coefficients, bias={self.bias is not None}"
