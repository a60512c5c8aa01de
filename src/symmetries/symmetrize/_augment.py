"""Data augmentation with random group elements, one per sample, through Actions."""

from __future__ import annotations

import torch

from symmetries.actions import as_action
from symmetries._internal.tree import batch_size, to_device


class Augment:
    r"""Move each sample of a batch by its own random group element.

    .. math:: (x_i, y_i) \mapsto (g_i \cdot x_i,\ g_i \cdot y_i), \qquad g_i \sim \mathrm{Haar}(G)

    Any Action works: a Rep on vectors ``(B, d)``, images, point clouds, graphs. Elements
    are drawn on the CPU and moved to the data's device, so this runs inside a training
    step on the GPU as well as in a DataLoader ``collate_fn`` (see :meth:`collate`).

    ``augment(x)`` returns ``g . x``; ``augment(x, y)`` returns ``(g . x, g . y)``;
    ``augment(x, y, g=elements)`` uses given elements (a batch of ``B`` or of one).

    Args:
        action_in: the Action (or Rep) that moves inputs.
        action_out: the one that moves targets, of the same group (omit it, or pass
            :func:`~symmetries.actions.invariant`, for invariant targets).
        generator: a CPU :class:`torch.Generator`, for reproducible runs (default: ``None``,
            the global RNG).

    Shapes:
        - **input:** x and y, any structure their actions act on, batch ``B``
        - **output:** the same structures and shapes
    """

    def __init__(self, action_in, action_out=None, generator: torch.Generator | None = None):
        self.action_in = as_action(action_in)
        self.action_out = as_action(action_out) if action_out is not None else None
        self.group = self.action_in.group
        if self.action_out is not None and self.action_out.group not in (None, self.group):
            raise ValueError(f"action_in acts by {self.group!r} but action_out by {self.action_out.group!r}: "
                             "they must share one group")
        self.generator = generator

    def sample(self, n: int):
        """``n`` random elements of the group (on the CPU)."""
        return self.group.sample(n, generator=self.generator)

    def __call__(self, x, y=None, g=None):
        if g is None:
            g = self.sample(batch_size(x))
        else:
            self.group.check(g)
        g = to_device(g, x)
        gx = self.action_in.act(g, x)
        if y is None:
            return gx
        gy = y if self.action_out is None else self.action_out.act(to_device(g, y), y)
        return gx, gy

    def collate(self, samples):
        """A DataLoader ``collate_fn``: stack ``(x, y)`` samples, then augment the batch."""
        from torch.utils.data import default_collate

        x, y = default_collate(samples)
        return self(x, y)

    def __repr__(self):
        return f"Augment({self.action_in!r}, {self.action_out!r})"
