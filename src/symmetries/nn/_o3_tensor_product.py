r"""Tensor products of O(3) irreps with explicit paths, fused into a few large matrix products.

A path (instruction) ``(i1, i2, i_out, mode)`` couples block ``i1`` of the first input with
block ``i2`` of the second through the 3j symbol :math:`C^{l_1 l_2 l_3}`:

.. math::

    \text{uvw:}\quad z_{w k} = \alpha \sum_{uvij} W_{uvw} C_{ijk} x_{ui} y_{vj}
    \qquad\qquad \text{uvu:}\quad z_{u k} = \alpha \sum_{vij} W_{uv} C_{ijk} x_{ui} y_{vj}

with e3nn 0.6's normalization :math:`\alpha` ('component' irreps, 'element' paths) and its
flat weight layout, so weights move between the two libraries unchanged.

Computation. Paths are grouped by (mode, output multiplicity M); each group is three
matrix products, whatever its number of paths:

1. weights on the first input, :math:`X_{b, w, (p v i)}` (a broadcast product for ``uvu``,
   one GEMM per input block for ``uvw``);
2. the second input against all 3j symbols at once, :math:`A_{b, (p v i), k} = \sum_J
   y_{bJ} \hat C_{J, (p v i), k}`, one GEMM (the normalization sits inside :math:`\hat C`);
3. one batched product :math:`Z_b = X_b A_b`, which also sums the paths that share an
   output block.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from ..o3 import Irreps, wigner_3j
from ._o3_util import as_batch, check_irreps_input

_MODES = ("uvw", "uvu")


class Instruction(NamedTuple):
    i_in1: int
    i_in2: int
    i_out: int
    connection_mode: str
    has_weight: bool
    path_weight: float
    path_shape: tuple


class _Group(NamedTuple):
    mode: str
    mul: int  # output multiplicity M
    paths: tuple  # instruction indices, ordered by input-1 block
    outs: tuple  # output blocks written by this group
    contraction: int  # D = sum over paths of mul2 * (2 l1 + 1)
    width: int  # K = sum over outs of (2 l3 + 1)


class TensorProduct(nn.Module):
    r"""Tensor product ``x1 (x) x2 -> out`` along explicit paths.

    Args:
        irreps_in1, irreps_in2, irreps_out: irreps (strings or :class:`~symmetries.o3.Irreps`).
        instructions: ``(i_in1, i_in2, i_out, mode[, has_weight[, path_weight]])`` with
            ``mode`` in ``'uvw'`` (fully connected, weights ``(mul1, mul2, mul_out)``) or
            ``'uvu'`` (channel-wise, ``mul_out == mul1``, weights ``(mul1, mul2)``).
            Each must obey :math:`|l_1 - l_2| \le l_{out} \le l_1 + l_2` and
            :math:`p_1 p_2 = p_{out}`.
        irrep_normalization: ``'component'`` (default), ``'norm'`` or ``'none'``.
        path_normalization: ``'element'`` (default), ``'path'`` or ``'none'``.
        internal_weights: keep the weights as a parameter (default: when ``shared_weights``).
        shared_weights: one weight vector for the batch (``True``) or one per sample (``False``,
            passed to ``forward``; per-edge weights in message passing).

    Shapes: ``x1 (..., irreps_in1.dim)``, ``x2 (..., irreps_in2.dim)``, ``weight
    (weight_numel,)`` or ``(..., weight_numel)`` -> ``(..., irreps_out.dim)``; leading
    dimensions broadcast.
    """

    def __init__(self, irreps_in1, irreps_in2, irreps_out, instructions, in1_var=None, in2_var=None, out_var=None,
                 irrep_normalization: str = "component", path_normalization: str = "element",
                 internal_weights: bool | None = None, shared_weights: bool | None = None):
        super().__init__()
        self.irreps_in1, self.irreps_in2, self.irreps_out = Irreps(irreps_in1), Irreps(irreps_in2), Irreps(irreps_out)
        if irrep_normalization not in ("component", "norm", "none"):
            raise ValueError(f"irrep_normalization must be 'component', 'norm' or 'none', got {irrep_normalization!r}")
        if path_normalization not in ("element", "path", "none"):
            raise ValueError(f"path_normalization must be 'element', 'path' or 'none', got {path_normalization!r}")
        self.instructions = [self._instruction(ins) for ins in instructions]
        if shared_weights is False and internal_weights:
            raise ValueError("per-sample weights (shared_weights=False) cannot be internal")
        self.shared_weights = True if shared_weights is None else bool(shared_weights)
        self.internal_weights = self.shared_weights if internal_weights is None else bool(internal_weights)
        self.weight_numel = sum(math.prod(ins.path_shape) for ins in self.instructions)
        alphas = self._normalization(in1_var, in2_var, out_var, irrep_normalization, path_normalization)
        self._build(alphas)
        if self.internal_weights and self.weight_numel > 0:
            self.weight = nn.Parameter(torch.randn(self.weight_numel))
        else:
            self.register_parameter("weight", None)

    # ------------------------------------------------------------------ set-up
    def _instruction(self, ins) -> Instruction:
        ins = tuple(ins)
        if not 4 <= len(ins) <= 6:
            raise ValueError(f"an instruction is (i_in1, i_in2, i_out, mode[, has_weight[, path_weight]]), got {ins!r}")
        i1, i2, io, mode = ins[:4]
        has_weight = ins[4] if len(ins) > 4 else True
        path_weight = float(ins[5]) if len(ins) > 5 else 1.0
        for name, i, irreps in (("i_in1", i1, self.irreps_in1), ("i_in2", i2, self.irreps_in2), ("i_out", io, self.irreps_out)):
            if not isinstance(i, int) or not 0 <= i < len(irreps):
                raise ValueError(f"instruction {ins!r}: {name}={i!r} is not an index of irreps {irreps} "
                                 f"(0..{len(irreps) - 1})")
        (mul1, ir1), (mul2, ir2), (mulo, iro) = self.irreps_in1[i1], self.irreps_in2[i2], self.irreps_out[io]
        if iro not in list(ir1 * ir2):
            raise ValueError(f"instruction {ins!r}: path {ir1} x {ir2} -> {iro} breaks the selection rules "
                             f"|l1-l2| <= l <= l1+l2 and p = p1*p2 (allowed: {', '.join(map(str, ir1 * ir2))})")
        if mode not in _MODES:
            raise ValueError(f"instruction {ins!r}: connection mode must be one of {_MODES}, got {mode!r}")
        if not has_weight:
            raise ValueError(f"instruction {ins!r}: only weighted paths are supported (has_weight=True)")
        if mode == "uvu" and mulo != mul1:
            raise ValueError(f"instruction {ins!r}: mode 'uvu' needs mul_out == mul1, got {mulo} and {mul1}")
        shape = (mul1, mul2, mulo) if mode == "uvw" else (mul1, mul2)
        return Instruction(i1, i2, io, mode, True, path_weight, shape)

    def _normalization(self, in1_var, in2_var, out_var, irrep_norm, path_norm) -> list[float]:
        def variances(v, irreps, name):
            v = [1.0] * len(irreps) if v is None else [float(a) for a in v]
            if len(v) != len(irreps):
                raise ValueError(f"{name} needs {len(irreps)} entries (one per block of {irreps}), got {len(v)}")
            return v

        v1 = variances(in1_var, self.irreps_in1, "in1_var")
        v2 = variances(in2_var, self.irreps_in2, "in2_var")
        vo = variances(out_var, self.irreps_out, "out_var")

        def num_elements(ins):
            return ins.path_shape[0] * ins.path_shape[1] if ins.connection_mode == "uvw" else ins.path_shape[1]

        alphas = []
        for ins in self.instructions:
            ir1, ir2, iro = self.irreps_in1[ins.i_in1].ir, self.irreps_in2[ins.i_in2].ir, self.irreps_out[ins.i_out].ir
            alpha = {"component": iro.dim, "norm": ir1.dim * ir2.dim, "none": 1.0}[irrep_norm]
            same_out = [i for i in self.instructions if i.i_out == ins.i_out]
            if path_norm == "element":
                x = sum(v1[i.i_in1] * v2[i.i_in2] * num_elements(i) for i in same_out)
            elif path_norm == "path":
                x = v1[ins.i_in1] * v2[ins.i_in2] * num_elements(ins) * len(same_out)
            else:
                x = 1.0
            if x > 0:
                alpha /= x
            alphas.append(math.sqrt(alpha * vo[ins.i_out] * ins.path_weight))
        return alphas

    def _build(self, alphas):
        """Group the paths and precompute each group's normalized 3j matrix :math:`\\hat C`."""
        offsets, o = [], 0
        for ins in self.instructions:
            offsets.append(o)
            o += math.prod(ins.path_shape)
        self._weight_offsets = offsets
        keys = []
        for ins in self.instructions:
            key = (ins.connection_mode, self.irreps_out[ins.i_out].mul)
            if key not in keys:
                keys.append(key)
        groups = []
        d2 = self.irreps_in2.dim
        sl1, sl2 = self.irreps_in1.slices(), self.irreps_in2.slices()
        for gi, (mode, mul) in enumerate(keys):
            paths = [i for i, ins in enumerate(self.instructions) if (ins.connection_mode, self.irreps_out[ins.i_out].mul) == (mode, mul)]
            paths.sort(key=lambda i: (self.instructions[i].i_in1, i))
            outs = sorted({self.instructions[i].i_out for i in paths})
            out_col, K = {}, 0
            for io in outs:
                out_col[io] = K
                K += self.irreps_out[io].ir.dim
            D = sum(self.instructions[i].path_shape[1] * self.irreps_in1[self.instructions[i].i_in1].ir.dim for i in paths)
            C = torch.zeros(d2, D, K, dtype=torch.float64)
            row = 0
            for i in paths:
                ins = self.instructions[i]
                ir1, ir2, iro = self.irreps_in1[ins.i_in1].ir, self.irreps_in2[ins.i_in2].ir, self.irreps_out[ins.i_out].ir
                cg = alphas[i] * wigner_3j(ir1.l, ir2.l, iro.l)  # (i, j, k)
                start2, k0 = sl2[ins.i_in2].start, out_col[ins.i_out]
                for v in range(ins.path_shape[1]):
                    j0 = start2 + v * ir2.dim
                    C[j0:j0 + ir2.dim, row:row + ir1.dim, k0:k0 + iro.dim] = cg.permute(1, 0, 2)
                    row += ir1.dim
            self.register_buffer(f"_cg{gi}", C.reshape(d2, D * K), persistent=False)  # float64 until cast
            groups.append(_Group(mode, mul, tuple(paths), tuple(outs), D, K))
        self._groups = groups
        self._slices1 = sl1
        self._slices_out = self.irreps_out.slices()

    # ------------------------------------------------------------------ forward
    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        check_irreps_input(self.irreps_in1, x1, "x1")
        check_irreps_input(self.irreps_in2, x2, "x2")
        weight = self._weight(weight)
        (x1, x2), batch, w = as_batch([x1, x2], weight if not self.shared_weights else None)
        if self.shared_weights:
            w = weight.to(x1.dtype) if weight is not None else None
        B = x1.shape[0]
        blocks: dict[int, torch.Tensor] = {}
        for gi, g in enumerate(self._groups):
            X = self._weighted_input(g, x1, w, B)  # (B, M, D)
            A = (x2 @ getattr(self, f"_cg{gi}").to(x2.dtype)).view(B, g.contraction, g.width)
            Z = torch.bmm(X, A)  # (B, M, K)
            k = 0
            for io in g.outs:
                d = self.irreps_out[io].ir.dim
                block = Z[:, :, k:k + d].reshape(B, g.mul * d)
                blocks[io] = blocks[io] + block if io in blocks else block
                k += d
        parts = [blocks[i] if i in blocks else x1.new_zeros(B, mi.dim) for i, mi in enumerate(self.irreps_out)]
        out = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        return out.reshape(batch + (self.irreps_out.dim,))

    def _weight(self, weight):
        if weight is None:
            if self.weight_numel == 0:
                return None
            if self.weight is None:
                raise ValueError(f"this TensorProduct has no internal weights: pass weight of shape "
                                 f"{'(' if self.shared_weights else '(..., '}{self.weight_numel},)")
            return self.weight
        if not torch.is_tensor(weight):
            raise TypeError(f"weight must be a tensor, got {type(weight).__name__}")
        if weight.shape[-1:] != (self.weight_numel,) or (self.shared_weights and weight.dim() != 1):
            want = f"({self.weight_numel},)" if self.shared_weights else f"(..., {self.weight_numel})"
            raise ValueError(f"weight must have shape {want}, got {tuple(weight.shape)}")
        return weight

    def _path_weight(self, w, i):
        """Weights of instruction ``i`` as ``(mul1, rest)`` (shared) or ``(B, mul1, rest)``."""
        ins, off = self.instructions[i], self._weight_offsets[i]
        n = math.prod(ins.path_shape)
        return w[..., off:off + n].unflatten(-1, (ins.path_shape[0], n // ins.path_shape[0]))

    def _weighted_input(self, g: _Group, x1, w, B):
        if g.mode == "uvu":
            # X[b, u, (p, v, i)] = W_p[b, u, v] x1_p[b, u, i]
            parts = []
            for i in g.paths:
                ins = self.instructions[i]
                d1 = self.irreps_in1[ins.i_in1].ir.dim
                x = x1[:, self._slices1[ins.i_in1]].view(B, g.mul, 1, d1)
                wp = self._path_weight(w, i)[..., None]  # ([B,] u, v, 1)
                parts.append((wp * x).reshape(B, g.mul, ins.path_shape[1] * d1))
            return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        # uvw: X[b, w, (p, v, i)] = sum_u W_p[u, v, w] x1_p[b, u, i]; one GEMM per input block
        parts, j = [], 0
        while j < len(g.paths):
            i1 = self.instructions[g.paths[j]].i_in1
            same = [i for i in g.paths[j:] if self.instructions[i].i_in1 == i1]
            j += len(same)
            mul1, ir1 = self.irreps_in1[i1]
            x = x1[:, self._slices1[i1]].view(B, mul1, ir1.dim)
            W = torch.cat([self._path_weight(w, i) for i in same], dim=-1)  # ([B,] u, sum_p v*M)
            V = W.shape[-1] // g.mul
            Xs = torch.matmul(x.transpose(1, 2), W)  # (B, i, sum_p v*M)
            parts.append(Xs.view(B, ir1.dim, V, g.mul).permute(0, 3, 2, 1).reshape(B, g.mul, V * ir1.dim))
        return torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]

    def extra_repr(self):
        return (f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, {len(self.instructions)} paths, "
                f"weight_numel={self.weight_numel}, shared_weights={self.shared_weights}")


class FullyConnectedTensorProduct(TensorProduct):
    """Every allowed path ``(i1, i2) -> i_out`` in mode ``'uvw'`` (all channels mixed)."""

    def __init__(self, irreps_in1, irreps_in2, irreps_out, **kwargs):
        irreps_in1, irreps_in2, irreps_out = Irreps(irreps_in1), Irreps(irreps_in2), Irreps(irreps_out)
        instructions = [
            (i1, i2, io, "uvw", True)
            for i1, (_, ir1) in enumerate(irreps_in1)
            for i2, (_, ir2) in enumerate(irreps_in2)
            for io, (_, iro) in enumerate(irreps_out)
            if iro in list(ir1 * ir2)
        ]
        super().__init__(irreps_in1, irreps_in2, irreps_out, instructions, **kwargs)
