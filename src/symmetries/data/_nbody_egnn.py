r"""EGNN's own charged n-body data set (``nbody_small``), drawn again from its seed.

The EGNN authors made their data set with NRI's simulator, one trajectory after another,
from numpy's legacy global generator seeded 43 (``generate_dataset.py --num-train 10000
--seed 43 --sufix small``): 10000 training, then 2000 validation, then 2000 test
trajectories. For each trajectory the simulator draws, in this order,

1. the charges: ``choice([-1, 0, 1], size=(n, 1), p=[1/2, 0, 1/2])``;
2. the positions: ``randn(3, n)`` (times ``loc_std`` = 1);
3. the velocities: ``randn(3, n)``, each particle's rescaled to norm 0.5;
4. observation noise: ``randn(49, 3, n)`` twice, scaled by a noise level of 0 (so it only
   advances the generator).

The starting positions then pass through the simulator's box reflection (box size 5:
a coordinate :math:`x > 5` becomes :math:`10 - x` with its velocity turned inward, and
likewise below :math:`-5`); during the run there is no box.

Replaying these draws with :class:`numpy.random.RandomState` gives the same starting
states as the paper's files, and :func:`~symmetries.data.integrate_charged` runs the same
steps, so the trajectories are the paper's up to floating-point rounding. The paper
trains on the first 3000 training trajectories.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from symmetries._internal.cache import cache_root
from symmetries.data._nbody import NBodyTrajectories, cached, integrate_charged

EGNN_SEED = 43
EGNN_SPLITS = {"train": 10000, "valid": 2000, "test": 2000}
_PAPER_DEFAULT = {"train": 3000, "valid": 2000, "test": 2000}


def egnn_initial_states(seed: int = EGNN_SEED, counts: tuple[int, ...] = tuple(EGNN_SPLITS.values()),
                        n_particles: int = 5, frames: int = 49, box: float = 5.0,
                        vel_norm: float = 0.5) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    r"""The starting states of consecutive blocks of ``counts`` trajectories drawn as the
    reference generator (NRI's simulator) draws them: per trajectory the charges
    (:math:`\pm 1`), positions, velocities and two discarded noise draws, then the box
    reflection of the starting positions.

    Args:
        seed: the seed of numpy's ``RandomState`` (default: 43, the paper's).
        counts: trajectories per block, in order (default: ``(10000, 2000, 2000)``, the
            training, validation and test splits).
        n_particles: particles per system (default: 5).
        frames: frames of the observation noise drawn (and discarded) per trajectory
            (default: 49).
        box: the box the starting positions are reflected into (default: 5).
        vel_norm: the starting speed of every particle (default: 0.5).

    Returns:
        One ``(pos [S, n, 3], vel [S, n, 3], charges [S, n])`` float64 numpy triple per
        block.
    """
    rng = np.random.RandomState(seed)
    blocks = []
    for count in counts:
        pos, vel, charges = np.empty((count, 3, n_particles)), np.empty((count, 3, n_particles)), np.empty((count, n_particles))
        for s in range(count):
            charges[s] = rng.choice(np.array([-1.0, 0.0, 1.0]), size=(n_particles, 1), p=[0.5, 0.0, 0.5])[:, 0]
            pos[s] = rng.randn(3, n_particles)
            v = rng.randn(3, n_particles)
            vel[s] = v * vel_norm / np.sqrt((v ** 2).sum(axis=0)).reshape(1, -1)
            rng.randn(frames, 3, n_particles)  # position noise, scaled by 0
            rng.randn(frames, 3, n_particles)  # velocity noise, scaled by 0
        over, under = pos > box, pos < -box
        pos[over], vel[over] = 2 * box - pos[over], -np.abs(vel[over])
        pos[under], vel[under] = -2 * box - pos[under], np.abs(vel[under])
        blocks.append((pos.transpose(0, 2, 1).copy(), vel.transpose(0, 2, 1).copy(), charges))
    return blocks


def egnn_nbody_small(split: str = "train", num: int | None = None, cache_dir: str | None = None,
                     dtype: torch.dtype = torch.float32, cache: bool = True, device=None) -> NBodyTrajectories:
    """The first ``num`` trajectories of a split of EGNN's ``nbody_small``, with 49 frames of
    5 particles (input frame 30, target frame 40, as
    :meth:`NBodyTrajectories.inputs_targets`), the paper's up to floating-point rounding.

    Args:
        split: ``"train"`` (default; 10000 trajectories), ``"valid"`` or ``"test"`` (2000
            each).
        num: how many (default: 3000 for ``"train"``, the paper's training set; 2000
            otherwise).
        cache_dir: where it is cached as float32 (default: the :func:`cache_dir` folder +
            ``/nbody``).
        dtype: of the returned tensors (default: float32).
        cache: read and write the cache (default: ``True``).
        device: where a missing split is simulated, in float64 (default: the CPU).

    Returns:
        :class:`NBodyTrajectories`.
    """
    if split not in EGNN_SPLITS:
        raise ValueError(f"split must be one of {tuple(EGNN_SPLITS)}, got {split!r}")
    num = _PAPER_DEFAULT[split] if num is None else int(num)
    if not 1 <= num <= EGNN_SPLITS[split]:
        raise ValueError(f"the {split} split has {EGNN_SPLITS[split]} trajectories; asked for {num}")
    path = os.path.join(cache_dir or os.path.join(cache_root(), "nbody"), f"egnn_nbody_small_{split}_num{num}.pt")

    def simulate():  # the draws of the splits before this one, then this split's first num
        before = list(EGNN_SPLITS)[:list(EGNN_SPLITS).index(split)]
        states = egnn_initial_states(counts=tuple(EGNN_SPLITS[s] for s in before) + (num,))[-1]
        return integrate_charged(*(torch.as_tensor(a, device=device) for a in states))

    data = cached(path, simulate, cache)
    return NBodyTrajectories(data["pos"].to(dtype), data["vel"].to(dtype), data["charges"].to(dtype))
