r"""Tensor products of O(3) irreps with explicit paths, fused into a few large matrix products.

A path (:class:`~symmetries.nn.o3.tensor_product.Instruction`) ``(i1, i2, i_out, mode)``
couples block ``i1`` of the first input with block ``i2`` of the second through the 3j
symbol :math:`C^{l_1 l_2 l_3}`:

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

Faster kernels replace steps 2-3 where they apply, chosen per group and per call by one
registry (:mod:`symmetries.nn.o3.tensor_product.kernels`, ``kernel=``): for channel-wise
groups (second input of multiplicity 1) loops over the nonzero 3j terms, compiled by numba
on the CPU (:mod:`~symmetries.nn.o3.tensor_product.kernels._numba`, generated per plan for
large batches by :mod:`~symmetries.nn.o3.tensor_product.kernels._generated`) or by Triton on
CUDA (:mod:`~symmetries.nn.o3.tensor_product.kernels._triton`); for ``uvw`` groups on the
CPU, loops generated for the group's terms
(:mod:`~symmetries.nn.o3.tensor_product.kernels._rows` for shared weights,
:mod:`~symmetries.nn.o3.tensor_product.kernels._per_sample` for per-sample weights, which
streams each sample's weights once).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from symmetries.o3 import Irreps
from symmetries.nn.o3._checks import as_batch, check_irreps_input
from symmetries.nn.o3.tensor_product._instruction import parse_instruction
from symmetries.nn.o3.tensor_product._plan import group_layout
from symmetries.nn.o3.tensor_product.kernels import check_kernel, select


class _Group(NamedTuple):
    kind: str  # 'channelwise', 'uvu' or 'uvw': which kernels can run it
    outs: tuple  # output blocks written by this group, in the order of its output's columns
    sizes: tuple  # their widths, M (2l+1) each
    plan: tuple  # the static operands of its kernels, after the 3j matrix
    index: tuple  # names of its index buffers, passed after the plan
    terms: int  # nonzero entries of its 3j matrix


class TensorProduct(nn.Module):
    r"""Tensor product ``x1 (x) x2 -> out`` along explicit paths,

    .. math::
        \text{uvw:}\quad z_{w k} = \alpha \sum_{uvij} W_{uvw} C_{ijk} x_{ui} y_{vj}
        \qquad \text{uvu:}\quad z_{u k} = \alpha \sum_{vij} W_{uv} C_{ijk} x_{ui} y_{vj},

    for each path from block :math:`x` of ``x1`` and :math:`y` of ``x2`` through the 3j symbol
    :math:`C^{l_1 l_2 l_{out}}`, summed over the paths into each output block (blocks no path
    writes are zero), with e3nn 0.6's normalization :math:`\alpha` and flat weight layout
    (``weight_numel`` weights, path by path).

    Args:
        irreps_in1, irreps_in2, irreps_out: irreps (strings or :class:`~symmetries.o3.Irreps`).
        instructions: ``(i_in1, i_in2, i_out, mode[, has_weight[, path_weight]])`` with
            ``mode`` in ``'uvw'`` (fully connected, weights ``(mul1, mul2, mul_out)``) or
            ``'uvu'`` (channel-wise, ``mul_out == mul1``, weights ``(mul1, mul2)``).
            Each must obey :math:`|l_1 - l_2| \le l_{out} \le l_1 + l_2` and
            :math:`p_1 p_2 = p_{out}`.
        in1_var, in2_var, out_var: the variance of each block of the inputs and the output
            (default: ones), as in e3nn.
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
        kernel: what runs the paths, per group of them, unless ``forward`` is told otherwise:
            ``'auto'`` (default: Triton on CUDA and numba loops on the CPU where installed and
            worth it, PyTorch otherwise and under ``torch.compile``), or one of ``'torch'``,
            ``'numba'``, ``'triton'``, which runs or raises (see
            :mod:`symmetries.nn.o3.tensor_product.kernels`). Not saved in the ``state_dict``.

    Shapes:
        - ``x1``: ``(..., irreps_in1.dim)``
        - ``x2``: ``(..., irreps_in2.dim)``
        - ``weight``: ``(weight_numel,)`` (shared) or ``(..., weight_numel)`` (per sample)
        - output: ``(..., irreps_out.dim)``, the leading dimensions broadcast
    """

    def __init__(self, irreps_in1, irreps_in2, irreps_out, instructions, in1_var=None, in2_var=None, out_var=None,
                 irrep_normalization: str = "component", path_normalization: str = "element",
                 internal_weights: bool | None = None, shared_weights: bool | None = None,
                 weight_scale: str = "unit", kernel: str = "auto"):
        super().__init__()
        self.irreps_in1, self.irreps_in2, self.irreps_out = Irreps(irreps_in1), Irreps(irreps_in2), Irreps(irreps_out)
        if irrep_normalization not in ("component", "norm", "none"):
            raise ValueError(f"irrep_normalization must be 'component', 'norm' or 'none', got {irrep_normalization!r}")
        if path_normalization not in ("element", "path", "none"):
            raise ValueError(f"path_normalization must be 'element', 'path' or 'none', got {path_normalization!r}")
        self.instructions = [parse_instruction(ins, self.irreps_in1, self.irreps_in2, self.irreps_out)
                             for ins in instructions]
        if shared_weights is False and internal_weights:
            raise ValueError("per-sample weights (shared_weights=False) cannot be internal")
        self.shared_weights = True if shared_weights is None else bool(shared_weights)
        self.internal_weights = self.shared_weights if internal_weights is None else bool(internal_weights)
        self.weight_numel = sum(math.prod(ins.path_shape) for ins in self.instructions)
        alphas = self._normalization(in1_var, in2_var, out_var, irrep_normalization, path_normalization)
        self._build(alphas)
        self.kernel = check_kernel(kernel, [g.kind for g in self._groups])
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
    def _inverse_sqrt_fan_in(self) -> torch.Tensor:
        r"""``(weight_numel,)``: each weight's :math:`1 / \sqrt{n}`, with :math:`n` the fan-in of its output block."""
        fan_in = [0] * len(self.irreps_out)
        for ins in self.instructions:
            fan_in[ins.i_out] += ins.num_elements
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
                x = sum(v1[i.i_in1] * v2[i.i_in2] * i.num_elements for i in same_out)
            elif path_norm == "path":
                x = v1[ins.i_in1] * v2[ins.i_in2] * ins.num_elements * len(same_out)
            else:
                x = 1.0
            if x > 0:
                alpha /= x
            alphas.append(math.sqrt(alpha * vo[ins.i_out] * ins.path_weight))
        return alphas

    def _build(self, alphas):
        """Group the paths by (mode, output multiplicity); register each group's normalized 3j
        matrix and index tensors as buffers, and keep its plan."""
        offsets, o = [], 0
        for ins in self.instructions:
            offsets.append(o)
            o += math.prod(ins.path_shape)
        keys = []
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
            kind, C, plan, index = group_layout(self, mode, mul, paths, blocks, outs, offsets, alphas)
            self.register_buffer(f"_cg{gi}", C, persistent=False)  # float64 until cast
            for name, t in index.items():
                self.register_buffer(f"_{name}{gi}", t, persistent=False)
            sizes = tuple(mul * self.irreps_out[io].ir.dim for io in outs)
            self._groups.append(_Group(kind, tuple(outs), sizes, plan, tuple(f"_{name}{gi}" for name in index),
                                       int(torch.count_nonzero(C))))

    # ------------------------------------------------------------------ forward
    def forward(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None, *,
                kernel: str | None = None) -> torch.Tensor:
        """The product of ``x1`` and ``x2`` along the paths.

        Args:
            x1, x2: the inputs, ``(..., irreps_in1.dim)`` and ``(..., irreps_in2.dim)``.
            weight: ``(weight_numel,)`` shared or ``(..., weight_numel)`` per-sample weights;
                ``None`` for the internal ones.
            kernel: for this call, instead of the module's ``kernel``: ``'auto'``, ``'torch'``,
                ``'numba'`` or ``'triton'``. A named kernel that cannot run here (not installed,
                another device, no loops for some of the paths) raises, naming the kernels that can.

        Returns:
            ``(..., irreps_out.dim)``, the leading dimensions broadcast (see the class's Shapes).
        """
        check_irreps_input(self.irreps_in1, x1, "x1")
        check_irreps_input(self.irreps_in2, x2, "x2")
        kernel = self.kernel if kernel is None else check_kernel(kernel, [g.kind for g in self._groups])
        weight = self._weight(weight)
        (x1, x2), batch, w = as_batch([x1, x2], weight if not self.shared_weights else None)
        if self.shared_weights:
            w = weight.to(x1.dtype) if weight is not None else None
        B = x1.shape[0]
        blocks: dict[int, torch.Tensor] = {}
        for gi, g in enumerate(self._groups):
            run = select(kernel, g.kind, x1, B, g.terms).run
            Z = run(x1, w, x2, getattr(self, f"_cg{gi}"), *g.plan, *(getattr(self, name) for name in g.index))
            if len(self._groups) == 1 and g.outs == tuple(range(len(self.irreps_out))):
                return Z.reshape(batch + (self.irreps_out.dim,))
            for io, z in zip(g.outs, torch.split(Z, g.sizes, dim=1)):
                blocks[io] = blocks[io] + z if io in blocks else z
        parts = [blocks[i] if i in blocks else x1.new_zeros(B, mi.dim) for i, mi in enumerate(self.irreps_out)]
        out = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        return out.reshape(batch + (self.irreps_out.dim,))

    def kernels_for(self, x1: torch.Tensor, x2: torch.Tensor, weight: torch.Tensor | None = None, *,
                    kernel: str | None = None) -> list[tuple[str, str]]:
        """``(kind, kernel)`` of each group of paths: what :meth:`forward` runs on inputs like these
        (their device, dtype and number of samples), without running it; raises as it would."""
        kernel = self.kernel if kernel is None else check_kernel(kernel, [g.kind for g in self._groups])
        shapes = [x1.shape[:-1], x2.shape[:-1]] + ([weight.shape[:-1]] if weight is not None and not self.shared_weights
                                                   else [])
        batch = math.prod(torch.broadcast_shapes(*shapes))
        return [(g.kind, select(kernel, g.kind, x1, batch, g.terms).name) for g in self._groups]

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
                + (f", weight_scale={self.weight_scale!r}" if self.weight_scale != "unit" else "")
                + (f", kernel={self.kernel!r}" if self.kernel != "auto" else ""))


class FullyConnectedTensorProduct(TensorProduct):
    r"""Every allowed path ``(i1, i2) -> i_out`` in mode ``'uvw'`` (all channels mixed): the
    :class:`TensorProduct` of those instructions,

    .. math::
        z_{w k} = \sum_{\text{paths}} \alpha \sum_{uvij} W_{uvw} C_{ijk}\, x^{(1)}_{ui} x^{(2)}_{vj}.

    Args:
        irreps_in1, irreps_in2, irreps_out: irreps (strings or :class:`~symmetries.o3.Irreps`).
        **kwargs: the other arguments of :class:`TensorProduct` (``shared_weights``,
            ``weight_scale``, ``kernel``, ...).

    Shapes:
        - as :class:`TensorProduct`: x1 ``(..., irreps_in1.dim)``, x2 ``(..., irreps_in2.dim)``
          -> ``(..., irreps_out.dim)``
    """

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
