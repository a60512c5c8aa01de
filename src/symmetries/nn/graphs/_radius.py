r"""Radius and k-nearest-neighbour graphs, periodic cells included, in plain torch.

One algorithm builds both. Positions are wrapped into their cells along periodic
directions, and every cell shift :math:`S` that can bring a node within the radius is listed
(:math:`|S_k| \le \lceil r / h_k \rceil`, :math:`h_k` the spacing of the lattice planes
along direction :math:`k`). Squared distances are then evaluated in dense blocks
``[frames, targets, sources, shifts]`` of at most ``max_pairs`` entries (frames of one block
padded to the largest; a frame too large for one block split by target rows), and the
pairs closer than the radius are kept, with ``max_num_neighbors`` only the nearest ones.
Memory stays :math:`O(\text{max\_pairs} + N + E)` whatever the batch (a single target
row, :math:`n \times` shifts entries, is the smallest block).

**The cutoff rule.** A pair is an edge when its distance is *strictly* below the radius,
:math:`|x_j + S C - x_i| < r`; a pair exactly at :math:`r` is out. This is the rule of
``ase.neighborlist`` and torch_cluster, so graphs compare edge for edge with
theirs (lattices put many pairs exactly at round distances), and it makes the graph the
support of the smooth cutoffs the potentials multiply their messages by (they vanish at
:math:`r`): an edge at :math:`r` would only carry zeros. Distances are evaluated in the
dtype of the positions, so a pair within rounding of :math:`r` may fall either side.

The graph is discrete and built without gradients; :func:`edge_vectors` then computes the
edge vectors from the positions and the cell, differentiably in both.
"""

from __future__ import annotations

import math

import torch

from symmetries.nn.graphs._build import check_batch

_MAX_PAIRS = 2 ** 22


def radius_graph(pos: torch.Tensor, r: float, batch: torch.Tensor | None = None, loop: bool = False,
                 max_num_neighbors: int | None = 32, *, cell: torch.Tensor | None = None,
                 pbc: torch.Tensor | None = None, max_pairs: int = _MAX_PAIRS):
    r"""Edges :math:`j \to i` between nodes of the same graph closer than ``r``, through
    periodic boundaries where a ``cell`` is given.

    Node :math:`j` seen from node :math:`i` through the cell shift :math:`S \in \mathbb{Z}^d`
    (zero along non-periodic directions) is an edge when

    .. math::
        |x_j + S C_b - x_i| < r \quad\text{and}\quad (i, S) \ne (j, 0) \text{ unless } i = j
        \text{ and } \texttt{loop},

    with :math:`C_b` the cell of the frame (its rows the lattice vectors). Along a periodic
    direction every image within ``r`` is found, however small or skewed the cell: a node
    can neighbour several images of another node, and its own images. Cell vectors along
    non-periodic directions are ignored (they may be zero). Edges are sorted by target, then
    source, then image; see :mod:`~symmetries.nn.graphs` for the conventions.

    Args:
        pos: node positions, any dimension ``d``, float.
        r: the radius (cutoff), > 0; a pair at exactly ``r`` is not an edge.
        batch: graph (frame) of each node, sorted (default: ``None``, one graph).
        loop: add the self-loops :math:`i \to i` (with :math:`S = 0`) (default: ``False``).
        max_num_neighbors: keep only the nearest this many edges into each target (ties go
            to the lower source index; torch_cluster keeps an arbitrary subset) (default: 32);
            ``None`` keeps all, as a potential needs.
        cell: ``[B, d, d]`` or ``[d, d]`` cells, one per frame (default: ``None``, not
            periodic). When given, the graph is periodic and the function returns
            ``(edge_index, shifts)``.
        pbc: ``[B, d]`` or ``[d]`` bool, the periodic directions (default: those whose cell
            vector is not zero). Needs ``cell``.
        max_pairs: candidate pairs evaluated at once, the memory bound (default: ``2**22``).

    Returns:
        ``edge_index``, or with ``cell`` the pair ``(edge_index, shifts)``.

    Shapes:
        - **input:** pos ``[N, d]``, batch ``[N]``, cell ``[B, d, d]``, pbc ``[B, d]``
        - **output:** edge_index ``[2, E]`` long (row 0 source :math:`j`, row 1 target
          :math:`i`); with ``cell`` also shifts ``[E, d]``: the integer shifts :math:`S` in
          the dtype of ``pos``, for :func:`edge_vectors`.
    """
    pos = _check_positions(pos, "radius_graph")
    if not r > 0:
        raise ValueError(f"radius_graph: radius must be positive (the cutoff r), got {r}")
    if max_num_neighbors is not None and int(max_num_neighbors) < 1:
        raise ValueError(f"radius_graph: max_num_neighbors must be >= 1 or None, got {max_num_neighbors}")
    if int(max_pairs) < 1:
        raise ValueError(f"radius_graph: max_pairs must be >= 1, got {max_pairs}")
    batch = check_batch(batch, pos.shape[0], pos.device, "radius_graph")
    if cell is None:
        if pbc is not None and bool(torch.as_tensor(pbc).any()):
            raise ValueError("radius_graph: pbc is set but no cell was given")
        return _graph(pos, batch, float(r), max_num_neighbors, loop, None, None, int(max_pairs))[0]
    return _graph(pos, batch, float(r), max_num_neighbors, loop, cell, pbc, int(max_pairs))


def knn_graph(pos: torch.Tensor, k: int, batch: torch.Tensor | None = None, loop: bool = False) -> torch.Tensor:
    r"""Edges :math:`j \to i` from each node's ``k`` nearest neighbours :math:`j` in its own graph.

    The radius graph of an infinite radius with ``max_num_neighbors=k``: ties go to the lower
    source index, edges are sorted by target then source. A graph with fewer than ``k + 1``
    nodes contributes all its pairs.

    Args:
        pos: node positions ``[N, d]``, float.
        k: the number of neighbours, >= 1.
        batch: graph of each node, sorted (default: ``None``, one graph).
        loop: count the node itself among its ``k`` neighbours (default: ``False``).

    Returns:
        ``edge_index``, long, sources in row 0 and targets in row 1.

    Shapes:
        - **input:** pos ``[N, d]``, batch ``[N]`` (sorted)
        - **output:** edge_index ``[2, E]``, :math:`E = \sum_b n_b \min(k, n_b - 1)`
          (without ``loop``)
    """
    pos = _check_positions(pos, "knn_graph")
    if int(k) < 1:
        raise ValueError(f"knn_graph: k must be >= 1, got {k}")
    batch = check_batch(batch, pos.shape[0], pos.device, "knn_graph")
    return _graph(pos, batch, math.inf, int(k), loop, None, None, _MAX_PAIRS)[0]


def edge_vectors(pos: torch.Tensor, edge_index: torch.Tensor, shifts: torch.Tensor | None = None,
                 cell: torch.Tensor | None = None, batch: torch.Tensor | None = None) -> torch.Tensor:
    r"""The vector from each edge's target :math:`i` to its source :math:`j`,

    .. math::
        r_{ij} = x_j + S_{ij} C_{b(i)} - x_i,

    differentiable in ``pos`` and ``cell`` (so forces and stress follow by autograd).
    Without ``shifts`` the graph is taken as non-periodic.

    Args:
        pos: node positions.
        edge_index: ``(source j, target i)`` rows, e.g. from :func:`radius_graph`.
        shifts: the integer cell shifts :func:`radius_graph` returned with the graph
            (default: ``None``, a non-periodic graph).
        cell: ``[B, d, d]`` or ``[d, d]``, needed with ``shifts``.
        batch: frame of each node, to pick each edge's cell when there are several
            (default: ``None``, one cell).

    Returns:
        The edge vectors :math:`r_{ij}`, in the dtype of ``pos``.

    Shapes:
        - **input:** pos ``[N, d]``, edge_index ``[2, E]``, shifts ``[E, d]``, cell ``[B, d, d]``
        - **output:** ``[E, d]``
    """
    source, target = edge_index[0], edge_index[1]
    vec = pos[source] - pos[target]
    if shifts is None:
        return vec
    if cell is None:
        raise ValueError("edge_vectors: shifts were given but no cell: pass the cell the graph was built with")
    if cell.dim() == 2:
        cell = cell[None]
    d = pos.shape[-1]
    if shifts.shape != vec.shape or cell.dim() != 3 or cell.shape[1:] != (d, d):
        raise ValueError(f"edge_vectors: expected shifts [E={vec.shape[0]}, {d}] and cell [B, {d}, {d}], got "
                         f"shifts {tuple(shifts.shape)} and cell {tuple(cell.shape)}")
    if batch is None:
        if cell.shape[0] != 1:
            raise ValueError(f"edge_vectors: {cell.shape[0]} cells but no batch to say which frame each edge is in")
        frame = torch.zeros_like(target)
    else:
        frame = batch[target]
    return vec + torch.einsum("ek,ekc->ec", shifts.to(pos.dtype), cell[frame])



def _check_positions(pos, where):
    if not torch.is_tensor(pos) or pos.dim() != 2 or not pos.is_floating_point():
        got = f"shape {tuple(pos.shape)} {pos.dtype}" if torch.is_tensor(pos) else type(pos).__name__
        raise ValueError(f"{where}: pos must be a float tensor [N, d], got {got}")
    return pos


def _graph(pos, batch, r, k, loop, cell, pbc, max_pairs):
    """``(edge_index, shifts or None)``: the one algorithm behind both builders."""
    n, d = pos.shape
    device, dtype = pos.device, pos.dtype
    n_frames = int(batch[-1]) + 1 if n else 0
    periodic = cell is not None
    with torch.no_grad():
        pos = pos.detach()
        if periodic:
            cell, pbc = _cells(cell, pbc, n_frames, d, device)
        if not n:
            empty = torch.zeros(2, 0, dtype=torch.long, device=device)
            return empty, pos.new_zeros(0, d) if periodic else None
        counts = torch.bincount(batch, minlength=n_frames)
        start = torch.cumsum(counts, 0) - counts
        if periodic:
            pos, offset, n_img, image_start, image_shift, translation = _images(pos, batch, cell, pbc, r)
        else:
            n_img = torch.ones_like(counts)
        found = []
        for frames, rows in _chunks(counts.tolist(), n_img.tolist(), max_pairs):
            found += _chunk_edges(pos, torch.tensor(frames, device=device), rows, counts, start, n_img,
                                  image_start if periodic else None, translation if periodic else None, r, k, loop)
        edge_index = torch.stack([torch.cat([e[1] for e in found]), torch.cat([e[0] for e in found])])
        if not periodic:
            return edge_index, None
        source, target, image = edge_index[0], edge_index[1], torch.cat([e[2] for e in found])
        shifts = image_shift[image] - offset[source] + offset[target]
        return edge_index, shifts.to(dtype)


def _chunks(counts, n_img, max_pairs):
    """Consecutive non-empty frames in groups of at most ``max_pairs`` padded candidates
    ``(frames x n_max x n_max x images_max)``, a frame too large alone split into row blocks:
    ``(frames, rows)`` with ``rows`` a range of target rows, or ``None`` for all."""
    group, n_max, s_max = [], 0, 0
    for f, (c, s) in enumerate(zip(counts, n_img)):
        if not c:
            continue
        if group and (len(group) + 1) * max(n_max, c) ** 2 * max(s_max, s) > max_pairs:
            yield group, None
            group, n_max, s_max = [], 0, 0
        if c * c * s > max_pairs:
            step = max(1, max_pairs // (c * s))
            for lo in range(0, c, step):
                yield [f], range(lo, min(lo + step, c))
            continue
        group.append(f)
        n_max, s_max = max(n_max, c), max(s_max, s)
    if group:
        yield group, None


def _chunk_edges(pos, frames, rows, counts, start, n_img, image_start, translation, r, k, loop):
    """Edges into the target rows ``rows`` of ``frames`` from dense padded distances
    ``[frames, targets, sources, images]``, in canonical order: ``[(target, source, image)]``."""
    device, d = pos.device, pos.shape[1]
    n_f, s_f = counts[frames], n_img[frames]
    width, depth = int(n_f.max()), int(s_f.max())
    slot = torch.arange(width, device=device)
    valid = slot < n_f[:, None]  # [G, width] real atoms of each frame
    atom = start[frames][:, None] + torch.where(valid, slot, 0)
    rows = range(width) if rows is None else rows
    target = atom[:, rows.start:rows.stop]
    x, xi = pos[atom], pos[target]  # [G, width, d], [G, R, d]
    if translation is not None:
        ring = torch.arange(depth, device=device)
        valid_image = ring < s_f[:, None]
        image = image_start[frames][:, None] + torch.where(valid_image, ring, 0)
        shift = translation[image]  # [G, depth, d]
    d2 = torch.zeros(len(frames), len(rows), width, depth, dtype=pos.dtype, device=device)
    for c in range(d):  # one coordinate at a time: memory is that of d2, not d times it
        diff = x[:, None, :, None, c] - xi[:, :, None, None, c]
        if translation is not None:
            diff = diff + shift[:, None, None, :, c]
        d2 += diff * diff
    keep = d2 < r * r
    if width > int(n_f.min()):
        keep &= valid[:, None, :, None] & valid[:, rows.start:rows.stop, None, None]
    if translation is not None and depth > int(s_f.min()):
        keep &= valid_image[:, None, None, :]
    if not loop:  # no i -> i at the zero shift (mid-grid)
        g, i = torch.meshgrid(torch.arange(len(frames), device=device), torch.arange(len(rows), device=device),
                              indexing="ij")
        keep[g, i, i + rows.start, ((s_f - 1) // 2)[g]] = False
    if k is not None:
        keep = _nearest(keep.view(-1, width * depth), d2.view(-1, width * depth), k).view(keep.shape)
    g, i, j, s = keep.nonzero(as_tuple=True)
    return [(target[g, i], atom[g, j], image[g, s] if translation is not None else None)]


def _nearest(keep, d2, k):
    """``keep`` ``[T, C]`` reduced to each row's ``k`` nearest ``True`` entries by ``d2``
    (ties go to the lower column: the lower source, then the lower image)."""
    over = (keep.sum(1) > k).nonzero().flatten()
    if not over.numel():
        return keep
    order = torch.sort(d2[over].masked_fill(~keep[over], math.inf), dim=1, stable=True).indices[:, :k]
    nearest = torch.zeros_like(keep[over]).scatter_(1, order, True)
    keep = keep.clone()
    keep[over] &= nearest
    return keep


def _cells(cell, pbc, n_frames, d, device):
    """``[B, d, d]`` float64 cells completed along non-periodic directions, and ``[B, d]`` pbc."""
    cell = torch.as_tensor(cell, device=device)
    if not cell.is_floating_point():
        raise ValueError(f"radius_graph: cell must be a float tensor, got {cell.dtype}")
    cell = cell.detach().double()
    if cell.shape == (d, d):
        cell = cell.expand(n_frames, d, d)
    if cell.shape != (n_frames, d, d):
        raise ValueError(f"radius_graph: cell must have shape ({n_frames}, {d}, {d}) or ({d}, {d}) (one cell per "
                         f"frame, rows the lattice vectors, for positions [N, {d}]), got {tuple(cell.shape)}")
    if pbc is None:
        pbc = cell.abs().sum(-1) > 0
    pbc = torch.as_tensor(pbc, device=device)
    if pbc.dtype != torch.bool:
        raise ValueError(f"radius_graph: pbc must be a bool tensor, got {pbc.dtype}")
    if pbc.shape == (d,):
        pbc = pbc.expand(n_frames, d)
    if pbc.shape != (n_frames, d):
        raise ValueError(f"radius_graph: pbc must have shape ({n_frames}, {d}) or ({d},), got {tuple(pbc.shape)}")
    if not n_frames:
        return cell, pbc
    # replace the vectors of non-periodic directions by an orthonormal basis of the complement
    # of the periodic ones (any completion gives the same graph; it keeps the cell invertible)
    rows = torch.where(pbc[..., None], cell, torch.zeros_like(cell))
    complement = torch.linalg.svd(rows).Vh
    slot = (pbc.sum(1, keepdim=True) + torch.cumsum(~pbc, 1) - 1).clamp(max=d - 1)
    full = torch.where(pbc[..., None], cell, complement.gather(1, slot[..., None].expand(-1, -1, d)))
    volume = torch.linalg.det(full).abs()
    scale = torch.where(pbc, cell.norm(dim=-1), torch.ones_like(volume[:, None])).prod(1)
    bad = (pbc.any(1) & ~(volume > 1e-10 * scale)).nonzero()
    if bad.numel():
        b = int(bad[0])
        raise ValueError(f"radius_graph: frame {b} is periodic along directions "
                         f"{pbc[b].nonzero().flatten().tolist()} but its cell vectors there are zero or linearly "
                         f"dependent (volume {float(volume[b]):.3g}); a periodic frame needs a cell of nonzero volume")
    return full, pbc


def _images(pos, batch, cell, pbc, r):
    """Wrap the positions into their cells and list the shifts that can reach within ``r``."""
    if not math.isfinite(r) and bool(pbc.any()):
        raise ValueError(f"radius_graph: a periodic graph needs a finite radius, got {r}")
    d = pos.shape[1]
    inv = torch.linalg.inv(cell)
    frac = torch.einsum("ni,nij->nj", pos.double(), inv[batch])
    offset = torch.where(pbc[batch], torch.floor(frac), torch.zeros_like(frac))
    wrapped = (pos.double() - torch.einsum("ni,nij->nj", offset, cell[batch])).to(pos.dtype)
    # wrapped fractional coordinates differ by less than 1, and |f_k| <= |v| |column k of C^-1|
    # for any vector v, so shifts |S_k| <= ceil(r |column k of C^-1|) suffice (r / plane spacing)
    reach = torch.where(pbc, torch.ceil(r * torch.linalg.norm(inv, dim=1)), torch.zeros_like(inv[:, 0])).long()
    n_img = (2 * reach + 1).prod(1)
    image_start = torch.cumsum(n_img, 0) - n_img
    frame = torch.repeat_interleave(torch.arange(cell.shape[0], device=pos.device), n_img)
    rest = torch.arange(frame.shape[0], device=pos.device) - image_start[frame]
    shift = torch.empty(frame.shape[0], d, dtype=torch.float64, device=pos.device)
    for k in reversed(range(d)):  # mixed radix, the last direction fastest: lexicographic shifts
        width = 2 * reach[frame, k] + 1
        shift[:, k] = (rest % width - reach[frame, k]).double()
        rest = rest // width
    translation = sum(shift[:, k, None] * cell[frame, k] for k in range(d)).to(pos.dtype)
    return wrapped, offset, n_img, image_start, shift, translation
