r"""Bases of steerable convolution kernels on a ``k x k`` pixel grid.

A kernel :math:`\kappa: \mathbb{R}^2 \to \mathbb{R}^{d_{out} \times d_{in}}` makes the
convolution equivariant iff :math:`\kappa(g x) = \rho_{out}(g)\, \kappa(x)\, \rho_{in}(g)^{-1}`
(Weiler & Cesa 2019).

**Harmonic basis** (any planar group). In polar coordinates a kernel is a sum of rings
(Gaussian radial profiles :math:`e^{-(|x| - r)^2 / 2\sigma^2}`, ``r = 0 .. (k-1)/2``) times
angular harmonics :math:`Y_m = (\cos m\phi, \sin m\phi)`, with ``m <= 2`` (``m <= 1`` on
the outermost ring, ``m = 0`` at the centre: escnn's default band limit). Since
:math:`Y_m(g x) = \psi_m(g) Y_m(x)` with
:math:`\psi_m(r_\theta f^s) = R(m\theta)\,\mathrm{diag}(1, -1)^s`, writing
:math:`\kappa = \sum_t c_t Y_{m,t}` turns the constraint into
:math:`\rho_{out}(g)\, W = W\, (\psi_m(g) \otimes \rho_{in}(g))` for
:math:`W = [c_1, c_2]`, solved by :func:`symmetries.reps.equivariant_basis` (large reps
through their irreducible decomposition). The sampled elements are orthonormalized
(Gram-Schmidt in a fixed order, dropping elements the grid cannot resolve). Exact on the grid for
rotations by multiples of 90 degrees and axis flips; C8, C16, SO(2) are equivariant up to
the sampling error of the band-limited kernels.

**Grid basis** (the groups that map the pixel grid to itself: C1, C2, C4, D1, D2, D4).
The kernel is any function on the pixels: the pixels carry a permutation rep
:math:`P` and the constraint is :math:`\rho_{out} W = W (P \otimes \rho_{in})`. This is the
G-CNN of Cohen & Welling (2016) (p4, p4m) with every free parameter of the filter.
"""

from __future__ import annotations

import functools
import math

import torch

from symmetries.actions import planar_angle
from symmetries.groups import O, Cyclic, Dihedral
from symmetries.reps import PermutationRep, Rep, TensorRep, decompose, equivariant_basis

#: direct solves above this many unknowns go through the irreducible decomposition
DIRECT_LIMIT = 256


class HarmonicRep(Rep):
    r"""How a planar group acts on the coefficients of the angular harmonic
    :math:`(\cos m\phi, \sin m\phi)`,

    .. math::
        \psi_m(r_\theta f^s) = R(m\theta)\,\mathrm{diag}(1,-1)^s,

    for a rotation :math:`r_\theta` after :math:`s \in \{0, 1\}` flips (1-dimensional and
    trivial for ``m = 0``).

    Args:
        group: a planar group (Cyclic, Dihedral, SO2, O2).
        m: the angular frequency, >= 0.
    """

    def __init__(self, group, m: int):
        self.group, self.m = group, int(m)
        self.dim = 1 if m == 0 else 2
        self.is_permutation = m == 0

    def _key(self):
        return (self.group, self.m)

    def __repr__(self):
        return f"harmonic({self.group!r}, {self.m})"

    def __call__(self, g):
        theta, s = planar_angle(self.group, g)
        n = len(theta)
        if self.m == 0:
            return torch.ones(n, 1, 1, dtype=torch.float64, device=theta.device)
        c, si = torch.cos(self.m * theta), torch.sin(self.m * theta)
        R = torch.stack([torch.stack([c, -si], -1), torch.stack([si, c], -1)], -2)
        R[:, :, 1] = torch.where(s.bool()[:, None], -R[:, :, 1], R[:, :, 1])  # R F^s
        return R

    def drep(self, A):
        out = A.new_zeros(A.shape[0], self.dim, self.dim)
        if self.m:
            out[:, 0, 1], out[:, 1, 0] = -self.m * A[:, 1, 0], self.m * A[:, 1, 0]
        return out

    def permutation(self, g):
        if self.m:
            return super().permutation(g)
        return torch.zeros(self.group.batch_size(g), 1, dtype=torch.long)


def grid_coordinates(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` float64 ``(k, k)``: column offset (right) and row offset (up) of each tap."""
    R = (k - 1) / 2
    i, j = torch.meshgrid(torch.arange(k, dtype=torch.float64), torch.arange(k, dtype=torch.float64), indexing="ij")
    return j - R, R - i


def grid_exact(group) -> bool:
    """Whether every element maps the pixel grid onto itself (C1, C2, C4, D1, D2, D4)."""
    return isinstance(group, (Cyclic, Dihedral)) and 4 % group.n == 0


def _pixel_rep(group, k: int) -> Rep:
    x, y = grid_coordinates(k)
    R = (k - 1) // 2

    def permute(g):
        theta, s = planar_angle(group, g)
        q = torch.round(theta / (math.pi / 2)).long() % 4
        xs, ys = x.flatten()[None].round().long(), y.flatten()[None].round().long()
        ys = torch.where(s.bool()[:, None], -ys, ys)
        for _ in range(3):  # rotate each by its own number of quarter turns
            turn = q > 0
            xs, ys = torch.where(turn[:, None], -ys, xs), torch.where(turn[:, None], xs, ys)
            q = q - turn.long()
        return (R - ys) * k + (xs + R)

    return PermutationRep(group, k * k, permute, f"pixels{k}")


def _max_frequency(ring: float, outer: float, cap) -> int:
    f = 0 if ring == 0 else 1 if ring == outer else 2  # escnn's default band limit
    return f if cap is None else min(f, int(cap))


@functools.lru_cache(maxsize=512)
def _decomposition(rep: Rep):
    """Irreducible pieces of ``rep``: list of (irrep, first row) and the orthogonal Q."""
    dec = decompose(rep)
    pieces, row = [], 0
    for pi, mult in zip(dec.irreps, dec.multiplicities):
        for _ in range(mult):
            pieces.append((pi, row))
            row += pi.dim
    return pieces, dec.Q


def _fixed_vectors(mats: torch.Tensor, perm: bool) -> torch.Tensor:
    """Orthonormal basis ``(k, a)`` of the vectors fixed by every matrix of ``mats`` ``(s, a, a)``
    (a finite group's image, so the average is the projector onto them)."""
    a = mats.shape[-1]
    P = mats.mean(0)
    if perm:  # orbits of the indices: normalized indicators
        labels = (mats.abs() > 0.5).float().sum(0).gt(0)  # i ~ j when some matrix maps one to the other
        seen, out = torch.zeros(a, dtype=torch.bool), []
        for j in range(a):
            if not seen[j]:
                orbit = labels[:, j]
                seen |= orbit
                out.append(orbit.double() / orbit.sum().sqrt())
        return torch.stack(out)
    rank = int(round(float(torch.trace(P))))
    if rank == a:
        return torch.eye(a, dtype=torch.float64)
    if rank == 0:
        return torch.zeros(0, a, dtype=torch.float64)
    if a == 2:  # rank-1 projector: its largest column spans the range
        col = P[:, int(P.norm(dim=0).argmax())]
        return (col / col.norm())[None]
    evals, evecs = torch.linalg.eigh(P)
    return evecs[:, evals > 0.5].T


def _permutation_coefficients(rep_in: Rep, rep_out: Rep, angular: Rep) -> torch.Tensor:
    r"""Permutation fields of a finite group, in closed form: :math:`W[g o, :, g i] = \psi(g)\, w`
    over each orbit of index pairs ``(o, i)``, with ``w`` fixed by the pair's stabilizer."""
    G = rep_in.group
    els = G.elements()
    p_in, p_out = rep_in.permutation(els).cpu(), rep_out.permutation(els).cpu()
    A = angular(els).double().cpu()
    d_o, d_i, a = rep_out.dim, rep_in.dim, angular.dim
    seen = torch.zeros(d_o, d_i, dtype=torch.bool)
    out = []
    for o0 in range(d_o):
        for i0 in range(d_i):
            if seen[o0, i0]:
                continue
            po, pi = p_out[:, o0], p_in[:, i0]
            seen[po, pi] = True
            stab = (po == o0) & (pi == i0)
            for w in _fixed_vectors(A[stab], angular.is_permutation):
                W = torch.zeros(d_o, a, d_i, dtype=torch.float64)
                W[po, :, pi] = A @ w  # elements of one coset of the stabilizer write the same value
                out.append(W / W.norm())
    if not out:
        return torch.zeros(0, d_o, a, d_i, dtype=torch.float64)
    return torch.stack(out)


@functools.lru_cache(maxsize=2048)
def _coefficients(rep_in: Rep, rep_out: Rep, angular: Rep) -> torch.Tensor:
    r"""Basis ``(n, d_out, a, d_in)`` of :math:`W` with :math:`\rho_{out} W = W (\psi \otimes \rho_{in})`."""
    a = angular.dim
    if rep_in.is_permutation and rep_out.is_permutation and rep_in.group.order:
        return _permutation_coefficients(rep_in, rep_out, angular)
    if rep_out.dim * a * rep_in.dim <= DIRECT_LIMIT:
        B = equivariant_basis(TensorRep([angular, rep_in]), rep_out, sparse=False)
        return B.reshape(-1, rep_out.dim, a, rep_in.dim)
    pin, Qin = _decomposition(rep_in)
    pout, Qout = _decomposition(rep_out)
    blocks = []
    for po, ro in pout:
        for pi, ri in pin:
            b = _coefficients(pi, po, angular)
            if len(b):
                full = b.new_zeros(len(b), rep_out.dim, a, rep_in.dim)
                full[:, ro:ro + po.dim, :, ri:ri + pi.dim] = b
                blocks.append(full)
    if not blocks:
        return torch.zeros(0, rep_out.dim, a, rep_in.dim, dtype=torch.float64)
    W = torch.cat(blocks)
    return torch.einsum("ao,nahc,cd->nohd", Qout, W, Qin)  # rho = Q^T D Q


@functools.lru_cache(maxsize=512)
def invariant_vectors(rep: Rep) -> torch.Tensor:
    """Orthonormal basis ``(k, dim)`` (float64) of the vectors that ``rep`` leaves fixed."""
    from symmetries.reps import trivial

    return _coefficients(trivial(rep.group), rep, HarmonicRep(rep.group, 0))[:, :, 0, 0]


def _orthonormalize(B: torch.Tensor, rtol: float = 1e-6) -> torch.Tensor:
    """Gram-Schmidt in the given order (through the Cholesky factor of the Gram matrix),
    dropping elements that the earlier ones span: a deterministic orthonormal basis of the
    same span whose ``j``-th element depends only on the first ``j`` inputs."""
    flat = B.reshape(len(B), -1)
    norms = flat.norm(dim=1)
    flat = flat[norms > rtol * max(float(norms.max()), 1e-300)] if len(flat) else flat
    flat = flat / flat.norm(dim=1, keepdim=True)
    gram = flat @ flat.T
    L, info = torch.linalg.cholesky_ex(gram)
    if int(info) == 0 and float(L.diagonal().min()) ** 2 > rtol:  # all independent
        return torch.linalg.solve_triangular(L, flat, upper=False).reshape(B.shape)
    keep: list[int] = []
    L = None
    for j in range(len(flat)):
        if keep:
            c = torch.linalg.solve_triangular(L, gram[keep, j:j + 1], upper=False)
            resid = float(gram[j, j] - (c**2).sum())
        else:
            c, resid = None, float(gram[j, j])
        if resid > rtol:
            d = math.sqrt(resid)
            if L is None:
                L = torch.tensor([[d]], dtype=flat.dtype)
            else:
                m = len(keep)
                new = L.new_zeros(m + 1, m + 1)
                new[:m, :m], new[m, :m], new[m, m] = L, c.flatten(), d
                L = new
            keep.append(j)
    return torch.linalg.solve_triangular(L, flat[keep], upper=False).reshape(len(keep), *B.shape[1:])


@functools.lru_cache(maxsize=512)
def kernel_basis(rep_in: Rep, rep_out: Rep, kernel_size: int, basis: str = "harmonic", sigma: float = 0.6,
                 max_frequency: int | None = None) -> torch.Tensor:
    r"""Orthonormal basis of the steerable kernels on a ``k x k`` grid,

    .. math::
        \kappa(g x) = \rho_{out}(g)\, \kappa(x)\, \rho_{in}(g)^{-1},

    built as in the module docstring. Cached per arguments.

    Args:
        rep_in: the input field's rep, of a planar group.
        rep_out: the output field's rep, of the same group.
        kernel_size: ``k``, odd.
        basis: ``"harmonic"`` (default; steerable, any planar group) or ``"grid"`` (every pixel
            free; only groups that map the grid to itself: C1, C2, C4, D1, D2, D4).
        sigma: the width in pixels of the Gaussian rings of the harmonic basis (default: 0.6).
        max_frequency: a cap on the angular frequency, below the default band limit
            (default: ``None``, the band limit alone).

    Returns:
        The basis, float64 (``n`` may be 0).

    Shapes:
        - **output:** ``(n, rep_out.dim, rep_in.dim, k, k)``

    Raises:
        ValueError: for an even ``kernel_size``, reps of different groups, an unknown
            ``basis``, or ``"grid"`` with a group that does not map the grid to itself.
    """
    k = int(kernel_size)
    G = rep_in.group
    if k < 1 or k % 2 == 0:
        raise ValueError(f"kernel_size must be odd (the kernel is centred on a pixel so that rotations map it to "
                         f"itself; an even size has an empty equivariant basis), got {kernel_size}")
    if rep_out.group != G:
        raise ValueError(f"rep_out {rep_out!r} belongs to {rep_out.group!r}, expected a rep of {G!r}")
    if basis == "grid":
        if not grid_exact(G):
            raise ValueError(f"the grid basis needs a group that maps the pixel grid to itself (C1, C2, C4, D1, "
                             f"D2, D4), got {G!r}; use basis='harmonic' for a steerable kernel")
        C = _coefficients(rep_in, rep_out, _pixel_rep(G, k))  # (n, d_out, k*k, d_in)
        return C.permute(0, 1, 3, 2).reshape(len(C), rep_out.dim, rep_in.dim, k, k).contiguous()
    if basis != "harmonic":
        raise ValueError(f"basis must be 'harmonic' or 'grid', got {basis!r}")
    x, y = grid_coordinates(k)
    radius, phi = torch.sqrt(x**2 + y**2), torch.atan2(y, x)
    centre = radius < 1e-9
    elements = []
    for r in range(0, (k - 1) // 2 + 1):
        profile = torch.exp(-((radius - r) ** 2) / (2 * sigma**2))
        for m in range(_max_frequency(r, (k - 1) // 2, max_frequency) + 1):
            C = _coefficients(rep_in, rep_out, HarmonicRep(G, m))  # (n, d_out, a, d_in)
            if not len(C):
                continue
            if m == 0:
                Y = profile[None]
            else:  # harmonics with m > 0 vanish at the centre, where the angle is undefined
                Y = torch.stack([torch.cos(m * phi), torch.sin(m * phi)]) * torch.where(centre, 0.0, profile)
            elements.append(torch.einsum("noti,thw->noihw", C, Y))
    if not elements:
        return torch.zeros(0, rep_out.dim, rep_in.dim, k, k, dtype=torch.float64)
    return _orthonormalize(torch.cat(elements))


def check_kernel_group(group) -> None:
    """Raise unless ``group`` is a planar point group a kernel basis can be built for."""
    if not (isinstance(group, (Cyclic, Dihedral)) or (isinstance(group, O) and group.n == 2)):
        raise TypeError(f"steerable kernels need a planar group (Cyclic, Dihedral, SO2, O2), got {group!r}")
