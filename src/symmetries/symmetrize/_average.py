"""Group averaging: the Reynolds operator turns any model into an invariant / equivariant one."""

from __future__ import annotations

import torch
from torch import nn

from symmetries.actions import as_action
from symmetries._internal.tree import batch_size, mean_over_copies, take, to_device


class GroupAveraging(nn.Module):
    r"""Average a model over a group:

    .. math:: \bar f(x) = \frac{1}{|G|} \sum_{g \in G} g \cdot f(g^{-1} \cdot x)

    which satisfies :math:`\bar f(h \cdot x) = h \cdot \bar f(x)` exactly for a finite group
    (re-index the sum by :math:`h^{-1} g`), whatever ``model`` is. ``action_out`` trivial
    (:func:`~symmetries.actions.invariant`) gives an invariant model.

    Args:
        model: any module.
        action_in: the Action (or Rep) on the model's input.
        action_out: the Action on its output, of the same group.
        n_samples: ``None`` (default) sums over all elements of a finite group (one forward
            pass on a batch of ``|G| B`` inputs). With ``n_samples = m`` (needed for an
            infinite compact group: SO(n), O(n)), ``m`` Haar-random elements are drawn per
            sample on every call, a Monte Carlo estimate that is equivariant in
            distribution, with error :math:`O(m^{-1/2})`.
        generator: makes the draws reproducible (default: the global RNG).

    Shapes:
        - **input:** any structure ``action_in`` acts on, batch ``B``
        - **output:** ``model``'s output
    """

    def __init__(self, model: nn.Module, action_in, action_out, n_samples: int | None = None,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.model = model
        self.action_in, self.action_out = as_action(action_in), as_action(action_out)
        self.group = self.action_in.group
        if self.action_out.group not in (None, self.group):
            raise ValueError(f"action_in acts by {self.group!r} but action_out by {self.action_out.group!r}: "
                             "they must share one group")
        if n_samples is None and self.group.order is None:
            raise ValueError(f"{self.group!r} is infinite: give n_samples for a Monte Carlo average")
        if n_samples is not None and int(n_samples) < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        self.n_samples = None if n_samples is None else int(n_samples)
        self.generator = generator

    @property
    def exact(self) -> bool:
        """``True`` when the average runs over every element of a finite group."""
        return self.n_samples is None

    def forward(self, x):
        G, B = self.group, batch_size(x)
        if self.exact:
            elements = G.elements()
            m = G.batch_size(elements)
            g = G.select(elements, torch.arange(m).repeat_interleave(B))
        else:
            m = self.n_samples
            g = G.sample(m * B, generator=self.generator)
        g = to_device(g, x)
        xs = take(x, torch.arange(B).repeat(m))  # copy-major: index j * B + i
        y = self.model(self.action_in.act(G.inverse(g), xs))
        return mean_over_copies(self.action_out.act(to_device(g, y), y), m)

    def extra_repr(self):
        how = "all elements" if self.exact else f"{self.n_samples} random elements"
        return f"group={self.group!r}, {how}"
