r"""Steerable and group convolutions between field types.

The filter is :math:`K = \sum_n w_n \kappa_n` over the kernel basis of each pair of field
reps (:func:`~symmetries.nn.images.kernel_basis`), and the bias has one coefficient per
invariant direction of each output field: both are expanded by
:class:`~symmetries.reps.BlockBasisExpansion`, the kernel taps being its trailing axes. The
learned parameters are the coefficients. The filter is expanded at every forward pass in
training mode and cached in evaluation mode for inference (no grad). The cache is not part
of the ``state_dict``, which is therefore the same in both modes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from symmetries.nn.images._basis import check_kernel_group, invariant_vectors, kernel_basis
from symmetries.nn.images._field import FieldType
from symmetries.reps import BlockBasisExpansion


def is_fx_proxy(x) -> bool:
    """``True`` while ``torch.fx`` traces the module (input checks are skipped then)."""
    return isinstance(x, torch.fx.Proxy)


class R2Conv(nn.Module):
    r"""Steerable convolution ``in_type -> out_type`` on the plane, equivariant to the
    field types' point group and to translations,

    .. math::
        y = K \star x + b, \qquad K = \sum_n w_n \kappa_n, \qquad
        \kappa_n(g u) = \rho_{out}(g)\, \kappa_n(u)\, \rho_{in}(g)^{-1},

    over the kernel basis :math:`\kappa_n` (:func:`~symmetries.nn.images.kernel_basis`) of
    each pair of field reps. Rotations by multiples of 90 degrees and flips are exact when the
    input is square and, for ``stride > 1``, ``(H + 2 padding - dilation (k - 1) - 1)`` is
    divisible by the stride (e.g. odd ``H``, stride 2). Parameters: ``weight`` (all basis
    coefficients, flat; generalized He initialization, see :meth:`reset_parameters`) and
    ``bias``. :meth:`export` returns an equivalent plain ``torch.nn.Conv2d``.

    Args:
        in_type: the :class:`~symmetries.nn.images.FieldType` of the input.
        out_type: the field type of the output, over the same planar group (Cyclic, Dihedral,
            SO2, O2).
        kernel_size: ``k``, odd.
        stride: as in ``Conv2d`` (default: 1).
        padding: zero padding on each side (default: ``None``,
            ``dilation * (kernel_size - 1) // 2``, "same" for stride 1).
        dilation: as in ``Conv2d`` (default: 1).
        bias: learn one constant per invariant direction of each output field (regular and
            trivial fields get one; non-trivial irreps none) (default: ``True``).
        basis: ``"harmonic"`` (default; steerable, any planar group) or ``"grid"`` (every
            pixel free, p4/p4m G-CNN).
        sigma: the ring width in pixels of the harmonic basis (default: 0.6).
        max_frequency: a cap on the angular frequency of the harmonic basis (default:
            ``None``, escnn's band limit).
        output_padding: only for :class:`R2ConvTranspose` (default: 0).

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``
        - **output:** ``(B, out_type.size, H', W')``, with ``Conv2d``'s sizes
          ``H' = (H + 2 padding - dilation (k - 1) - 1) // stride + 1``

    Raises:
        TypeError: if a type is not a ``FieldType`` or the group is not planar.
        ValueError: for types over different groups, an even ``kernel_size``, or when no
            equivariant kernel maps ``in_type`` to ``out_type``.
    """

    transposed = False

    def __init__(self, in_type: FieldType, out_type: FieldType, kernel_size: int, stride: int = 1,
                 padding: int | None = None, dilation: int = 1, bias: bool = True, basis: str = "harmonic",
                 sigma: float = 0.6, max_frequency: int | None = None, output_padding: int = 0):
        super().__init__()
        for name, t in (("in_type", in_type), ("out_type", out_type)):
            if not isinstance(t, FieldType):
                raise TypeError(f"{name} must be a FieldType, got {type(t).__name__}")
        if in_type.group != out_type.group:
            raise ValueError(f"in_type is over {in_type.group!r} but out_type over {out_type.group!r}")
        check_kernel_group(in_type.group)
        k = int(kernel_size)
        if k < 1 or k % 2 == 0:
            raise ValueError(f"kernel_size must be odd (an even kernel is not centred on a pixel, so rotations "
                             f"cannot map it to itself and its equivariant basis is empty), got {kernel_size}")
        self.in_type, self.out_type, self.kernel_size = in_type, out_type, k
        self.stride, self.dilation = int(stride), int(dilation)
        self.padding = self.dilation * (k - 1) // 2 if padding is None else int(padding)
        self.output_padding = int(output_padding)
        self.basis_kind = basis

        def kernels(ri, ro):  # scaled so that unit-entry-scale coefficients give the He variance
            B = kernel_basis(ri, ro, k, basis, float(sigma), max_frequency)
            return B * (self._pair_std(ro.dim, ri.dim, len(B)) / self._entry_std()) if len(B) else B

        self.expansion = BlockBasisExpansion(in_type.rep, out_type.rep, kernels, bias, _unit_invariants)
        if self.expansion.weight_numel == 0:
            raise ValueError(f"no equivariant kernel maps {in_type!r} to {out_type!r} with kernel_size {k} "
                             f"(max_frequency {max_frequency}): use a larger kernel or other field types")
        self.weight = nn.Parameter(torch.empty(self.expansion.weight_numel))
        if self.expansion.bias_numel:
            self.bias = nn.Parameter(torch.zeros(self.expansion.bias_numel))
            # the bias is stored field by field; the expansion lists it grouped by rep
            by_field = torch.argsort(self.expansion.bias_summand, stable=True)
            self.register_buffer("_bias_index", torch.argsort(by_field), persistent=False)
        else:
            self.register_parameter("bias", None)
        self._cache = None
        self.reset_parameters()

    def _pair_std(self, d_o: int, d_i: int, nb: int) -> float:
        r"""Coefficient std for the orthonormal basis of one pair of field reps that gives every
        output channel variance about 2 for unit-variance inputs (generalized He init):
        :math:`\sigma^2 = 2 d_{out} d_{in} / (n_{basis} C_{in})`."""
        return (2.0 * d_o * d_i / (nb * self.in_type.size)) ** 0.5

    def _entry_std(self) -> float:
        """He std of one entry of a plain ``Conv2d`` filter with the same input channels."""
        return (2.0 / (self.in_type.size * self.kernel_size**2)) ** 0.5

    def reset_parameters(self) -> None:
        r"""Generalized He initialization. The stored basis is scaled by
        :math:`\sigma_{pair} / \sigma_{entry}`, so the coefficients start with the std of a plain
        ``Conv2d``'s entries (:math:`\sqrt{2 / (C_{in} k^2)}`) and optimizers such as Adam move
        them at the same relative rate as a plain convolution's weights."""
        with torch.no_grad():
            self.weight.normal_(0.0, self._entry_std())
            if self.bias is not None:
                self.bias.zero_()
        self._cache = None

    # ------------------------------------------------------------ the filter
    def expand(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The full filter and bias from the coefficients (with gradients).

        Returns:
            ``(filter, bias)``: the filter ``(out_type.size, in_type.size, k, k)`` and the bias
            ``(out_type.size,)``, or ``None`` without bias.
        """
        filt = self.expansion(self.weight)
        bias = None if self.bias is None else self.expansion.bias_vector(self.bias[self._bias_index])
        return filt, bias

    def _filter(self):
        if self.training or torch.is_grad_enabled() or torch.compiler.is_compiling():
            self._cache = None
            return self.expand()
        w = self.weight
        key = (w._version, w.data_ptr(), w.dtype, w.device,
               None if self.bias is None else (self.bias._version, self.bias.data_ptr()))
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self.expand())
        return self._cache[1]

    def train(self, mode: bool = True):
        self._cache = None
        return super().train(mode)

    def _apply(self, fn, *args, **kwargs):
        self._cache = None
        return super()._apply(fn, *args, **kwargs)

    # ------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not is_fx_proxy(x):
            self.in_type.check(x)
        filt, bias = self._filter()
        return F.conv2d(x, filt, bias, self.stride, self.padding, self.dilation)

    def export(self) -> nn.Conv2d:
        """A plain ``torch.nn.Conv2d`` holding the expanded filter (same outputs)."""
        with torch.no_grad():
            filt, bias = self.expand()
        conv = nn.Conv2d(self.in_type.size, self.out_type.size, self.kernel_size, self.stride, self.padding,
                         self.dilation, bias=bias is not None, device=filt.device, dtype=filt.dtype)
        with torch.no_grad():
            conv.weight.copy_(filt)
            if bias is not None:
                conv.bias.copy_(bias)
        return conv

    @property
    def basis_size(self) -> int:
        """Number of learned filter coefficients."""
        return self.weight.numel()

    def extra_repr(self):
        return (f"{self.in_type!r} -> {self.out_type!r}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, basis={self.basis_kind!r}, "
                f"coefficients={self.weight.numel()}")


def _unit_invariants(rep) -> torch.Tensor:
    """The invariant directions of a field, each scaled to largest entry 1 (a constant on a
    regular field, like a plain convolution's bias)."""
    U = invariant_vectors(rep)
    return U / U.abs().amax(1, keepdim=True)


class GroupConv2d(R2Conv):
    r"""Group convolution on the pixel grid (G-CNN, Cohen & Welling 2016): ``p4`` for
    ``Cyclic(4)``, ``p4m`` for ``Dihedral(4)`` (also C1, C2, D1, D2).

    With ``in_type`` trivial fields it is the lifting convolution; between regular fields
    the group convolution. Every pixel of the filter is a free parameter up to the constraint

    .. math::
        K(g u) = \rho_{out}(g)\, K(u)\, \rho_{in}(g)^{-1} \quad \text{for every pixel offset } u

    (the ``"grid"`` basis of :class:`R2Conv`), so it is exactly equivariant on the grid.

    Args:
        in_type: the :class:`~symmetries.nn.images.FieldType` of the input.
        out_type: the field type of the output, over the same group.
        kernel_size: ``k``, odd.
        stride: as in ``Conv2d`` (default: 1).
        padding: zero padding on each side (default: ``None``, ``dilation * (k - 1) // 2``).
        dilation: as in ``Conv2d`` (default: 1).
        bias: learn one constant per invariant direction of each output field (default: ``True``).

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``
        - **output:** ``(B, out_type.size, H', W')``, as :class:`R2Conv`
    """

    def __init__(self, in_type: FieldType, out_type: FieldType, kernel_size: int, stride: int = 1,
                 padding: int | None = None, dilation: int = 1, bias: bool = True):
        super().__init__(in_type, out_type, kernel_size, stride, padding, dilation, bias, basis="grid")


class R2ConvTranspose(R2Conv):
    r"""Transposed steerable convolution (for decoders): the adjoint-shaped upsampling map
    ``in_type -> out_type`` with an equivariant filter :math:`K` (as :class:`R2Conv`'s),
    applied as ``conv_transpose2d`` with the filter flipped and its channel axes swapped.
    :meth:`export` gives a plain ``torch.nn.ConvTranspose2d``.

    Args:
        in_type, out_type, kernel_size: as :class:`R2Conv`.
        stride, padding, dilation: as :class:`R2Conv` (``padding`` by default
            ``dilation * (kernel_size - 1) // 2``).
        bias, basis, sigma, max_frequency: as :class:`R2Conv`.
        output_padding: extra rows and columns on one side of the output, as in
            ``ConvTranspose2d`` (default: 0; keep it 0 for exact 90-degree rotations).

    Shapes:
        - **input:** ``(B, in_type.size, H, W)``
        - **output:** ``(B, out_type.size, H', W')`` with
          ``H' = (H - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1``; the
          default padding gives ``(H - 1) stride + 1`` (odd ``H`` stays odd, so 90-degree
          rotations stay exact)
    """

    transposed = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not is_fx_proxy(x):
            self.in_type.check(x)
        filt, bias = self._filter()
        weight = filt.flip(-1, -2).transpose(0, 1)
        return F.conv_transpose2d(x, weight, bias, self.stride, self.padding, self.output_padding, 1, self.dilation)

    def export(self) -> nn.ConvTranspose2d:
        """A plain ``torch.nn.ConvTranspose2d`` with the same outputs."""
        with torch.no_grad():
            filt, bias = self.expand()
        conv = nn.ConvTranspose2d(self.in_type.size, self.out_type.size, self.kernel_size, self.stride,
                                  self.padding, self.output_padding, 1, bias is not None, self.dilation,
                                  device=filt.device, dtype=filt.dtype)
        with torch.no_grad():
            conv.weight.copy_(filt.flip(-1, -2).transpose(0, 1))
            if bias is not None:
                conv.bias.copy_(bias)
        return conv
