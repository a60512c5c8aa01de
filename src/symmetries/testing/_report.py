"""What the checker found: errors, a verdict with its thresholds, and the worst element in words."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

#: relative error below which a symmetry counts as approximate (unless the caller sets another)
APPROXIMATE_TOL = 0.1


def exact_tolerance(dtype: torch.dtype) -> float:
    """The default relative error of an exact symmetry: ``1e4`` times the dtype's rounding
    unit (2.2e-12 in float64, 1.2e-3 in float32), room for the rounding of deep models.

    Args:
        dtype: the output dtype (a non-floating dtype counts as float64).

    Returns:
        The tolerance, a ``float``.
    """
    return 1e4 * torch.finfo(dtype if dtype.is_floating_point or dtype.is_complex else torch.float64).eps


@dataclass
class EquivarianceReport:
    r"""Errors of :math:`f(g \cdot x)` against :math:`g \cdot f(x)` over group elements,
    built by :func:`check_equivariance`.

    For each element the error is the max-abs difference over the batch, and the relative
    error divides it by the max-abs size of :math:`g \cdot f(x)`:

    .. math::
        e_{rel}(g) = \frac{\max |f(g \cdot x) - g \cdot f(x)|}{\max |g \cdot f(x)|}.

    ``max_*`` / ``mean_*`` are taken over the elements. The verdict compares
    ``max_rel_error`` with the thresholds:

    - ``"exact"``: at most ``exact_tol`` (rounding level; by default 1e4 times the dtype's
      rounding unit, see :func:`exact_tolerance`, and at most a tenth of ``approximate_tol``);
    - ``"approximate"``: below ``approximate_tol`` (by default 0.1, 10% relative);
    - ``"absent"``: otherwise;
    - ``"not finite"``: ``f`` returned NaN or infinity, so no symmetry can be judged
      (``nonfinite`` says where).

    Args:
        max_abs_error, mean_abs_error: the absolute errors, max and mean over the elements.
        max_rel_error, mean_rel_error: the relative errors likewise.
        worst_element: the element (a batch of one) with the largest relative error.
        n_samples: how many elements were checked.
        group: their group.
        dtype: the dtype of the outputs.
        exhaustive: ``True`` when every element of a finite group was checked.
        per_element_rel_error: ``(n_samples,)`` float64, the relative error of each element.
        exact_tol: the exact threshold (default: :func:`exact_tolerance` of ``dtype``, at most
            ``approximate_tol / 10``).
        approximate_tol: the approximate threshold (default: 0.1); ``0 < exact_tol <
            approximate_tol`` or ``ValueError``.
        nonfinite: where ``f`` returned NaN or infinity, or ``None``.
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
    exact_tol: float | None = None
    approximate_tol: float = APPROXIMATE_TOL
    nonfinite: str | None = None

    def __post_init__(self):
        if self.exact_tol is None:  # half precision: rounding alone reaches 10%, so exact means < approximate / 10
            self.exact_tol = min(exact_tolerance(self.dtype), self.approximate_tol / 10)
        if not 0 < self.exact_tol < self.approximate_tol:
            raise ValueError(f"thresholds need 0 < exact_tol < approximate_tol, got {self.exact_tol:g} and "
                             f"{self.approximate_tol:g}")

    @property
    def verdict(self) -> str:
        """``"exact"``, ``"approximate"``, ``"absent"`` or ``"not finite"`` (see the class)."""
        if self.nonfinite is not None:
            return "not finite"
        if self.max_rel_error <= self.exact_tol:
            return "exact"
        return "approximate" if self.max_rel_error < self.approximate_tol else "absent"

    @property
    def times_exact(self) -> float:
        """How far from exact: ``max_rel_error / exact_tol`` (at most 1 when exact)."""
        return self.max_rel_error / self.exact_tol

    def __str__(self):
        how = f"all {self.n_samples} elements" if self.exhaustive else f"{self.n_samples} random elements"
        if self.nonfinite is not None:
            return f"not finite: {self.nonfinite} (over {how} of {self.group!r}); no symmetry verdict"
        distance = "" if self.verdict == "exact" else f", {self.times_exact:.3g}x the exact threshold"
        return (f"{self.verdict}: max_rel_error {self.max_rel_error:.3g}{distance} (mean {self.mean_rel_error:.3g}, "
                f"max_abs_error {self.max_abs_error:.3g}) over {how} of {self.group!r}, in {_dtype_name(self.dtype)}; "
                f"exact <= {self.exact_tol:.2g}, approximate < {self.approximate_tol:g}; "
                f"worst at {self.group.describe(self.worst_element)}")


@dataclass
class ProductReport:
    """The checks of each factor of a product of symmetries. ``verdict`` and the errors are
    the worst factor's (the first not finite, else the largest ``max_rel_error``;
    ``max_abs_error`` is the largest of all); ``str`` gives a line per factor.

    Args:
        factors: one :class:`EquivarianceReport` per factor, in order.
    """

    factors: list[EquivarianceReport]

    @property
    def worst(self) -> EquivarianceReport:
        nonfinite = [r for r in self.factors if r.nonfinite is not None]
        return nonfinite[0] if nonfinite else max(self.factors, key=lambda r: r.max_rel_error)

    @property
    def verdict(self) -> str:
        return self.worst.verdict

    @property
    def max_rel_error(self) -> float:
        return self.worst.max_rel_error

    @property
    def max_abs_error(self) -> float:
        return max(r.max_abs_error for r in self.factors)

    @property
    def dtype(self) -> torch.dtype:
        return self.factors[0].dtype

    def __str__(self):
        return f"{self.verdict} (worst factor):\n" + "\n".join(f"  {r.group!r}: {r}" for r in self.factors)


def _dtype_name(dtype) -> str:
    return str(dtype).replace("torch.", "")
