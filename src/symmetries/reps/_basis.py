"""The constraint solver: all linear maps W with rho_out(g) W = W rho_in(g)."""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
import torch

from symmetries.groups import check_same_group
from symmetries.reps._rep import Rep

#: dense bases with more entries than this (float64) are returned sparse or refused
DENSE_LIMIT = 2**27
#: largest unknown count d_out * d_in solved densely by eigendecomposition
DENSE_SOLVE_LIMIT = 6000


def equivariant_basis(rep_in: Rep, rep_out: Rep, sparse: bool | None = None) -> torch.Tensor:
    r"""An orthonormal basis of all equivariant linear maps from ``rep_in`` to ``rep_out``,

    .. math::
        \{W \in \mathbb{R}^{d_{out} \times d_{in}} : \rho_{out}(g) W = W \rho_{in}(g)
        \ \forall g \in G\}.

    Solved from the generators only: :math:`\rho_{out}(h) W = W \rho_{in}(h)` for the discrete
    generators ``h`` and :math:`d\rho_{out}(A) W = W d\rho_{in}(A)` for the Lie-algebra
    generators ``A``. Direct sums are solved block by block (each distinct pair once, in the
    order of :func:`basis_blocks`: summands of ``rep_out`` outer); permutation reps by orbits
    of index pairs (exact, any size); other blocks as the nullspace of the stacked
    constraints. Results are cached. Coordinates of a tensor-product rep ``V * W`` are the
    entries of a ``(V.dim, W.dim)`` tensor flattened row-major (entry ``(i, j)`` is coordinate
    ``i * W.dim + j``, as ``torch.kron`` and ``x.reshape(-1)``), so a map on ``V**2``
    reshaped to ``(d_out, V.dim, V.dim)`` reads as a function of a matrix.

    Args:
        rep_in: the representation on the input, of the same group as ``rep_out``.
        rep_out: the representation on the output.
        sparse: ``None`` (default) returns a sparse COO tensor only when the dense one would
            exceed ``DENSE_LIMIT`` entries, ``True`` always (permutation reps are the ones
            solved sparsely), ``False`` never.

    Returns:
        The basis, float64, orthonormal in the Frobenius inner product.

    Shapes:
        - **output:** ``(k, rep_out.dim, rep_in.dim)``, ``k = basis_size(rep_in, rep_out)``

    Raises:
        TypeError: if either argument is not a :class:`~symmetries.reps.Rep`.
        ValueError: if the two reps belong to different groups.
        MemoryError: with ``sparse=False``, before allocating a dense basis of more than
            ``DENSE_LIMIT`` entries; or when a block has more than ``DENSE_SOLVE_LIMIT``
            unknowns ``d_out * d_in`` for the dense solver.
    """
    _check_reps(rep_in, rep_out)
    if len(rep_in.components()) == 1 and len(rep_out.components()) == 1:
        block = block_basis(rep_in, rep_out)  # no assembly needed
        if sparse is None or sparse == block.is_sparse:
            return block.clone()
    k, rows, cols, vals = _assemble(rep_in, rep_out)
    shape = (k, rep_out.dim, rep_in.dim)
    dense_entries = k * rep_out.dim * rep_in.dim
    if sparse is None:
        sparse = dense_entries > DENSE_LIMIT
    idx = torch.stack([vals[0], rows, cols])
    if sparse:
        return torch.sparse_coo_tensor(idx, vals[1], shape, check_invariants=False).coalesce()
    if dense_entries > DENSE_LIMIT:
        raise MemoryError(
            f"the basis of {rep_in!r} -> {rep_out!r} has {k} maps of {rep_out.dim} x {rep_in.dim}: "
            f"{dense_entries * 8 / 2**30:.1f} GiB dense; ask for sparse=True")
    out = torch.zeros(shape, dtype=torch.float64)
    out[idx[0], idx[1], idx[2]] = vals[1]
    return out


class BasisBlock(NamedTuple):
    """Where one pair of summands sits in an equivariant basis (see :func:`basis_blocks`).

    Args:
        maps: the indices of the basis maps that send summand ``rep_in`` to ``rep_out``.
        rows: the rows of summand ``rep_out``.
        cols: the columns of summand ``rep_in``.
        rep_out: the output summand.
        rep_in: the input summand.
        out_index: the position of ``rep_out`` among the summands of the output rep.
        in_index: the position of ``rep_in`` among the summands of the input rep.
    """

    maps: range
    rows: slice
    cols: slice
    rep_out: Rep
    rep_in: Rep
    out_index: int
    in_index: int


def basis_blocks(rep_in: Rep, rep_out: Rep) -> list[BasisBlock]:
    """Where the maps of :func:`equivariant_basis` live: one :class:`BasisBlock` per pair of
    summands with a nonzero basis, in the basis's order (summands of ``rep_out`` outer, of
    ``rep_in`` inner). ``equivariant_basis(rep_in, rep_out)[b.maps][:, b.rows, b.cols]`` is
    ``block_basis(b.rep_in, b.rep_out)`` and the maps are zero elsewhere.

    Args:
        rep_in: the input representation.
        rep_out: the output representation, of the same group.

    Returns:
        The list of blocks; their ``maps`` ranges tile ``range(basis_size(rep_in, rep_out))``.
    """
    _check_reps(rep_in, rep_out)
    blocks, k, row = [], 0, 0
    for i_out, ro in enumerate(rep_out.components()):
        col = 0
        for i_in, ri in enumerate(rep_in.components()):
            n = block_basis(ri, ro).shape[0]
            if n:
                blocks.append(BasisBlock(range(k, k + n), slice(row, row + ro.dim), slice(col, col + ri.dim), ro, ri,
                                         i_out, i_in))
                k += n
            col += ri.dim
        row += ro.dim
    return blocks


def basis_size(rep_in: Rep, rep_out: Rep) -> int:
    r"""The number of independent equivariant maps, :math:`\dim \mathrm{Hom}_G(\rho_{in},
    \rho_{out})`, without assembling the full basis (the blocks are solved and cached).

    Args:
        rep_in: the input representation.
        rep_out: the output representation, of the same group.

    Returns:
        ``k``, the first dimension of ``equivariant_basis(rep_in, rep_out)``.
    """
    _check_reps(rep_in, rep_out)
    return sum(block_basis(ri, ro).shape[0] for ro in rep_out.components() for ri in rep_in.components())


def _check_reps(rep_in, rep_out):
    for name, r in (("rep_in", rep_in), ("rep_out", rep_out)):
        if not isinstance(r, Rep):
            raise TypeError(f"{name} must be a Rep, got {type(r).__name__}")
    check_same_group(rep_in.group, rep_out.group, "rep_out")


def _assemble(rep_in, rep_out):
    """Place each block's basis at its offset: returns (k, rows, cols, (map index, values))."""
    rows, cols, ks, vs = [], [], [], []
    k = 0
    o_off = 0
    for ro in rep_out.components():
        i_off = 0
        for ri in rep_in.components():
            block = block_basis(ri, ro)
            if block.shape[0]:
                if block.is_sparse:
                    idx, val = block.indices(), block.values()
                else:
                    idx = block.nonzero().T
                    val = block[idx[0], idx[1], idx[2]]
                ks.append(idx[0] + k)
                rows.append(idx[1] + o_off)
                cols.append(idx[2] + i_off)
                vs.append(val)
                k += block.shape[0]
            i_off += ri.dim
        o_off += ro.dim
    if not ks:
        empty = torch.zeros(0, dtype=torch.long)
        return 0, empty, empty, (empty, torch.zeros(0, dtype=torch.float64))
    return k, torch.cat(rows), torch.cat(cols), (torch.cat(ks), torch.cat(vs))


@functools.lru_cache(maxsize=4096)
def block_basis(rep_in: Rep, rep_out: Rep) -> torch.Tensor:
    """The equivariant basis for a pair of non-sum reps (one summand each), cached.

    Permutation reps are solved by orbits of index pairs (exact, sparse when large); others as
    the nullspace of the generators' constraints.

    Args:
        rep_in: the input summand.
        rep_out: the output summand.

    Returns:
        The basis, float64, dense or sparse COO; shared with the cache, so clone before
        writing to it.

    Shapes:
        - **output:** ``(k, rep_out.dim, rep_in.dim)``
    """
    if rep_in.is_permutation and rep_out.is_permutation:
        return _orbit_basis(rep_in, rep_out)
    return _nullspace_basis(rep_in, rep_out)


def _orbit_basis(rep_in, rep_out):
    r"""Permutation reps: W is equivariant iff it is constant on the orbits of the index
    pairs ``(o, i)`` under :math:`(o, i) \mapsto (p_{out}(h)[o], p_{in}(h)[i])`."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    G = rep_in.group
    gens = G.discrete_generators
    d_in, d_out = rep_in.dim, rep_out.dim
    n = d_in * d_out
    node = np.arange(n)
    src, dst = [], []
    if G.batch_size(gens):
        p_in = rep_in.permutation(gens).cpu().numpy()
        p_out = rep_out.permutation(gens).cpu().numpy()
        o, i = np.divmod(node, d_in)
        for a, b in zip(p_out, p_in):
            src.append(node)
            dst.append(a[o] * d_in + b[i])
    if src:
        graph = coo_matrix((np.ones(sum(map(len, src))), (np.concatenate(src), np.concatenate(dst))), shape=(n, n))
        k, labels = connected_components(graph, directed=True, connection="weak")
    else:
        k, labels = n, node
    # order orbits by first appearance so the basis does not depend on scipy's labelling
    _, first = np.unique(labels, return_index=True)
    relabel = np.empty(k, dtype=np.int64)
    relabel[np.argsort(np.argsort(first))] = np.arange(k)
    labels = relabel[labels]
    size = np.bincount(labels, minlength=k)
    vals = 1.0 / np.sqrt(size[labels])
    if k * n <= DENSE_LIMIT // 8:
        dense = torch.zeros(k, n, dtype=torch.float64)
        dense[torch.from_numpy(labels), torch.from_numpy(node)] = torch.from_numpy(vals)
        return dense.reshape(k, d_out, d_in)
    o, i = np.divmod(node, d_in)
    idx = torch.from_numpy(np.stack([labels, o, i]))
    return torch.sparse_coo_tensor(idx, torch.from_numpy(vals), (k, d_out, d_in), check_invariants=False).coalesce()


def _nullspace_basis(rep_in, rep_out):
    """Nullspace of the stacked linear constraints on vec(W) (row-major)."""
    G = rep_in.group
    d_in, d_out = rep_in.dim, rep_out.dim
    n = d_in * d_out
    if n > DENSE_SOLVE_LIMIT:
        raise MemoryError(
            f"{rep_in!r} -> {rep_out!r} has {n} unknowns, more than the dense solver takes "
            f"({DENSE_SOLVE_LIMIT}); split the reps into sums of smaller ones")
    pairs = []
    gens = G.discrete_generators
    if G.batch_size(gens):
        pairs.append((rep_out(gens).double(), rep_in(gens).double()))
    lie = G.lie_generators
    if len(lie):
        pairs.append((rep_out.drep(lie).double(), rep_in.drep(lie).double()))
    if not pairs:
        return torch.eye(n, dtype=torch.float64).reshape(n, d_out, d_in)
    M = sum(_gram(A, B) for A, B in pairs)
    evals, evecs = _eigh_single_thread(M)
    scale = max(float(evals.abs().max()), 1.0)
    null = evecs[:, evals <= 1e-9 * scale]
    if null.shape[1]:
        null = _canonical(null)
    return null.T.reshape(-1, d_out, d_in).contiguous()


def _eigh_single_thread(M: torch.Tensor):
    """``torch.linalg.eigh`` on one thread: these problems (n <= a few thousand) gain
    little from threads, and threads make them 10x slower on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return torch.linalg.eigh(M)
    finally:
        torch.set_num_threads(threads)


def _canonical(Q: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of span(Q) that depends on the subspace only, not on which
    basis eigh returned: orthonormalize the projection of a fixed random matrix. Saved
    weights (coefficients in this basis) thus load the same on any machine."""
    z = torch.randn(Q.shape[0], Q.shape[1], generator=torch.Generator().manual_seed(0), dtype=Q.dtype)
    q, r = torch.linalg.qr(Q @ (Q.T @ z))
    return q * torch.sign(torch.diagonal(r))[None, :]


def _gram(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_m C_m^T C_m` for the constraints :math:`C_m = A_m \otimes I - I \otimes B_m^T`
    on row-major vec(W), assembled from Kronecker products in :math:`O(n^2)` per generator:
    :math:`C^T C = A^T A \otimes I - A^T \otimes B^T - A \otimes B + I \otimes B B^T`."""
    d_out, d_in = A.shape[-1], B.shape[-1]
    eye_o = torch.eye(d_out, dtype=A.dtype)
    eye_i = torch.eye(d_in, dtype=A.dtype)
    AtA = (A.transpose(-1, -2) @ A).sum(0)
    BBt = (B @ B.transpose(-1, -2)).sum(0)
    return torch.kron(AtA, eye_i) + torch.kron(eye_o, BBt) - _cross(A, B)


def _cross(A, B):
    r""":math:`\sum_m A_m^T \otimes B_m^T + A_m \otimes B_m` as an ``(n, n)`` matrix."""
    d_out, d_in = A.shape[-1], B.shape[-1]
    K = torch.einsum("mji,mlk->ikjl", A, B) + torch.einsum("mij,mkl->ikjl", A, B)
    return K.reshape(d_out * d_in, d_out * d_in)
