"""Shared input checks and batch handling for the O(3) layers."""

from __future__ import annotations

import torch


def check_irreps_input(irreps, x, name: str = "input") -> None:
    """Raise a clear error unless ``x`` is a float tensor ``(..., irreps.dim)``.

    Args:
        irreps: the :class:`~symmetries.o3.Irreps` that ``x`` should carry.
        x: the tensor to check.
        name: what ``x`` is, for the message (default: ``"input"``).

    Raises:
        TypeError: ``x`` is not a tensor, or not floating point.
        ValueError: its last dimension is not ``irreps.dim``.
    """
    if not torch.is_tensor(x):
        raise TypeError(f"{name} must be a tensor (..., {irreps.dim}) for irreps {irreps}, got {type(x).__name__}")
    if x.dim() == 0 or x.shape[-1] != irreps.dim:
        raise ValueError(f"{name} has shape {tuple(x.shape)} but irreps {irreps} need a last dimension of {irreps.dim}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating point tensor, got {x.dtype}")


def as_batch(tensors, per_sample=None):
    """Broadcast the leading dimensions of ``tensors`` (and of ``per_sample``, if given) and
    flatten them: returns ``(flat tensors (B, d), leading shape, flat per_sample or None)``."""
    shapes = [t.shape[:-1] for t in tensors] + ([per_sample.shape[:-1]] if per_sample is not None else [])
    try:
        batch = torch.broadcast_shapes(*shapes)
    except RuntimeError as e:
        raise ValueError(f"leading dimensions do not broadcast: {[tuple(s) for s in shapes]}") from e
    dtype = tensors[0].dtype
    for t in tensors[1:] + ([per_sample] if per_sample is not None else []):
        if t.dtype != dtype:
            raise TypeError(f"inputs must share one dtype, got {dtype} and {t.dtype}")
    flat = [t.expand(batch + t.shape[-1:]).reshape(-1, t.shape[-1]) for t in tensors]
    w = per_sample.expand(batch + per_sample.shape[-1:]).reshape(-1, per_sample.shape[-1]) if per_sample is not None else None
    return flat, batch, w
