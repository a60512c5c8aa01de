"""Checkpoint round trips for tests."""

from __future__ import annotations

import io

import torch
from torch import nn


def reload_state_dict(module: nn.Module, fresh: nn.Module) -> nn.Module:
    """Load ``module``'s ``state_dict`` into ``fresh`` through a checkpoint in memory, read back
    with ``torch.load(weights_only=True)`` (loading executes no code from the file).

    Args:
        module: the module whose ``state_dict`` is saved.
        fresh: the module it is loaded into; raises as ``load_state_dict`` does on missing
            or unexpected keys.

    Returns:
        ``fresh``.
    """
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    return fresh
