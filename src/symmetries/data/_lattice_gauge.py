r"""Lattice gauge theory ensembles: Monte Carlo with the Wilson action

.. math::
    S[U] = \beta \sum_x \sum_{\mu < \nu} \Big(1 - \frac{1}{N} \mathrm{Re}\,\mathrm{tr}\, U_{\mu\nu}(x)\Big)

for :math:`U(1)`, :math:`SU(2)` and :math:`SU(3)` on periodic lattices. A sweep visits every
link once with a heat-bath update (von Mises for :math:`U(1)`; Creutz's method for small
:math:`\beta k`, Kennedy-Pendleton otherwise, for :math:`SU(2)`; Cabibbo-Marinari's three
:math:`SU(2)` subgroups for :math:`SU(3)`; kernels in ``_heatbath``), then ``overrelax`` times
with an over-relaxation step that keeps the action; links of one direction and one checkerboard
colour (:math:`\sum_\nu x_\nu` even or odd) do not share a plaquette and are updated together,
vectorised in torch over the lattice and a batch of independent chains (CPU or CUDA). Links are
reunitarised after every sweep.
"""

from __future__ import annotations

import math
import os

import torch

from symmetries._internal.atomic import save_atomic
from symmetries._internal.cache import cache_root
from symmetries.actions import check_links, plaquettes
from symmetries.data._heatbath import heatbath as _heatbath_update, overrelax as _overrelax_update
from symmetries.groups import UnitaryGauge, gauge_group, project_unitary

def wilson_action(U: torch.Tensor, beta: float) -> torch.Tensor:
    r"""The Wilson action of each configuration,

    .. math::
        S = \beta \sum_x \sum_{\mu < \nu} \Big(1 - \frac{1}{N}\mathrm{Re}\,\mathrm{tr}\, U_{\mu\nu}(x)\Big).

    Args:
        U: links.
        beta: the coupling :math:`\beta`.

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``
        - **output:** ``(B,)`` real

    Returns:
        :math:`S` per configuration.
    """
    tr = torch.diagonal(plaquettes(U), dim1=-2, dim2=-1).sum(-1).real / U.shape[-1]
    return beta * (1 - tr).flatten(1).sum(1)


def mean_plaquette(U: torch.Tensor) -> torch.Tensor:
    r"""The average plaquette :math:`\langle \frac1N \mathrm{Re}\,\mathrm{tr}\, U_{\mu\nu}(x)\rangle`
    over sites and planes of each configuration (:math:`\langle\cos\theta_P\rangle` for :math:`U(1)`).

    Args:
        U: links.

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``
        - **output:** ``(B,)`` real

    Returns:
        the average per configuration.
    """
    tr = torch.diagonal(plaquettes(U), dim1=-2, dim2=-1).sum(-1).real / U.shape[-1]
    return tr.flatten(1).mean(1)


def _s(f, nu, k=1):
    """Site field (B, L..., N, N) at x + k nu."""
    return torch.roll(f, shifts=-k, dims=1 + nu)


def staples(U: torch.Tensor, mu: int) -> torch.Tensor:
    r"""The staple sum :math:`A_\mu(x)` of the links in direction ``mu``, so that the part of
    the Wilson action that depends on :math:`U_\mu(x)` is :math:`-\frac{\beta}{N}\mathrm{Re}\,
    \mathrm{tr}\,U_\mu(x) A_\mu(x)`:

    .. math::
        A_\mu(x) = \sum_{\nu \ne \mu} U_\nu(x+\hat\mu) U_\mu(x+\hat\nu)^\dagger U_\nu(x)^\dagger
        + U_\nu(x+\hat\mu-\hat\nu)^\dagger U_\mu(x-\hat\nu)^\dagger U_\nu(x-\hat\nu).

    Args:
        U: links.
        mu: the direction.

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``
        - **output:** ``(B, L_0, ..., L_{D-1}, N, N)``

    Returns:
        :math:`A_\mu(x)` at every site.
    """
    D, Umu = U.shape[1], U[:, mu]
    total = torch.zeros_like(Umu)
    for nu in range(D):
        if nu == mu:
            continue
        Unu = U[:, nu]
        total = total + _s(Unu, mu) @ _s(Umu, nu).mH @ Unu.mH
        back = _s(Unu, nu, -1)
        total = total + _s(back, mu).mH @ _s(Umu, nu, -1).mH @ back
    return total


def reunitarize(U: torch.Tensor) -> torch.Tensor:
    r"""Links projected back onto the gauge group against rounding drift: :math:`U/|U|` for
    :math:`U(1)`; for :math:`SU(2)` the quaternion part :math:`(U + \sigma_2 U^* \sigma_2)/2`
    normalised; for larger :math:`N` :func:`~symmetries.groups.project_unitary`.

    Args:
        U: matrices close to :math:`U(1)` (``N = 1``) or :math:`SU(N)`.

    Shapes:
        - **U:** ``(..., N, N)``
        - **output:** ``(..., N, N)``

    Returns:
        the projected matrices.
    """
    N = U.shape[-1]
    if N == 1:
        return U / U.abs().clamp_min(torch.finfo(U.real.dtype).tiny)
    if N == 2:
        alpha = (U[..., 0, 0] + U[..., 1, 1].conj()) / 2
        beta_ = (U[..., 0, 1] - U[..., 1, 0].conj()) / 2
        norm = torch.sqrt(alpha.abs() ** 2 + beta_.abs() ** 2)[..., None]
        alpha, beta_ = alpha / norm[..., 0], beta_ / norm[..., 0]
        top = torch.stack([alpha, beta_], -1)
        bottom = torch.stack([-beta_.conj(), alpha.conj()], -1)
        return torch.stack([top, bottom], -2)
    return project_unitary(U, special=True)


def _parity(shape, device):
    coords = torch.meshgrid(*[torch.arange(L, device=device) for L in shape], indexing="ij")
    return sum(coords) % 2


def _mc_group(U) -> int:
    N = U.shape[-1]
    if N not in (1, 2, 3):
        raise ValueError(f"the Monte Carlo updates support U(1) (N = 1), SU(2) and SU(3) links, got N = {N}")
    return N


def gauge_sweep(U: torch.Tensor, beta: float, generator: torch.Generator | None = None, overrelax: int = 1,
                check: bool = True, heatbath: bool = True) -> torch.Tensor:
    r"""One Monte Carlo sweep of the Wilson action: a heat-bath update of every link, then
    ``overrelax`` over-relaxation passes, checkerboard by checkerboard (one direction
    :math:`\mu` and one colour :math:`\sum_\nu x_\nu \bmod 2` at a time), then reunitarisation.

    Heat bath: :math:`U(1)` links are drawn from :math:`\exp(\beta\,\mathrm{Re}\,U A)` (von
    Mises); :math:`SU(2)` links from :math:`\exp(\frac{\beta}{2}\mathrm{Re}\,\mathrm{tr}\,UA)`
    as :math:`U = X V^\dagger` with :math:`A = kV`, :math:`X = a_0 + i\vec a\cdot\vec\sigma`,
    :math:`a_0 \sim \sqrt{1-a_0^2}\,e^{\beta k a_0}` (Creutz / Kennedy-Pendleton);
    :math:`SU(3)` links (Cabibbo-Marinari) as :math:`U \mapsto R_3R_2R_1U`, each :math:`R_s` in
    the :math:`SU(2)` subgroup on rows and columns :math:`(0,1)`, :math:`(1,2)`, :math:`(0,2)`,
    drawn by the :math:`SU(2)` heat bath at coupling :math:`2\beta/3` on the quaternion part
    :math:`kV` of that block of :math:`UA`.
    Over-relaxation: :math:`U \mapsto V^\dagger U^\dagger V^\dagger` (:math:`SU(2)`),
    :math:`\theta \mapsto -\theta - 2\arg A` (:math:`U(1)`), :math:`R_s = V^{\dagger 2}` in
    each subgroup in turn (:math:`SU(3)`), which leave the action unchanged.

    Args:
        U: links of a batch of independent chains, every lattice extent even.
        beta: the coupling :math:`\beta`.
        generator: a ``torch.Generator`` on the device of ``U`` (default: the global one).
        overrelax: over-relaxation passes per sweep (default: 1).
        check: validate ``U`` first (default: ``True``).
        heatbath: start with the heat-bath pass (default: ``True``; ``False``: over-relaxation
            only, which keeps the action to rounding and is not ergodic on its own).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``, ``N`` = 1, 2 or 3
        - **output:** ``(B, D, L_0, ..., L_{D-1}, N, N)``

    Returns:
        the updated links (a new tensor).
    """
    if check:
        _, shape, _ = check_links(U)
        if any(L % 2 for L in shape):
            raise ValueError(f"checkerboard updates need even lattice extents, got lattice shape {shape}")
    _mc_group(U)  # the group the heat bath knows: U(1), SU(2) or SU(3), else a clear error
    D, shape = U.shape[1], tuple(U.shape[2:-2])
    parity = _parity(shape, U.device)
    masks = [(parity == p)[..., None, None] for p in (0, 1)]
    U = U.clone()
    for step in range(0 if heatbath else 1, 1 + int(overrelax)):
        for mu in range(D):
            for mask in masks:
                A = staples(U, mu)
                new = (_heatbath_update(U[:, mu], A, beta, generator) if step == 0
                       else _overrelax_update(U[:, mu], A))
                U[:, mu] = torch.where(mask, new, U[:, mu])
    return reunitarize(U)


def _start(gauge: UnitaryGauge, chains, shape, start, generator, device, dtype):
    D = len(shape)
    if start == "cold":
        eye = torch.eye(gauge.N, dtype=dtype, device=device)
        return eye.expand(chains, D, *shape, gauge.N, gauge.N).clone()
    if start == "hot":
        g = gauge.sample(chains * D * math.prod(shape), generator=generator, device=device)
        return g.reshape(chains, D, *shape, gauge.N, gauge.N).to(dtype)
    raise ValueError(f"start must be 'hot' or 'cold', got {start!r}")


def simulate_wilson(group="SU2", shape=(8, 8), beta: float = 2.0, n: int = 100, warmup: int = 2000,
                    spacing: int = 100, chains: int | None = None, overrelax: int = 1, seed: int = 0,
                    start: str = "hot", device=None, dtype=torch.complex128) -> torch.Tensor:
    r"""Configurations of the Wilson action drawn from ``chains`` independent Markov chains run
    side by side: each starts ``start`` (Haar-random or unit links), is thermalised by
    ``warmup`` sweeps (:func:`gauge_sweep`), then gives one configuration every ``spacing``
    sweeps. Configuration ``i`` is the ``i // chains``-th sample of chain ``i % chains``.

    Args:
        group: ``"U1"``, ``"SU2"`` or ``"SU3"`` (or the group).
        shape: the lattice extents, each even (default: ``(8, 8)``).
        beta: the coupling :math:`\beta` (default: 2).
        n: how many configurations (default: 100).
        warmup: thermalisation sweeps (default: 2000).
        spacing: sweeps between recorded configurations of a chain (default: 100).
        chains: parallel chains (default: ``min(n, 64)``).
        overrelax: over-relaxation passes per sweep (default: 1).
        seed: the seed of the chains' random numbers (default: 0).
        start: ``"hot"`` (default) or ``"cold"``.
        device: where to run (default: the CPU).
        dtype: complex128 (default) or complex64.

    Shapes:
        - **output:** ``(n, D, L_0, ..., L_{D-1}, N, N)``

    Returns:
        the links.
    """
    gauge = gauge_group(group)
    if gauge.N not in (1, 2, 3):
        raise ValueError(f"the Monte Carlo updates support U1, SU2 and SU3, got {gauge!r}")
    shape = tuple(int(s) for s in shape)
    if any(L % 2 or L < 2 for L in shape):
        raise ValueError(f"checkerboard updates need even lattice extents, got lattice shape {shape}")
    n, chains = int(n), min(int(n), 64) if chains is None else int(chains)
    if n < 1 or chains < 1 or warmup < 0 or spacing < 1:
        raise ValueError(f"need n >= 1, chains >= 1, warmup >= 0, spacing >= 1; got n={n}, chains={chains}, "
                         f"warmup={warmup}, spacing={spacing}")
    device = torch.device(device if device is not None else "cpu")
    generator = torch.Generator(device=device).manual_seed(int(seed))
    U = _start(gauge, chains, shape, start, generator, device, dtype)
    for _ in range(int(warmup)):
        U = gauge_sweep(U, beta, generator, overrelax, check=False)
    samples = []
    for i in range(math.ceil(n / chains)):
        if i:
            for _ in range(int(spacing)):
                U = gauge_sweep(U, beta, generator, overrelax, check=False)
        samples.append(U.clone())
    return torch.stack(samples).flatten(0, 1)[:n]


def wilson_ensemble(group="SU2", shape=(8, 8), beta: float = 2.0, n: int = 100, warmup: int = 2000,
                    spacing: int = 100, seed: int = 0, chains: int | None = None, overrelax: int = 1,
                    cache_dir: str | None = None, cache: bool = True, device=None,
                    dtype: torch.dtype = torch.complex64) -> torch.Tensor:
    r"""A cached ensemble of lattice gauge configurations with the Wilson action
    :math:`S = \beta\sum_P (1 - \frac1N \mathrm{Re}\,\mathrm{tr}\,P)`, generated offline by
    :func:`simulate_wilson` (``chains`` parallel chains, ``warmup`` thermalisation sweeps, one
    configuration per chain every ``spacing`` sweeps) in complex128, stored as complex64 on the
    CPU under the cache folder (``lattice_gauge/``).

    Args:
        group: ``"U1"``, ``"SU2"`` (default) or ``"SU3"``.
        shape: the lattice extents, each even (default: ``(8, 8)``).
        beta: the coupling (default: 2).
        n: how many configurations (default: 100).
        warmup: thermalisation sweeps (default: 2000).
        spacing: sweeps between samples of one chain (default: 100).
        seed: the seed (default: 0).
        chains: parallel chains (default: ``min(n, 64)``).
        overrelax: over-relaxation passes per sweep (default: 1).
        cache_dir: where (default: the library's cache root + ``/lattice_gauge``).
        cache: read and write the cache (default: ``True``).
        device: where a missing ensemble is generated (default: the CPU).
        dtype: of the returned links (default: complex64).

    Shapes:
        - **output:** ``(n, D, L_0, ..., L_{D-1}, N, N)``

    Returns:
        the links, on the CPU.
    """
    gauge = gauge_group(group)
    shape = tuple(int(s) for s in shape)
    chains = min(int(n), 64) if chains is None else int(chains)
    name = (f"{'U1' if gauge.N == 1 else f'SU{gauge.N}'}_L{'x'.join(map(str, shape))}_beta{float(beta):g}_n{int(n)}"
            f"_warmup{int(warmup)}_spacing{int(spacing)}_chains{chains}_or{int(overrelax)}_seed{int(seed)}.pt")
    path = os.path.join(cache_dir or os.path.join(cache_root(), "lattice_gauge"), name)
    if cache and os.path.exists(path):
        links = torch.load(path, map_location="cpu")
    else:
        links = simulate_wilson(gauge, shape, beta, n, warmup, spacing, chains, overrelax, seed,
                                device=device).to(torch.complex64).cpu()
        if cache:
            save_atomic(links, path)
    return links.to(dtype)
