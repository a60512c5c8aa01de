"""Graph-level read-outs of the point-cloud models: pooling equivariant node outputs."""

from __future__ import annotations

import torch

from symmetries.nn.graphs import POOLS, global_pool
from symmetries.o3 import Irreps


def check_pool(pool: str | None, irreps_out: Irreps) -> str | None:
    r"""Validate a model's ``pool`` option. ``"sum"`` and ``"mean"`` over the nodes of each graph
    commute with every rotation and reflection, hence keep any output irreps; ``"max"`` is
    taken per component, which commutes only with the trivial action: it needs ``0e`` outputs."""
    if pool is None:
        return None
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS} or None (per-node outputs), got {pool!r}")
    if pool == "max" and any(ir != (0, 1) for _, ir in irreps_out):
        raise ValueError(f"pool='max' is equivariant only for invariant scalar outputs (0e), got irreps_out "
                         f"{irreps_out}: use 'sum' or 'mean'")
    return pool


def pool_nodes(h: torch.Tensor, batch: torch.Tensor | None, pool: str | None) -> torch.Tensor:
    """``[N, C] -> [num_graphs, C]`` by ``batch`` (one graph when ``None``); ``h`` itself when ``pool`` is ``None``."""
    return h if pool is None else global_pool(h, batch, pool)
