"""Measure how far a function is from equivariance under a group."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from symmetries._internal.tree import leaves
from symmetries.actions import as_action


@dataclass
class EquivarianceReport:
    r"""Errors of :math:`f(g \cdot x)` against :math:`g \cdot f(x)` over sampled elements.

    ``max_abs_error`` / ``mean_abs_error``: largest / mean over elements of the max-abs
    difference over the batch. ``max_rel_error`` / ``mean_rel_error``: the same divided by
    the max-abs size of :math:`g \cdot f(x)` over the batch. ``worst_element``: the element
    (a batch of one) with the largest relative error.
    """

    max_abs_error: float
    mean_abs_error: float
    max_rel_error: float
    mean_rel_error: float
    worst_element: object
    n_samples: int
    group: object
    dtype: torch.dtype
    exhaustive: bool
    per_element_rel_error: torch.Tensor = field(repr=False)

    @property
    def verdict(self) -> str:
        """``"exact"`` (rounding level), ``"approximate"`` (< 10%) or ``"absent"``."""
        eps = torch.finfo(self.dtype).eps if self.dtype.is_floating_point else 1e-16
        if self.max_rel_error <= 1e4 * eps:
            return "exact"
        return "approximate" if self.max_rel_error < 0.1 else "absent"

    def __str__(self):
        how = f"all {self.n_samples} elements" if self.exhaustive else f"{self.n_samples} random elements"
        worst = _short(self.worst_element)
        return (f"{self.verdict}: max_rel_error {self.max_rel_error:.3g}, max_abs_error {self.max_abs_error:.3g} "
                f"(mean rel {self.mean_rel_error:.3g}) over {how} of {self.group!r}, worst at {worst}")


def _short(g):
    if isinstance(g, tuple):
        return "(" + ", ".join(_short(x) for x in g) + ")"
    t = g[0] if torch.is_tensor(g) and g.dim() and g.shape[0] == 1 else g
    if torch.is_tensor(t) and t.numel() > 9:
        return f"tensor of shape {tuple(t.shape)}"
    return str(t.tolist() if torch.is_tensor(t) else t).replace("\n", " ")


def check_equivariance(f, act_in, act_out, inputs, n_samples: int = 64, generator: torch.Generator | None = None,
                       elements=None) -> EquivarianceReport:
    r"""How far ``f`` is from :math:`f(g \cdot x) = g \cdot f(x)`.

    ``act_in`` / ``act_out`` are Actions or Reps (a Rep acts on ``(..., dim)``); use
    ``symmetries.actions.invariant()`` as ``act_out`` to test invariance. Finite groups with
    at most ``n_samples`` elements are checked exhaustively; otherwise ``n_samples`` random
    elements are drawn (``generator`` for reproducibility), or the given ``elements`` are used.
    Works on any callable: a module, a function, a model without symmetry built in.
    """
    act_in, act_out = as_action(act_in), as_action(act_out)
    G = act_in.group
    if act_out.group is not None and act_out.group != G:
        raise ValueError(f"act_in acts by {G!r} but act_out by {act_out.group!r}: they must share one group")
    exhaustive = False
    if elements is None:
        if G.order is not None and G.order <= n_samples:
            elements, exhaustive = G.elements(), True
        else:
            elements = G.sample(n_samples, generator=generator)
    else:
        G.check(elements)
    n = G.batch_size(elements)
    reference = f(inputs)
    abs_errs, rel_errs = [], []
    for i in range(n):
        g = G.select(elements, i)
        moved = f(act_in.act(_to_device(g, inputs), inputs))
        expected = act_out.act(_to_device(g, reference), reference)
        err, scale = act_out.distance(moved, expected)
        err, scale = err.detach().max().double(), scale.detach().max().double()
        abs_errs.append(err)
        rel_errs.append(err / scale.clamp_min(torch.finfo(torch.float64).tiny))
    abs_errs, rel_errs = torch.stack(abs_errs).cpu(), torch.stack(rel_errs).cpu()
    worst = int(rel_errs.argmax())
    return EquivarianceReport(
        max_abs_error=float(abs_errs.max()), mean_abs_error=float(abs_errs.mean()),
        max_rel_error=float(rel_errs.max()), mean_rel_error=float(rel_errs.mean()),
        worst_element=G.select(elements, worst), n_samples=n, group=G, dtype=_dtype(reference),
        exhaustive=exhaustive, per_element_rel_error=rel_errs,
    )


def _dtype(x):

    floats = [t.dtype for t in leaves(x) if t.is_floating_point()]
    return floats[0] if floats else torch.float64


def _to_device(g, x):

    ts = leaves(x)
    if not ts:
        return g
    dev = ts[0].device
    if isinstance(g, tuple):
        return tuple(_to_device(t, x) for t in g)
    return g.to(dev)


DEFAULT_RTOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 3e-2}


def assert_equivariant(f, act_in, act_out, inputs, n_samples: int = 64, generator=None, rtol: float | None = None,
                       atol: float = 0.0, elements=None) -> EquivarianceReport:
    """Raise ``AssertionError`` unless ``f`` is equivariant to ``rtol`` (relative; by default
    1e-10 in float64, 1e-5 in float32) or ``atol`` (absolute). Returns the report."""
    report = check_equivariance(f, act_in, act_out, inputs, n_samples, generator, elements)
    tol = DEFAULT_RTOL.get(report.dtype, 1e-5) if rtol is None else rtol
    if not (report.max_rel_error <= tol or report.max_abs_error <= atol):
        raise AssertionError(f"not equivariant within rtol={tol:g}, atol={atol:g}: {report}")
    return report
