"""Measure how far a function is from equivariance under a group."""

from __future__ import annotations

import torch

from symmetries._internal.tree import leaves
from symmetries.actions import Action, ProductAction, as_action, invariant
from symmetries.testing._report import APPROXIMATE_TOL, EquivarianceReport, ProductReport


def check_equivariance(f, act_in, act_out, inputs, n_samples: int = 64, generator: torch.Generator | None = None,
                       elements=None, exact_tol: float | None = None,
                       approximate_tol: float = APPROXIMATE_TOL) -> EquivarianceReport | ProductReport:
    r"""How far ``f`` is from equivariance,

    .. math::
        f(g \cdot x) = g \cdot f(x) \quad \text{for all } g \in G.

    Works on any callable: a module, a function, a model without symmetry built in. Finite
    groups with at most ``n_samples`` elements are checked exhaustively; otherwise
    ``n_samples`` random elements are drawn (``generator`` for reproducibility), or the
    given ``elements`` are used.

    How the inputs are passed:

    - one Action or Rep: ``f(inputs)``, whatever ``inputs`` is (a tensor, or a tuple / dict
      that the action knows the layout of, as :class:`~symmetries.actions.PointCloudAction`);
    - a tuple of Actions / Reps / ``None`` (unchanged): ``inputs`` is a tuple of as many
      arguments, each moved by its action, and ``f(*inputs)`` is called (``f(pos, batch)``
      with ``(PointCloudAction(SO3()), None)``); a dict likewise gives ``f(**inputs)``;
    - a list of actions, or a :class:`~symmetries.actions.ProductAction`: several symmetries
      at once (rotations and permutations of a point cloud), each checked on its own and
      reported per factor (a :class:`ProductReport`). ``act_out`` is then a list of the same
      length, a product with as many factors, or one action for every factor
      (``invariant()``).

    ``act_out`` follows the output the same way: one action, or a tuple / dict of them for a
    tuple / dict output. Use ``symmetries.actions.invariant()`` to test invariance.

    Args:
        f: the callable to check.
        act_in, act_out: how the group moves the inputs and the outputs (see above).
        inputs: a batch of inputs.
        n_samples: random elements for infinite (or large) groups (default: 64).
        generator: a ``torch.Generator`` for the random elements (default: the global one).
        elements: a batch of elements to use instead.
        exact_tol: largest relative error called exact (default: 1e4 times the output
            dtype's rounding unit, :func:`exact_tolerance`).
        approximate_tol: relative errors below it are approximate, above it absent
            (default: 0.1).

    Returns:
        an :class:`EquivarianceReport` (a :class:`ProductReport` for several symmetries);
        its verdict is ``"not finite"`` when ``f`` returns NaN or infinity.
    """
    kw = dict(n_samples=n_samples, generator=generator, elements=elements, exact_tol=exact_tol,
              approximate_tol=approximate_tol)
    factors_in = _factors(act_in)
    if factors_in is not None:
        factors_out = _factors(act_out) or [act_out] * len(factors_in)
        if len(factors_out) != len(factors_in):
            raise ValueError(f"{len(factors_in)} symmetries of the input but {len(factors_out)} of the output")
        if elements is not None:
            raise ValueError("elements= picks elements of one group; with several symmetries leave it unset")
        return ProductReport([check_equivariance(f, a, b, inputs, **kw) for a, b in zip(factors_in, factors_out)])
    call, act_in = _calling_convention(f, act_in, inputs)
    return _check(call, act_in, _as_structure(act_out, "act_out"), inputs, **kw)


def assert_equivariant(f, act_in, act_out, inputs, n_samples: int = 64, generator=None, rtol: float | None = None,
                       atol: float = 0.0, elements=None):
    """Raise ``AssertionError`` unless ``f`` is equivariant to ``rtol`` or ``atol``, or when
    its outputs are not finite.

    Args:
        f, act_in, act_out, inputs, n_samples, generator, elements: as
            :func:`check_equivariance`.
        rtol: the largest relative error allowed (default: 1e-10 in float64, 1e-5 in
            float32, 1e-2 in float16, 3e-2 in bfloat16).
        atol: passes instead when the largest absolute error is at most this (default: 0).

    Returns:
        The report of :func:`check_equivariance`.
    """
    report = check_equivariance(f, act_in, act_out, inputs, n_samples, generator, elements)
    tol = DEFAULT_RTOL.get(report.dtype, 1e-5) if rtol is None else rtol
    if report.verdict == "not finite" or not (report.max_rel_error <= tol or report.max_abs_error <= atol):
        raise AssertionError(f"not equivariant within rtol={tol:g}, atol={atol:g}: {report}")
    return report


DEFAULT_RTOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.float16: 1e-2, torch.bfloat16: 3e-2}


class _Arguments(Action):
    """Actions on the entries of a tuple or dict, one each (``None``: the entry is unchanged),
    all by the same element of one group."""

    def __init__(self, actions, name: str):
        self.actions = actions
        items = actions.items() if isinstance(actions, dict) else enumerate(actions)
        groups = {repr(a.group): a.group for _, a in items if a.group is not None}
        if len(groups) > 1:
            raise ValueError(f"the actions of {name} must share one group, got {', '.join(groups)}")
        self.group = next(iter(groups.values()), None)

    def act(self, g, x):
        if isinstance(self.actions, dict):
            if not isinstance(x, dict) or set(x) != set(self.actions):
                raise ValueError(f"expected a dict with keys {sorted(self.actions)}, got "
                                 f"{sorted(x) if isinstance(x, dict) else type(x).__name__}")
            return {k: self.actions[k].act(g, v) for k, v in x.items()}
        if not isinstance(x, (tuple, list)) or len(x) != len(self.actions):
            raise ValueError(f"expected a tuple of {len(self.actions)} entries, got "
                             f"{len(x) if isinstance(x, (tuple, list)) else type(x).__name__}")
        return tuple(a.act(g, v) for a, v in zip(self.actions, x))

    def distance(self, a, b):
        keys = list(self.actions) if isinstance(self.actions, dict) else range(len(self.actions))
        parts = [self.actions[k].distance(a[k], b[k]) for k in keys]
        return torch.stack([e.max() for e, _ in parts]).max()[None], torch.stack([s.max() for _, s in parts]).max()[None]


def _factors(act):
    if isinstance(act, ProductAction):
        return act.factors
    return list(act) if isinstance(act, list) else None


def _as_structure(act, name: str) -> Action:
    if isinstance(act, tuple):
        return _Arguments(tuple(invariant() if a is None else as_action(a) for a in act), name)
    if isinstance(act, dict):
        return _Arguments({k: invariant() if a is None else as_action(a) for k, a in act.items()}, name)
    return as_action(act)


def _calling_convention(f, act_in, inputs):
    """``(call, action)``: ``f(*x)`` for a tuple of actions, ``f(**x)`` for a dict, else ``f(x)``."""
    if isinstance(act_in, tuple):
        if not isinstance(inputs, (tuple, list)) or len(inputs) != len(act_in):
            raise ValueError(f"act_in is a tuple of {len(act_in)} actions, one per argument of f, so inputs must be a "
                             f"tuple of {len(act_in)} arguments, got "
                             f"{f'{len(inputs)} entries' if isinstance(inputs, (tuple, list)) else type(inputs).__name__}")
        return (lambda x: f(*x)), _as_structure(act_in, "act_in")
    if isinstance(act_in, dict):
        if not isinstance(inputs, dict) or set(inputs) != set(act_in):
            raise ValueError(f"act_in is a dict of actions for keyword arguments {sorted(act_in)}, so inputs must "
                             f"be a dict with those keys, got "
                             f"{sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__}")
        return (lambda x: f(**x)), _as_structure(act_in, "act_in")
    return f, as_action(act_in)


def _check(call, act_in, act_out, inputs, n_samples, generator, elements, exact_tol, approximate_tol):
    G = act_in.group
    if G is None:
        raise ValueError("act_in leaves the inputs unchanged (no group): nothing to check")
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
    reference = call(inputs)
    dtype = _dtype(reference)
    nonfinite = _nonfinite(reference, "f(x)")
    abs_errs, rel_errs = [], []
    for i in range(n if nonfinite is None else 0):
        g = G.select(elements, i)
        moved = call(act_in.act(_to_device(g, inputs), inputs))
        nonfinite = _nonfinite(moved, f"f(g x) at g = {G.describe(g)}")
        if nonfinite is not None:
            break
        expected = act_out.act(_to_device(g, reference), reference)
        err, scale = act_out.distance(moved, expected)
        err, scale = err.detach().max().double(), scale.detach().max().double()
        abs_errs.append(err)
        rel_errs.append(err / scale.clamp_min(torch.finfo(torch.float64).tiny))
    if nonfinite is not None:
        nan = float("nan")
        return EquivarianceReport(nan, nan, nan, nan, G.select(elements, 0), n, G, dtype, exhaustive,
                                  torch.full((n,), nan, dtype=torch.float64), exact_tol, approximate_tol, nonfinite)
    abs_errs, rel_errs = torch.stack(abs_errs).cpu(), torch.stack(rel_errs).cpu()
    worst = int(rel_errs.argmax())
    return EquivarianceReport(
        max_abs_error=float(abs_errs.max()), mean_abs_error=float(abs_errs.mean()),
        max_rel_error=float(rel_errs.max()), mean_rel_error=float(rel_errs.mean()),
        worst_element=G.select(elements, worst), n_samples=n, group=G, dtype=dtype,
        exhaustive=exhaustive, per_element_rel_error=rel_errs, exact_tol=exact_tol, approximate_tol=approximate_tol,
    )


def _nonfinite(y, what: str) -> str | None:
    """``None`` when every floating value of ``y`` is finite, else where and how many are not."""
    floats = [t.detach() for t in leaves(y) if t.is_floating_point() or t.is_complex()]
    bad = sum(int((~torch.isfinite(t)).sum()) for t in floats)
    if not bad:
        return None
    nan = sum(int(torch.isnan(t).sum()) for t in floats)
    return f"{what} has {bad} non-finite values of {sum(t.numel() for t in floats)} ({nan} nan, {bad - nan} inf)"


def _dtype(x):
    floats = [t.dtype for t in leaves(x) if t.is_floating_point() or t.is_complex()]
    return floats[0] if floats else torch.float64


def _to_device(g, x):
    ts = leaves(x)
    if not ts:
        return g
    dev = ts[0].device
    if isinstance(g, tuple):
        return tuple(_to_device(t, x) for t in g)
    return g.to(dev)
