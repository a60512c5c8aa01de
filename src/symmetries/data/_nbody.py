r"""The charged n-body system of NRI (Kipf et al. 2018) as used by EGNN (Satorras et al. 2021).

``n`` particles of unit mass with charges :math:`c_i = \pm 1` (equal probability) move
under Coulomb-like forces, like charges repelling:

.. math:: F_i = \sum_{j \ne i} c_i c_j \, \frac{x_i - x_j}{|x_i - x_j|^3},

each force component clipped to :math:`\pm` ``max_force``. Positions start
:math:`N(0, 1)`, velocities in a uniformly random direction with norm 0.5; there is no
box. Symplectic Euler with step ``dt``: :math:`v \mathrel{+}= dt\,F(x)` once, then
``steps - 1`` times :math:`x \mathrel{+}= dt\,v`, (save every ``every`` steps),
:math:`v \mathrel{+}= dt\,F(x)`. With the defaults (5 particles, 3D, dt 0.001, 5000
steps saved every 100) a trajectory has 49 frames; EGNN predicts the positions of
frame 40 from frame 30 (positions, velocities, charges) with 3000 / 2000 / 2000
trajectories for training / validation / test.

All trajectories are simulated together in one batch of tensors (float64), and the
result is cached on disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from symmetries._internal.atomic import save_atomic
from symmetries._internal.cache import cache_root

SPLITS = {"train": 3000, "valid": 2000, "test": 2000}
_SPLIT_SEED = {"train": 0, "valid": 1, "test": 2}


def coulomb_forces(x: torch.Tensor, charges: torch.Tensor, strength: float = 1.0,
                   max_force: float | None = 100.0) -> torch.Tensor:
    r"""Coulomb-like forces, like charges repelling, each component clipped to
    :math:`\pm` ``max_force``:

    .. math::
        F_i = k \sum_{j \ne i} c_i c_j \frac{x_i - x_j}{|x_i - x_j|^3}.

    Args:
        x: positions of ``S`` systems of ``n`` particles.
        charges: the charges :math:`c_i`.
        strength: :math:`k` (default: 1).
        max_force: the clip (default: 100; ``None``: no clipping).

    Returns:
        The forces.

    Shapes:
        - **input:** x ``[S, n, d]``, charges ``[S, n]``
        - **output:** ``[S, n, d]``
    """
    return _PairForces(x.shape[1], charges, strength, max_force)(x)


class _PairForces:
    """Coulomb forces over the n(n-1)/2 pairs i < j, with the pair charges precomputed:
    each pair force is computed once and added to i and subtracted from j (one matmul)."""

    def __init__(self, n, charges, strength, max_force):
        i, j = torch.triu_indices(n, n, 1, device=charges.device)
        self.i, self.j, self.max_force = i, j, max_force
        self.cc = (strength * charges[:, i] * charges[:, j])[:, :, None]  # [S, P, 1]
        inc = torch.zeros(len(i), n, dtype=charges.dtype, device=charges.device)
        inc[torch.arange(len(i)), i] = 1.0
        inc[torch.arange(len(i)), j] = -1.0
        self.inc = inc

    def __call__(self, x):
        diff = x[:, self.i] - x[:, self.j]  # x_i - x_j, [S, P, d]
        r2 = diff.pow(2).sum(-1, keepdim=True)
        pair = diff * (self.cc / (r2 * r2.sqrt()))
        force = (pair.transpose(1, 2) @ self.inc).transpose(1, 2)
        return force.clamp(-self.max_force, self.max_force) if self.max_force is not None else force


def simulate_charged(num: int, n_particles: int = 5, dim: int = 3, steps: int = 5000, every: int = 100,
                     dt: float = 0.001, seed: int = 0, max_force: float | None = 100.0, loc_std: float = 1.0,
                     vel_norm: float = 0.5, strength: float = 1.0, dtype: torch.dtype = torch.float64,
                     device=None) -> dict[str, torch.Tensor]:
    r"""Simulate ``num`` charged n-body trajectories at once: charges :math:`\pm 1` with equal
    probability, positions :math:`N(0, \mathrm{loc\_std}^2)`, velocities in a uniformly
    random direction with norm ``vel_norm``, then :func:`integrate_charged`.

    Args:
        num: the number of trajectories.
        n_particles: particles per system, >= 2 (default: 5).
        dim: the dimension of space (default: 3).
        steps: integration steps, >= 2 (default: 5000).
        every: save a frame every this many steps (default: 100).
        dt: the time step (default: 0.001).
        seed: seeds the starting states (default: 0).
        max_force: the force clip of :func:`coulomb_forces` (default: 100).
        loc_std: the standard deviation of the starting positions (default: 1).
        vel_norm: the speed of every particle at the start (default: 0.5).
        strength: :math:`k` of :func:`coulomb_forces` (default: 1).
        dtype: of the simulation (default: float64).
        device: where to simulate (default: the CPU).

    Returns:
        ``{"pos", "vel"}`` ``[num, frames, n, dim]`` (frames saved after steps ``every,
        2 every, ...`` below ``steps``: ``(steps - 1) // every`` of them) and
        ``{"charges"}`` ``[num, n]``.
    """
    if num < 1 or n_particles < 2 or dim < 1 or steps < 2 or every < 1:
        raise ValueError(f"need num >= 1, n_particles >= 2, dim >= 1, steps >= 2, every >= 1; got {num}, "
                         f"{n_particles}, {dim}, {steps}, {every}")
    gen = torch.Generator().manual_seed(int(seed))
    charges = (torch.randint(0, 2, (num, n_particles), generator=gen) * 2 - 1).to(dtype)
    x = torch.randn(num, n_particles, dim, generator=gen, dtype=torch.float64).to(dtype) * loc_std
    v = torch.randn(num, n_particles, dim, generator=gen, dtype=torch.float64).to(dtype)
    v = v * (vel_norm / v.norm(dim=-1, keepdim=True))
    return integrate_charged(x.to(device), v.to(device), charges.to(device), steps, every, dt, max_force, strength)


def integrate_charged(x: torch.Tensor, v: torch.Tensor, charges: torch.Tensor, steps: int = 5000, every: int = 100,
                      dt: float = 0.001, max_force: float | None = 100.0,
                      strength: float = 1.0) -> dict[str, torch.Tensor]:
    r"""Run the symplectic Euler steps from given starting states (all trajectories at once,
    in their dtype and on their device): :math:`v \mathrel{+}= dt\,F(x)` once, then
    ``steps - 1`` times

    .. math::
        x \mathrel{+}= dt\, v, \quad \text{(saved every } \texttt{every} \text{ steps)}, \quad
        v \mathrel{+}= dt\, F(x),

    with :math:`F` the forces of :func:`coulomb_forces`.

    Args:
        x: starting positions.
        v: starting velocities.
        charges: the charges.
        steps: integration steps, >= 2 (default: 5000).
        every: save a frame every this many steps (default: 100).
        dt: the time step (default: 0.001).
        max_force: the force clip (default: 100; ``None``: none).
        strength: :math:`k` of the forces (default: 1).

    Returns:
        ``{"pos", "vel"}`` ``[S, frames, n, d]``, ``frames = (steps - 1) // every``, and
        ``{"charges"}``.

    Shapes:
        - **input:** x, v ``[S, n, d]``, charges ``[S, n]``
    """
    if x.dim() != 3 or v.shape != x.shape or charges.shape != x.shape[:2]:
        raise ValueError(f"need positions and velocities [S, n, d] and charges [S, n]; got {tuple(x.shape)}, "
                         f"{tuple(v.shape)}, {tuple(charges.shape)}")
    if steps < 2 or every < 1:
        raise ValueError(f"need steps >= 2 and every >= 1, got {steps} and {every}")
    x, v = x.clone(), v.clone()
    frames = (steps - 1) // every
    pos_out = x.new_empty(x.shape[0], frames, *x.shape[1:])
    vel_out = torch.empty_like(pos_out)
    forces = _PairForces(x.shape[1], charges, strength, max_force)
    v = v.add_(forces(x), alpha=dt)
    k = 0
    for i in range(1, steps):
        x = x.add_(v, alpha=dt)
        if i % every == 0:
            pos_out[:, k], vel_out[:, k] = x, v
            k += 1
        v = v.add_(forces(x), alpha=dt)
    return {"pos": pos_out, "vel": vel_out, "charges": charges}


@dataclass
class NBodyTrajectories:
    """Charged n-body trajectories; ``len`` is the number ``S`` of trajectories.

    Args:
        pos: positions ``[S, frames, n, d]``.
        vel: velocities ``[S, frames, n, d]``.
        charges: charges ``[S, n]``.
    """

    pos: torch.Tensor
    vel: torch.Tensor
    charges: torch.Tensor

    def __len__(self):
        return self.pos.shape[0]

    def inputs_targets(self, input_frame: int = 30, target_frame: int = 40):
        """``((pos, vel, charges), target)``: positions ``[S, n, d]``, velocities, charges
        ``[S, n, 1]`` at ``input_frame`` and the positions at ``target_frame``."""
        frames = self.pos.shape[1]
        for name, f in (("input_frame", input_frame), ("target_frame", target_frame)):
            if not 0 <= f < frames:
                raise ValueError(f"{name} must lie in [0, {frames}), got {f}")
        return ((self.pos[:, input_frame], self.vel[:, input_frame], self.charges[..., None]),
                self.pos[:, target_frame])

    def subset(self, index) -> "NBodyTrajectories":
        """The trajectories ``index`` (an int sequence, a slice or a mask) of this set."""
        return NBodyTrajectories(self.pos[index], self.vel[index], self.charges[index])


def charged_nbody(split: str = "train", num: int | None = None, seed: int = 0, cache_dir: str | None = None,
                  dtype: torch.dtype = torch.float32, cache: bool = True, device=None,
                  **options) -> NBodyTrajectories:
    """The charged n-body data set of EGNN's setup, each split simulated from its own seed
    derived from ``seed`` and cached as float32 frames on the CPU.

    Args:
        split: ``"train"`` (default, 3000 trajectories), ``"valid"`` (2000) or ``"test"``
            (2000).
        num: the number of trajectories instead.
        seed: the seed the split's seed derives from (default: 0).
        cache_dir: where it is cached (default: the :func:`cache_dir` folder + ``/nbody``).
        dtype: of the returned tensors (default: float32).
        cache: read and write the cache (default: ``True``).
        device: where a missing split is simulated (e.g. ``"cuda"``; default: the CPU).
        **options: go to :func:`simulate_charged` (``n_particles``, ``dim``, ``steps``,
            ``every``, ``dt``, ``max_force``, ``loc_std``, ``vel_norm``, ``strength``;
            others raise ``TypeError``).

    Returns:
        :class:`NBodyTrajectories`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {tuple(SPLITS)}, got {split!r}")
    num = SPLITS[split] if num is None else int(num)
    split_seed = int(seed) * 1000 + _SPLIT_SEED[split]
    params = {"n_particles": 5, "dim": 3, "steps": 5000, "every": 100, "dt": 0.001, "max_force": 100.0,
              "loc_std": 1.0, "vel_norm": 0.5, "strength": 1.0}
    unknown = set(options) - set(params)
    if unknown:
        raise TypeError(f"unknown simulation options {sorted(unknown)}; known: {sorted(params)}")
    params.update(options)
    name = "charged_" + "_".join(f"{k}{v}" for k, v in params.items()) + f"_num{num}_seed{split_seed}.pt"
    path = os.path.join(cache_dir or os.path.join(cache_root(), "nbody"), name)
    data = cached(path, lambda: simulate_charged(num, seed=split_seed, device=device, **params), cache)
    return NBodyTrajectories(data["pos"].to(dtype), data["vel"].to(dtype), data["charges"].to(dtype))


def cached(path: str, simulate, cache: bool = True) -> dict[str, torch.Tensor]:
    """Trajectories from ``path`` when cached there, else ``simulate()`` stored as float32 on the CPU."""
    if cache and os.path.exists(path):
        return torch.load(path, weights_only=True)
    data = {k: v.to("cpu", torch.float32) for k, v in simulate().items()}
    if cache:
        save_atomic(data, path)
    return data
