"""Actions: how group elements move vectors, images, point clouds, graphs and lattices."""

from ._action import Action, TrivialAction, VectorAction, as_action, invariant

__all__ = ["Action", "TrivialAction", "VectorAction", "as_action", "invariant"]
