r"""Tensor products of O(3) irreps with explicit paths, fused into a few large matrix products.

A path (instruction) ``(i1, i2, i_out, mode)`` couples block ``i1`` of the first input with
block ``i2`` of the second through the 3j symbol :math:`C^{l_1 l_2 l_3}`:

.. math::

    \text{uvw:}\quad z_{w k} = \alpha \sum_{uvij} W_{uvw} C_{ijk} x_{ui} y_{vj}
    \qquad\qquad \text{uvu:}\quad z_{u k} = \alpha \sum_{vij} W_{uv} C_{ijk} x_{ui} y_{vj}

with e3nn 0.6's normalization :math:`\alpha` ('component' irreps, 'element' paths) and its
flat weight layout, so weights move between the two libraries unchanged.

Computation. Paths are grouped by (mode, output multiplicity M); each group is three
matrix products, whatever its number of paths, with channels last (contiguous):

1. weights on the first input, :math:`X_{b, r, w}` for rows :math:`r = (p, v, i)` (a
   broadcast product for ``uvu``, one GEMM per input block for ``uvw``, or with per-sample
   weights one batched product per path on views of them, never a copy);
2. the second input against all 3j symbols at once, :math:`A_{b, k, r} = \sum_J y_{bJ}
   \hat C_{J, k, r}`, one GEMM (the normalization sits inside :math:`\hat C`);
3. one batched product :math:`Z_b = A_b X_b`, ``(K, D) @ (D, M)``, which also sums the
   paths that share an output block.

Faster kernels replace steps 2-3 where they apply: for channel-wise groups (second input of
multiplicity 1) the loops over the nonzero 3j terms (:mod:`._o3_tp_numba`, generated per
plan for large batches by :mod:`._o3_tp_generated`; Triton on CUDA), and for ``uvw`` groups
on the CPU, loops generated for the group's terms (:mod:`._o3_tp_rows` for shared weights,
:mod:`._o3_tp_per_sample` for per-sample weights, which streams each sample's weights once).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from symmetries.o3 import Irreps
from symmetries.nn.o3.tensor_product.kernels._torch import ChannelwiseProduct, channelwise_reference
from symmetries.nn.o3.tensor_product._plan import cg_by_output, channelwise_plan, dense_cg, with_terms
from symmetries._internal.compiled import available as compiled_available
from symmetries._internal.compiled import installed
from symmetries.nn.o3.tensor_product.kernels import _generated as generated
from symmetries.nn.o3.tensor_product.kernels._per_sample import Mixing, PerSampleRowProduct, per_sample_rows
from symmetries.nn.o3.tensor_product.kernels._rows import RowProduct, mixed_rows, row_plan
from symmetries.nn.o3.tensor_product.kernels._sparse import SparseChannelwiseProduct
from symmetries.nn.o3._checks import as_batch, check_irreps_input

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
    blocks1: tuple  # input-1 blocks read by this group
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
        weight_scale: how the internal weights are held. ``'unit'`` (default, e3nn 0.6): the
            parameter is :math:`W \sim N(0, 1)` and the normalization sits in the forward.
            ``'fan_in'``: the parameter is :math:`\theta = W / \sqrt{n}`, with :math:`n` the
            fan-in of the path's output block (the sum over its paths of ``mul1 * mul2``, or
            ``mul2`` for ``'uvu'``): the same function of :math:`W`, but Adam, which moves each
            parameter by about its learning rate, then changes the output at the pace of an
            ``nn.Linear`` of that fan-in, not :math:`\sqrt{n}` times slower.

    Shapes: ``x1 (..., irreps_in1.dim)``, ``x2 (..., irreps_in2.dim)``, ``weight
    (weight_numel,)`` or ``(..., weight_numel)`` -> ``(..., irreps_out.dim)``; leading
    dimensions broadcast.
    """

    def __init__(self, irreps_in1, irreps_in2, irreps_out, instructions, in1_var=None, in2_var=None, out_var=None,
                 irrep_normalization: str = "component", path_normalization: str = "element",
                 internal_weights: bool | None = None, shared_weights: bool | None = None,
                 weight_scale: str = "unit"):
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
        if weight_scale not in ("unit", "fan_in"):
            raise ValueError(f"weight_scale must be 'unit' or 'fan_in', got {weight_scale!r}")
        if weight_scale == "fan_in" and not self.internal_weights:
            raise ValueError("weight_scale='fan_in' rescales the module's own weights: it needs internal_weights=True")
        self.weight_scale = weight_scale
        # per weight, 1 / sqrt(fan-in of its output block): the parameter is W times this
        self.register_buffer("_fan_in_scale", self._inverse_sqrt_fan_in() if weight_scale == "fan_in" else None,
                             persistent=False)
        if self.internal_weights and self.weight_numel > 0:
            w = torch.randn(self.weight_numel)
            self.weight = nn.Parameter((w * self._fan_in_scale).to(w.dtype) if self._fan_in_scale is not None else w)
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

    @staticmethod
    def _num_elements(ins) -> int:
        """The channels feeding one output channel through path ``ins``."""
        return ins.path_shape[0] * ins.path_shape[1] if ins.connection_mode == "uvw" else ins.path_shape[1]

    def _inverse_sqrt_fan_in(self) -> torch.Tensor:
        r"""``(weight_numel,)``: each weight's :math:`1 / \sqrt{n}`, with :math:`n` the fan-in of its output block."""
        fan_in = [0] * len(self.irreps_out)
        for ins in self.instructions:
            fan_in[ins.i_out] += self._num_elements(ins)
        return torch.cat([torch.full((math.prod(ins.path_shape),), fan_in[ins.i_out] ** -0.5, dtype=torch.float64)
                          for ins in self.instructions] or [torch.zeros(0, dtype=torch.float64)])

    def _normalization(self, in1_var, in2_var, out_var, irrep_norm, path_norm) -> list[float]:
        def variances(v, irreps, name):
            v = [1.0] * len(irreps) if v is None else [float(a) for a in v]
            if len(v) != len(irreps):
                raise ValueError(f"{name} needs {len(irreps)} entries (one per block of {irreps}), got {len(v)}")
            return v

        v1 = variances(in1_var, self.irreps_in1, "in1_var")
        v2 = variances(in2_var, self.irreps_in2, "in2_var")
        vo = variances(out_var, self.irreps_out, "out_var")

        alphas = []
        for ins in self.instructions:
            ir1, ir2, iro = self.irreps_in1[ins.i_in1].ir, self.irreps_in2[ins.i_in2].ir, self.irreps_out[ins.i_out].ir
            alpha = {"component": iro.dim, "norm": ir1.dim * ir2.dim, "none": 1.0}[irrep_norm]
            same_out = [i for i in self.instructions if i.i_out == ins.i_out]
            if path_norm == "element":
                x = sum(v1[i.i_in1] * v2[i.i_in2] * self._num_elements(i) for i in same_out)
            elif path_norm == "path":
                x = v1[ins.i_in1] * v2[ins.i_in2] * self._num_elements(ins) * len(same_out)
            else:
                x = 1.0
            if x > 0:
                alpha /= x
            alphas.append(math.sqrt(alpha * vo[ins.i_out] * ins.path_weight))
        return alphas

    def _build(self, alphas):
        """Group the paths; precompute each group's normalized 3j matrix and index maps."""
        offsets, o = [], 0
        for ins in self.instructions:
            offsets.append(o)
            o += math.prod(ins.path_shape)
        self._plans, self._row_plans, self._mixings, keys = {}, {}, {}, []
        for ins in self.instructions:
            key = (ins.connection_mode, self.irreps_out[ins.i_out].mul)
            if key not in keys:
                keys.append(key)
        self._groups = []
        for gi, (mode, mul) in enumerate(keys):
            paths = [i for i, ins in enumerate(self.instructions)
                     if (ins.connection_mode, self.irreps_out[ins.i_out].mul) == (mode, mul)]
            paths.sort(key=lambda i: (self.instructions[i].i_in1, i))
            blocks = sorted({self.instructions[i].i_in1 for i in paths})
            outs = sorted({self.instructions[i].i_out for i in paths})
            # the rows of the contraction: (path, copy v of input 2, component i of input 1)
            plan = channelwise_plan(self, mul, paths, blocks, outs, offsets) if mode == "uvu" else None
            if plan is not None:  # grouped by output block
                rows = [(i, 0, c) for io in outs for i in paths if self.instructions[i].i_out == io
                        for c in range(self.irreps_in1[self.instructions[i].i_in1].ir.dim)]
                C = cg_by_output(self, rows, outs, alphas)
                self.register_buffer(f"_cg{gi}", C, persistent=False)  # float64 until cast
                self._plans[gi] = with_terms(plan, C)
            elif mode == "uvu":
                rows = [(i, v, c) for i in paths for v in range(self.instructions[i].path_shape[1])
                        for c in range(self.irreps_in1[self.instructions[i].i_in1].ir.dim)]
            else:  # grouped by input block, component-major, so the weight GEMM needs no permute
                rows = [(i, v, c) for blk in blocks for c in range(self.irreps_in1[blk].ir.dim)
                        for i in paths if self.instructions[i].i_in1 == blk
                        for v in range(self.instructions[i].path_shape[1])]
            K = sum(self.irreps_out[io].ir.dim for io in outs)
            if plan is None:
                self.register_buffer(f"_cg{gi}", dense_cg(self, rows, outs, alphas), persistent=False)
            if mode == "uvu" and plan is None:
                self._index_uvu(gi, mul, paths, blocks, rows, offsets)
            elif mode == "uvw":
                self._index_uvw(gi, mul, paths, blocks, offsets)
                per_block = [sum(1 for i, _, _ in rows if self.instructions[i].i_in1 == blk) for blk in blocks]
                self._row_plans[gi] = row_plan(getattr(self, f"_cg{gi}"), mul, per_block,
                                               [self.irreps_out[io].ir.dim for io in outs])
                self._mixings[gi] = self._mixing(paths, blocks, offsets)
            self._groups.append(_Group(mode, mul, tuple(paths), tuple(outs), tuple(blocks), len(rows), K))
        self._dims1 = [mi.dim for mi in self.irreps_in1]

    def _index_uvu(self, gi, mul, paths, blocks, rows, offsets):
        """Channels-last operands of the product :math:`X_{b, r, u} = x_{b, u, c(r)} W_{b, u, p(r) v(r)}`:
        a weight index ``((p, v), u)`` into the flat weights, and for each row its input-1 row
        and weight row."""
        col, c0 = {}, 0
        for blk in blocks:
            col[blk] = c0
            c0 += self.irreps_in1[blk].ir.dim
        pv = [(i, v) for i in paths for v in range(self.instructions[i].path_shape[1])]
        widx = [[offsets[i] + u * self.instructions[i].path_shape[1] + v for u in range(mul)] for i, v in pv]
        widx = torch.tensor(widx).flatten()
        contiguous = bool((widx == torch.arange(len(widx)) + int(widx[0])).all())
        self.register_buffer(f"_widx{gi}", None if contiguous else widx, persistent=False)
        self._wstart = getattr(self, "_wstart", {})
        self._wstart[gi] = (int(widx[0]), len(widx)) if contiguous else None
        row_x = torch.tensor([col[self.instructions[i].i_in1] + c for i, v, c in rows])
        row_w = torch.tensor([pv.index((i, v)) for i, v, c in rows])
        self.register_buffer(f"_rowx{gi}", row_x, persistent=False)
        self.register_buffer(f"_roww{gi}", row_w, persistent=False)

    def _mixing(self, paths, blocks, offsets) -> Mixing:
        """Where a ``uvw`` group's rows come from, for per-sample weights."""
        slices = self.irreps_in1.slices()
        per_block = tuple(
            (slices[blk].start, self.irreps_in1[blk].ir.dim, self.irreps_in1[blk].mul,
             tuple((i, offsets[i], self.instructions[i].path_shape[1]) for i in paths if self.instructions[i].i_in1 == blk))
            for blk in blocks)
        return Mixing(per_block, tuple(math.prod(ins.path_shape) for ins in self.instructions))

    def _index_uvw(self, gi, mul, paths, blocks, offsets):
        """Per input block: a weight index ``(u, (p, v, w))`` gathering the paths' weights."""
        for blk in blocks:
            u_mul = self.irreps_in1[blk].mul
            idx = [[] for _ in range(u_mul)]
            for i in paths:
                ins = self.instructions[i]
                if ins.i_in1 != blk:
                    continue
                n = ins.path_shape[1] * mul
                for u in range(u_mul):
                    idx[u].extend(range(offsets[i] + u * n, offsets[i] + (u + 1) * n))
            self.register_buffer(f"_widx{gi}_{blk}", torch.tensor(idx).flatten(), persistent=False)

    # ------------------------------------------------------------------ forward
    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        check_irreps_input(self.irreps_in1, x1, "x1")
        check_irreps_input(self.irreps_in2, x2, "x2")
        weight = self._weight(weight)
        (x1, x2), batch, w = as_batch([x1, x2], weight if not self.shared_weights else None)
        if self.shared_weights:
            w = weight.to(x1.dtype) if weight is not None else None
        B = x1.shape[0]
        x1_blocks = torch.split(x1, self._dims1, dim=-1)
        blocks: dict[int, torch.Tensor] = {}
        for gi, g in enumerate(self._groups):
            cg, plan = getattr(self, f"_cg{gi}"), self._plans.get(gi)
            kernel = None if plan is None or torch.compiler.is_compiling() else _channelwise_kernel(x1)
            Z = None  # compiled kernels write the irreps layout
            if getattr(kernel, "irreps_layout", False):
                Z = kernel.apply(x1, w, x2, cg, plan)
            elif g.mode == "uvw" and self._compiled_rows(gi, x1, w):
                if w.dim() == 1:
                    xts, Ws, dims = self._uvw_operands(gi, g, x1_blocks, w, B)
                    Z = RowProduct.apply(x2, cg, self._row_plans[gi], dims, *xts, *Ws)
                else:
                    Z = PerSampleRowProduct.apply(x1, w, x2, cg, self._row_plans[gi], self._mixings[gi])
            if Z is not None:
                if len(self._groups) == 1 and list(g.outs) == list(range(len(self.irreps_out))):
                    return Z.reshape(batch + (self.irreps_out.dim,))
                zs = torch.split(Z, [g.mul * self.irreps_out[io].ir.dim for io in g.outs], 1)
            else:
                A = x2 @ cg.to(x2.dtype)
                if kernel is not None:  # eager: the hand-written PyTorch kernels
                    Z = kernel.apply(x1, w, A, plan)
                elif plan is not None:  # compiling: plain ops, which inductor fuses itself
                    Z = channelwise_reference(x1, w, A, plan)
                else:
                    A = A.view(B, g.width, g.contraction)
                    X = self._uvu_input(gi, g, x1_blocks, w, B) if g.mode == "uvu" else self._uvw_input(gi, g, x1_blocks, w, B)
                    Z = torch.bmm(A, X)  # (B, K, M): channels last
                dims = [self.irreps_out[io].ir.dim for io in g.outs]
                zs = [z.transpose(1, 2).reshape(B, g.mul * z.shape[1]) for z in torch.split(Z, dims, dim=1)]
            for io, z in zip(g.outs, zs):
                blocks[io] = blocks[io] + z if io in blocks else z
        parts = [blocks[i] if i in blocks else x1.new_zeros(B, mi.dim) for i, mi in enumerate(self.irreps_out)]
        out = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        return out.reshape(batch + (self.irreps_out.dim,))

    def _uvu_input(self, gi, g, x1_blocks, w, B):
        """:math:`X_{b, r, u}`, ``(B, D, U)``."""
        xs = [x1_blocks[blk].view(B, g.mul, self.irreps_in1[blk].ir.dim).transpose(1, 2) for blk in g.blocks1]
        x = torch.cat(xs, dim=1) if len(xs) > 1 else xs[0]  # (B, I1, U)
        start = self._wstart[gi]
        if start is not None:
            ws = w[..., start[0]:start[0] + start[1]]
        else:
            ws = w.index_select(-1, getattr(self, f"_widx{gi}"))
        ws = ws.unflatten(-1, (-1, g.mul))  # ([B,] sum V, U)
        return x.index_select(1, getattr(self, f"_rowx{gi}")) * ws.index_select(-2, getattr(self, f"_roww{gi}"))

    def _uvw_input(self, gi, g, x1_blocks, w, B):
        r""":math:`X_{b, (c, p, v), w} = \sum_u x_{b, u, c} W_{p, u, v, w}`, ``(B, D, M)``: one GEMM per
        block (shared weights), or one batched product per path on views of the per-sample weights."""
        if w.dim() == 1:
            rows = self._uvw_rows(gi, g, x1_blocks, w, B)
        else:
            mixing = self._mixings[gi]
            rows = per_sample_rows([x1_blocks[blk] for blk in g.blocks1], mixing.weight_views(w), mixing, B)
        parts = [X.view(B, X.shape[1] // g.mul, g.mul) for X in rows]
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]

    def _compiled_rows(self, gi, x1, w) -> bool:
        """Whether ``uvw`` group ``gi`` runs as generated loops: a large CPU batch, not too many
        terms, numba installed, not tracing for ``torch.compile``."""
        return (generated.worth_generating(len(self._row_plans[gi].terms), x1.shape[0])
                and compiled_available(x1) and not torch.compiler.is_compiling())

    def _uvw_operands(self, gi, g, x1_blocks, w, B):
        """Per input block: the block transposed to ``(B d_1, U)``, its paths' weights ``(U, N)``,
        and ``d_1``."""
        xts, Ws, dims = [], [], []
        for blk in g.blocks1:
            mul1, ir1 = self.irreps_in1[blk]
            Ws.append(w.index_select(-1, getattr(self, f"_widx{gi}_{blk}")).view(mul1, -1))
            xts.append(x1_blocks[blk].view(B, mul1, ir1.dim).transpose(1, 2).reshape(B * ir1.dim, mul1))
            dims.append(ir1.dim)
        return xts, Ws, tuple(dims)

    def _uvw_rows(self, gi, g, x1_blocks, w, B):
        r"""Per input block, :math:`X_{b, (c, p, v), w} = \sum_u x_{b, u, c} W_{p, u, v, w}` as
        ``(B, rows * M)``: the block transposed to ``(B d_1, U)``, times the weights, one GEMM."""
        xts, Ws, dims = self._uvw_operands(gi, g, x1_blocks, w, B)
        return mixed_rows(xts, Ws, dims, 0, B)

    def _weight(self, weight):
        if weight is None:
            if self.weight_numel == 0:
                return None
            if self.weight is None:
                raise ValueError(f"this TensorProduct has no internal weights: pass weight of shape "
                                 f"{'(' if self.shared_weights else '(..., '}{self.weight_numel},)")
            if self._fan_in_scale is not None:
                return self.weight / self._fan_in_scale.to(self.weight.dtype)
            return self.weight
        if not torch.is_tensor(weight):
            raise TypeError(f"weight must be a tensor, got {type(weight).__name__}")
        if weight.shape[-1:] != (self.weight_numel,) or (self.shared_weights and weight.dim() != 1):
            want = f"({self.weight_numel},)" if self.shared_weights else f"(..., {self.weight_numel})"
            raise ValueError(f"weight must have shape {want}, got {tuple(weight.shape)}")
        return weight

    def extra_repr(self):
        return (f"{self.irreps_in1} x {self.irreps_in2} -> {self.irreps_out}, {len(self.instructions)} paths, "
                f"weight_numel={self.weight_numel}, shared_weights={self.shared_weights}"
                + (f", weight_scale={self.weight_scale!r}" if self.weight_scale != "unit" else ""))


def _channelwise_kernel(x):
    """The fastest eager kernel for ``x``'s device and dtype: generated Triton on CUDA, numba
    loops on the CPU (each when installed, for float32 and float64; imported on first use),
    else PyTorch kernels."""
    if x.device.type == "cpu":
        if compiled_available(x):
            from symmetries.nn.o3.tensor_product.kernels._numba import NumbaChannelwiseProduct

            return NumbaChannelwiseProduct
        return SparseChannelwiseProduct
    if x.is_cuda and x.dtype in (torch.float32, torch.float64) and installed("triton"):
        from symmetries.nn.o3.tensor_product.kernels._triton import TritonChannelwiseProduct

        return TritonChannelwiseProduct
    return ChannelwiseProduct


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
