"""The plain multilayer perceptron the equivariant models use on invariant features."""

from __future__ import annotations

from torch import nn


def mlp(sizes: list[int], act: type[nn.Module] = nn.SiLU, last_act: bool = False) -> nn.Sequential:
    """``Linear -> act -> ... -> Linear`` (with a final ``act`` when ``last_act``)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_act:
            layers.append(act())
    return nn.Sequential(*layers)
