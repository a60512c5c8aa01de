"""Structures of tensors (a tensor, or tuples / lists / dicts of them) with a leading batch axis."""

from __future__ import annotations

import torch


def tree_map(fn, x):
    """Apply ``fn`` to every tensor of a structure, keeping the structure."""
    if torch.is_tensor(x):
        return fn(x)
    if isinstance(x, tuple):
        return tuple(tree_map(fn, v) for v in x)
    if isinstance(x, list):
        return [tree_map(fn, v) for v in x]
    if isinstance(x, dict):
        return {k: tree_map(fn, v) for k, v in x.items()}
    return x


def leaves(x) -> list[torch.Tensor]:
    """The tensors of a structure, in order."""
    out = []
    tree_map(out.append, x)
    return out


def batch_size(x) -> int:
    """The leading size of the first tensor of a structure."""
    ts = leaves(x)
    if not ts:
        raise TypeError(f"expected a tensor or a structure of tensors, got {type(x).__name__}")
    return ts[0].shape[0]


def take(x, index: torch.Tensor):
    """Samples ``index`` of every tensor of a structure (a gather along the batch axis)."""
    return tree_map(lambda t: t[index.to(t.device)], x)


def cat(parts: list):
    """Concatenate structures of the same shape along the batch axis."""
    first = parts[0]
    if torch.is_tensor(first):
        return torch.cat(parts)
    if isinstance(first, (tuple, list)):
        return type(first)(cat([p[i] for p in parts]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: cat([p[k] for p in parts]) for k in first}
    raise TypeError(f"cannot concatenate {type(first).__name__}")


def mean_over_copies(y, copies: int):
    """``(copies * B, ...)`` stacked copy-major -> the mean over the copies, ``(B, ...)``."""
    return tree_map(lambda t: t.reshape(copies, -1, *t.shape[1:]).mean(0), y)


def to_device(g, like):
    """Move a batch of group elements to the device of the first tensor of ``like``."""
    ts = leaves(like)
    if not ts:
        return g
    return tree_map(lambda t: t.to(ts[0].device), g)


def get_entry(x, key):
    """Entry ``key`` of a tuple / list / dict input (``None``: the input itself)."""
    return x if key is None else x[key]


def set_entry(x, key, value):
    """A copy of ``x`` with entry ``key`` replaced by ``value`` (``None``: ``value`` itself)."""
    if key is None:
        return value
    if isinstance(x, dict):
        return {**x, key: value}
    items = list(x)
    items[key] = value
    return type(x)(items)
