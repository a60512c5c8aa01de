"""Radius graph of atoms, with periodic cells, in plain torch.

The graph is discrete (which pairs are closer than the cutoff) and is built without
gradients; the edge vectors are then computed from the positions and the cell by
:func:`edge_vectors`, so energies stay differentiable in both.
"""

from __future__ import annotations

import math

import torch


def neighbor_list(positions: torch.Tensor, cutoff: float, batch: torch.Tensor | None = None,
                 cell: torch.Tensor | None = None, pbc: torch.Tensor | None = None,
                 max_pairs: int = 2 ** 24) -> tuple[torch.Tensor, torch.Tensor]:
    r"""All pairs of atoms closer than ``cutoff``, periodic images included.

    Atom ``j`` seen from atom ``i`` through the cell shift :math:`S \in \mathbb{Z}^3` is an
    edge when :math:`|x_j + S C - x_i| < r_c` (``C`` the cell, rows the lattice vectors),
    except ``i = j`` with ``S = 0``. Along a periodic direction every image within the
    cutoff is found, however small the cell (an atom can neighbour its own images).

    Args:
        positions: ``(N, 3)``.
        batch: ``(N,)`` frame of each atom, sorted (default: one frame).
        cell: ``(B, 3, 3)`` or ``(3, 3)``; needed where ``pbc`` is set.
        pbc: ``(B, 3)`` or ``(3,)`` bool (default: periodic where ``cell`` is given).
        max_pairs: pair distances evaluated per chunk (memory bound).

    Returns:
        ``edge_index (2, E)`` long, rows (source ``j``, target ``i``), sorted by target;
        ``shifts (E, 3)``: the integer shifts :math:`S` in the dtype of ``positions``.
    """
    if positions.dim() != 2 or positions.shape[1] != 3:
        raise ValueError(f"neighbor_list: positions must have shape (N, 3), got {tuple(positions.shape)}")
    if not cutoff > 0:
        raise ValueError(f"neighbor_list: cutoff must be positive, got {cutoff}")
    n, device, dtype = positions.shape[0], positions.device, positions.dtype
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=device)
    if batch.shape != (n,):
        raise ValueError(f"neighbor_list: batch must have shape ({n},), got {tuple(batch.shape)}")
    if n and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("neighbor_list: batch must be sorted (the atoms of each frame contiguous)")
    n_frames = int(batch.max()) + 1 if n else 0
    cell, pbc = _cells(cell, pbc, n_frames, dtype, device)
    counts = torch.bincount(batch, minlength=n_frames).tolist()
    edges, shifts, start = [], [], 0
    with torch.no_grad():
        for b, count in enumerate(counts):
            e, s = _frame_graph(positions[start:start + count].detach(), cutoff, cell[b], pbc[b], max_pairs)
            edges.append(e + start)
            shifts.append(s)
            start += count
    if not edges:
        return torch.zeros(2, 0, dtype=torch.long, device=device), torch.zeros(0, 3, dtype=dtype, device=device)
    return torch.cat(edges, 1), torch.cat(shifts, 0)


def edge_vectors(positions: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor | None = None,
                 cell: torch.Tensor | None = None, batch: torch.Tensor | None = None) -> torch.Tensor:
    r"""``(E, 3)`` vectors :math:`x_j + S C_b - x_i` from each target ``i`` to its source ``j``.

    Differentiable in ``positions`` and ``cell`` (``(B, 3, 3)``; ``batch (N,)`` picks each
    edge's frame). Without ``shifts`` the graph is taken as non-periodic.
    """
    src, dst = edge_index[0], edge_index[1]
    vec = positions[src] - positions[dst]
    if shifts is None or cell is None:
        return vec
    if cell.dim() == 2:
        cell = cell[None]
    frame = batch[dst] if batch is not None else torch.zeros_like(dst)
    return vec + torch.einsum("ek,ekc->ec", shifts.to(positions.dtype), cell[frame])


def _cells(cell, pbc, n_frames, dtype, device):
    if cell is None:
        if pbc is not None and bool(torch.as_tensor(pbc).any()):
            raise ValueError("neighbor_list: pbc is set but no cell was given")
        cell = torch.zeros(n_frames, 3, 3, dtype=dtype, device=device)
    cell = torch.as_tensor(cell, dtype=dtype, device=device)
    if cell.dim() == 2:
        cell = cell.expand(n_frames, 3, 3)
    if cell.shape != (n_frames, 3, 3):
        raise ValueError(f"neighbor_list: cell must have shape ({n_frames}, 3, 3) or (3, 3), got {tuple(cell.shape)}")
    if pbc is None:
        pbc = cell.abs().sum(-1) > 0
    pbc = torch.as_tensor(pbc, dtype=torch.bool, device=device)
    if pbc.dim() == 1:
        pbc = pbc.expand(n_frames, 3)
    if pbc.shape != (n_frames, 3):
        raise ValueError(f"neighbor_list: pbc must have shape ({n_frames}, 3) or (3,), got {tuple(pbc.shape)}")
    return cell, pbc


def _frame_graph(pos, cutoff, cell, pbc, max_pairs):
    n, dtype, device = pos.shape[0], pos.dtype, pos.device
    offset = torch.zeros(n, 3, dtype=dtype, device=device)
    reps = [0, 0, 0]
    if bool(pbc.any()):
        det = torch.linalg.det(cell.double())
        if not abs(float(det)) > 1e-12:
            raise ValueError(f"neighbor_list: a periodic frame needs a cell of nonzero volume, got det {float(det):.3g}")
        inv = torch.linalg.inv(cell.double())
        # wrap into the cell along periodic directions; remember the integer offset
        frac = pos.double() @ inv
        offset = torch.where(pbc, torch.floor(frac), torch.zeros_like(frac)).to(dtype)
        pos = pos - offset @ cell
        spacing = 1.0 / torch.linalg.norm(inv, dim=0)  # distance between lattice planes
        reps = [math.ceil(cutoff / float(spacing[k])) if bool(pbc[k]) else 0 for k in range(3)]
    grid = [torch.arange(-r, r + 1, device=device, dtype=dtype) for r in reps]
    images = torch.cartesian_prod(*grid).reshape(-1, 3)
    images = images[torch.argsort(images.abs().sum(1), stable=True)]  # the zero shift first
    translation = images @ cell
    per_chunk = max(1, max_pairs // max(n * n, 1))
    found = []
    for c in range(0, images.shape[0], per_chunk):
        t = translation[c:c + per_chunk]
        d2 = ((pos[None, None, :, :] + t[:, None, None, :] - pos[None, :, None, :]) ** 2).sum(-1)  # (S, i, j)
        hit = d2 < cutoff * cutoff
        if c == 0:
            hit[0].fill_diagonal_(False)
        s, i, j = hit.nonzero(as_tuple=True)
        found.append((s + c, i, j))
    s, i, j = (torch.cat(x) for x in zip(*found))
    order = torch.argsort(i * (n * images.shape[0]) + j * images.shape[0] + s)
    s, i, j = s[order], i[order], j[order]
    shifts = images[s] - offset[j] + offset[i]
    return torch.stack([j, i]), shifts
