"""Layouts: the structure of an input (one entry, or a tuple / list / dict of entries) that
says what each part is, so an action can move each part its own way."""

from __future__ import annotations

import torch


def layout_entries(layout):
    """The entries of a layout: one entry, or the items of a tuple / list / dict of entries."""
    if isinstance(layout, dict):
        return list(layout.values())
    if isinstance(layout, (tuple, list)):
        return list(layout)
    return [layout]


def map_layout(layout, x, fn):
    """Apply ``fn(entry, value)`` along the structure of ``layout`` and ``x``."""
    if isinstance(layout, dict):
        if not isinstance(x, dict) or set(x) != set(layout):
            raise ValueError(f"input must be a dict with keys {sorted(layout)}, got "
                             f"{sorted(x) if isinstance(x, dict) else type(x).__name__}")
        return {k: fn(layout[k], v) for k, v in x.items()}
    if isinstance(layout, (tuple, list)):
        if not isinstance(x, (tuple, list)) or len(x) != len(layout):
            raise ValueError(f"input must be a tuple of {len(layout)} entries ({layout}), got "
                             f"{len(x) if isinstance(x, (tuple, list)) else type(x).__name__}")
        return type(x)(fn(e, v) for e, v in zip(layout, x))
    return fn(layout, x)


def find_batch(layout, x):
    """The ``"batch"`` entry of ``x`` under ``layout`` (a 1-D long tensor), or ``None``."""
    if isinstance(layout, dict) and isinstance(x, dict):
        pairs = [(layout[k], x.get(k)) for k in layout]
    elif isinstance(layout, (tuple, list)) and isinstance(x, (tuple, list)):
        pairs = list(zip(layout, x))
    else:
        pairs = [(layout, x)]
    for entry, value in pairs:
        if isinstance(entry, str) and entry == "batch":
            if not torch.is_tensor(value) or value.dtype != torch.long or value.dim() != 1:
                raise ValueError(f"the 'batch' entry must be a 1-D long tensor [N], got "
                                 f"{tuple(value.shape) if torch.is_tensor(value) else type(value).__name__}")
            return value
    return None
