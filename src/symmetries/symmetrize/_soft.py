"""Soft equivariance: the equivariance error as a differentiable penalty."""

from __future__ import annotations

import torch

from symmetries.actions import as_action
from symmetries._internal.tree import batch_size, leaves, to_device


def equivariance_penalty(model, x, action_in, action_out, n_samples: int = 1,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Mean squared equivariance error over random group elements, differentiable:

    .. math:: P = \frac{1}{m} \sum_{j=1}^{m} \frac{1}{B} \sum_i
              \big\| f(g_{ij} \cdot x_i) - g_{ij} \cdot f(x_i) \big\|^2

    (summed over the output's tensors, averaged over their entries), with one Haar-random
    element per sample and draw. Add ``weight * P`` to the training loss for a model that is
    pushed towards, not forced into, the symmetry. Zero exactly when ``model`` is
    equivariant.

    Args:
        model: the model :math:`f`.
        x: a batch, any structure ``action_in`` acts on.
        action_in: the Action (or Rep) on the input.
        action_out: the Action on the output.
        n_samples: :math:`m`, draws per sample (default: 1).
        generator: for reproducible draws (default: the global RNG).

    Returns:
        :math:`P`, a scalar tensor.
    """
    act_in, act_out = as_action(action_in), as_action(action_out)
    G, B = act_in.group, batch_size(x)
    if int(n_samples) < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    fx = model(x)
    total = 0.0
    for _ in range(int(n_samples)):
        g = to_device(G.sample(B, generator=generator), x)
        moved, expected = model(act_in.act(g, x)), act_out.act(to_device(g, fx), fx)
        a, b = leaves(moved), leaves(expected)
        if len(a) != len(b):
            raise ValueError(f"model outputs differ in structure: {len(a)} vs {len(b)} tensors")
        total = total + sum(((u - v) ** 2).mean() for u, v in zip(a, b) if u.is_floating_point())
    return total / int(n_samples)
