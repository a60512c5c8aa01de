r"""One registry for the kernels that run a tensor product's groups of paths.

A :class:`~symmetries.nn.o3.TensorProduct` runs its paths in groups, and a group's *kind*
decides which kernels can run it:

===============  ====================================================  =========================
kind             paths                                                 kernels, fastest first
===============  ====================================================  =========================
``channelwise``  ``'uvu'``, second input of multiplicity 1 (message    ``triton``, ``numba``,
                 passing), each input block's weights in order         ``torch``
``uvu``          the other ``'uvu'`` paths                             ``torch``
``uvw``          fully connected, shared or per-sample weights         ``numba``, ``torch``
===============  ====================================================  =========================

A kernel runs on some inputs only:

- ``torch``: PyTorch ops, on any device and dtype (sparse multiply-adds on the CPU, batched
  products elsewhere, plain ops that inductor fuses under ``torch.compile``);
- ``numba``: loops compiled for the CPU (float32 and float64, with numba installed);
- ``triton``: kernels generated for CUDA (float32 and float64, with triton installed).

``kernel="auto"`` takes, per group and per call, the first kernel that runs on the input and
pays off at its size: the loops generated for ``uvw`` groups compile in seconds, so they are
taken for batches of at least :data:`~symmetries.nn.o3.tensor_product.kernels._generated.MIN_BATCH`
samples and groups of at most
:data:`~symmetries.nn.o3.tensor_product.kernels._generated.MAX_TERMS` 3j terms. While
``torch.compile`` traces, ``auto`` is ``torch``, whose ops inductor fuses. A kernel asked for
by name runs at any size, or raises an error naming what it needs and the kernels that can
run there: never a silent fallback. Under ``torch.compile``, ``numba`` and ``triton`` asked
for by name run outside the traced graph (a graph break; ``fullgraph=True`` refuses it).

Every kernel of a kind takes the same operands, ``run(x1, w, x2, cg, *plan)`` (the group's
normalized 3j matrix ``cg``, then its plan and index tensors), and returns the group's output
blocks side by side in the irreps layout, ``(B, sum_o M (2 l_o + 1))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch

from symmetries._internal import compiled
from symmetries.nn.o3.tensor_product.kernels._dense import dense_uvu, irreps_layout
from symmetries.nn.o3.tensor_product.kernels._generated import worth_generating
from symmetries.nn.o3.tensor_product.kernels._per_sample import PerSampleRowProduct, per_sample_rows
from symmetries.nn.o3.tensor_product.kernels._rows import RowProduct, mixed_rows, row_reference
from symmetries.nn.o3.tensor_product.kernels._sparse import SparseChannelwiseProduct
from symmetries.nn.o3.tensor_product.kernels._torch import ChannelwiseProduct, channelwise_reference

#: the names ``kernel=`` takes
KERNELS = ("auto", "torch", "numba", "triton")

#: what each kind of group holds, for error messages
_PATHS = {"channelwise": "channel-wise 'uvu' paths (second input of multiplicity 1)",
          "uvu": "'uvu' paths with a second input of multiplicity > 1 or weights out of order",
          "uvw": "fully connected 'uvw' paths"}
#: what a compiled kernel needs: (device type, package, in words)
_NEEDS = {"numba": ("cpu", "numba", "CPU float32/float64 inputs and numba installed"),
          "triton": ("cuda", "triton", "CUDA float32/float64 inputs and triton installed")}


def _always(terms: int, batch: int) -> bool:
    return True


class Kernel(NamedTuple):
    """One kernel for one kind of group: its ``name``, ``run(x1, w, x2, cg, *plan)`` ->
    ``(B, sum_o M (2 l_o + 1))``, and ``pays_off(terms, batch)``, whether ``auto`` takes it for a
    group of ``terms`` nonzero 3j entries and a batch of ``batch`` samples."""
    name: str
    run: Callable[..., torch.Tensor]
    pays_off: Callable[[int, int], bool] = _always


def _channelwise_torch(x1, w, x2, cg, plan):
    """Sparse multiply-adds on the CPU, batched products elsewhere, plain ops under torch.compile."""
    A = x2 @ cg.to(x2.dtype)
    if torch.compiler.is_compiling():  # plain ops, which inductor fuses itself
        Z = channelwise_reference(x1, w, A, plan)
    elif x1.device.type == "cpu":
        Z = SparseChannelwiseProduct.apply(x1, w, A, plan)
    else:
        Z = ChannelwiseProduct.apply(x1, w, A, plan)
    return irreps_layout(Z, [d3 for _, d3, _, _, _ in plan.outs])


#: numba's and Triton's kernels run outside torch.compile's graph (a graph break)
_outside_graph = torch.compiler.disable(reason="kernel='numba' and 'triton' run outside torch.compile's graph; "
                                               "kernel='auto' or 'torch' compiles")


@_outside_graph
def _channelwise_numba(x1, w, x2, cg, plan):
    from symmetries.nn.o3.tensor_product.kernels._numba import NumbaChannelwiseProduct  # imports numba

    return NumbaChannelwiseProduct.apply(x1, w, x2, cg, plan)


@_outside_graph
def _channelwise_triton(x1, w, x2, cg, plan):
    from symmetries.nn.o3.tensor_product.kernels._triton import TritonChannelwiseProduct  # imports triton

    return TritonChannelwiseProduct.apply(x1, w, x2, cg, plan)


def _uvw_torch(x1, w, x2, cg, plan, mixing):
    """The rows by one GEMM per input block (shared weights) or one batched product per path
    on views of the per-sample weights, then one batched product with the 3j symbols."""
    if w.dim() == 1:
        rows = mixed_rows(*mixing.shared_operands(x1, w), 0, x1.shape[0])
    else:
        rows = per_sample_rows(x1, w, mixing)
    return row_reference(x2, cg, plan, rows)


@_outside_graph
def _uvw_numba(x1, w, x2, cg, plan, mixing):
    if w.dim() == 1:
        xts, Ws, dims = mixing.shared_operands(x1, w)
        return RowProduct.apply(x2, cg, plan, dims, *xts, *Ws)
    return PerSampleRowProduct.apply(x1, w, x2, cg, plan, mixing)


#: kind -> its kernels, fastest first ("torch" last: it runs everywhere)
_KERNELS = {
    "channelwise": (Kernel("triton", _channelwise_triton), Kernel("numba", _channelwise_numba),
                    Kernel("torch", _channelwise_torch)),
    "uvu": (Kernel("torch", dense_uvu),),
    "uvw": (Kernel("numba", _uvw_numba, worth_generating), Kernel("torch", _uvw_torch)),
}


def _check_name(kernel) -> None:
    if not isinstance(kernel, str) or kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(map(repr, KERNELS))}, got {kernel!r}")


def _find(kernel: str, kind: str) -> Kernel:
    """The kernel named ``kernel`` (not ``'auto'``) for groups of ``kind``, or a ``ValueError``."""
    for k in _KERNELS[kind]:
        if k.name == kernel:
            return k
    names = ", ".join(repr(k.name) for k in _KERNELS[kind])
    raise ValueError(f"kernel={kernel!r} has no loops for {_PATHS[kind]}, which this product holds; "
                     f"kernels for them: {names} (kernel='auto' picks among them)")


@_outside_graph
def _missing(kernel: str, x: torch.Tensor) -> str | None:
    """Why the compiled ``kernel`` (``'numba'`` or ``'triton'``) cannot run on inputs like ``x``
    (device, dtype, package installed), or ``None`` where it can."""
    device, package, _ = _NEEDS[kernel]
    if x.device.type != device:
        return f"the input is on {x.device.type}"
    if x.dtype not in (torch.float32, torch.float64):
        return f"the input is {x.dtype}"
    if not compiled.installed(package):  # looked up at each call: tests stand in for it
        return f"{package} is not installed"
    return None


def _runs_on(kernel: str, x: torch.Tensor) -> bool:
    return kernel not in _NEEDS or _missing(kernel, x) is None


def check_kernel(kernel: str, kinds=()) -> str:
    """``kernel``, when it is ``'auto'`` or names a kernel for every kind in ``kinds``; else a
    ``ValueError`` naming the choices."""
    _check_name(kernel)
    if kernel != "auto":
        for kind in kinds:
            _find(kernel, kind)
    return kernel


def select(kernel: str, kind: str, x: torch.Tensor, batch: int, terms: int) -> Kernel:
    """The kernel that runs a group of ``kind`` (``terms`` nonzero 3j entries) on ``batch``
    samples like ``x`` (device, dtype): ``kernel`` itself, or for ``'auto'`` the first of the
    kind's kernels that runs there and pays off. A named kernel that cannot run raises a
    ``RuntimeError`` naming the reason and the kernels that can."""
    _check_name(kernel)
    if kernel == "auto":
        if torch.compiler.is_compiling():
            return _find("torch", kind)
        return next(k for k in _KERNELS[kind] if _runs_on(k.name, x) and k.pays_off(terms, batch))
    chosen = _find(kernel, kind)
    reason = _missing(kernel, x) if kernel in _NEEDS else None
    if reason is not None:
        here = ", ".join(repr(k.name) for k in _KERNELS[kind] if _runs_on(k.name, x))
        raise RuntimeError(f"kernel={kernel!r} cannot run here: it needs {_NEEDS[kernel][2]}, and {reason}; "
                           f"kernels that can run these {_PATHS[kind]} here: {here} (kernel='auto' picks "
                           f"among them)")
    return chosen
