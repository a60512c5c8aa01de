"""The plain multilayer perceptron the equivariant models use on invariant features."""

from __future__ import annotations

from torch import nn


def mlp(sizes: list[int], act: type[nn.Module] = nn.SiLU, last_act: bool = False) -> nn.Sequential:
    """The plain multilayer perceptron ``Linear -> act -> ... -> Linear``.

    Args:
        sizes: the widths ``[in, hidden..., out]``, one ``nn.Linear`` per consecutive pair.
        act: the activation class, instantiated after every linear layer but the last
            (default: ``nn.SiLU``).
        last_act: also after the last (default: ``False``).

    Returns:
        The ``nn.Sequential``.

    Shapes:
        - **input:** ``(..., sizes[0])``
        - **output:** ``(..., sizes[-1])``
    """
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_act:
            layers.append(act())
    return nn.Sequential(*layers)
