"""Several symmetries of one input at once: the direct product of commuting actions."""

from __future__ import annotations

from symmetries.actions._action import Action, as_action
from symmetries.groups import DirectProduct


class ProductAction(Action):
    r"""The direct product :math:`G_1 \times \dots \times G_k` of actions on the same data,
    :math:`(g_1, \dots, g_k) \cdot x = g_1 \cdot (g_2 \cdot (\dots g_k \cdot x))`.

    The factors must commute (act on different aspects of the data: rotations and
    permutations of a point cloud, rotations and translations of an image), so that this is
    an action of the product group. Its group is the nested :class:`~symmetries.groups.DirectProduct`
    ``((G_1, G_2), G_3) ...``, elements nested pairs likewise. The checker, given a product,
    checks and reports each factor on its own (equivariance under each factor is
    equivariance under the group they generate).

    Args:
        *factors: two or more Actions or Reps.
    """

    def __init__(self, *factors):
        if len(factors) < 2:
            raise ValueError(f"a product of actions needs at least two factors, got {len(factors)}")
        self.factors = [as_action(a) for a in factors]
        group = self.factors[0].group
        for a in self.factors[1:]:
            group = DirectProduct(group, a.group)
        self.group = group

    def _split(self, g) -> list:
        parts = []
        for _ in self.factors[1:]:
            g, last = g
            parts.append(last)
        return [g] + parts[::-1]

    def act(self, g, x):
        for action, part in reversed(list(zip(self.factors, self._split(g)))):
            x = action.act(part, x)
        return x

    def __repr__(self):
        return " x ".join(map(repr, self.factors))
