"""Equivariance checks for any callable, and assertions and checkpoint round trips for tests."""

from symmetries.testing._check import assert_equivariant, check_equivariance
from symmetries.testing._report import EquivarianceReport, ProductReport, exact_tolerance
from symmetries.testing._state import reload_state_dict

__all__ = ["EquivarianceReport", "ProductReport", "exact_tolerance", "check_equivariance", "assert_equivariant", "reload_state_dict"]
