"""Equivariance checks for any callable, and assertions for tests."""

from ._check import EquivarianceReport, assert_equivariant, check_equivariance

__all__ = ["EquivarianceReport", "check_equivariance", "assert_equivariant"]
