"""Interatomic forces: NequIP-style potentials with and without rotation symmetry."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from symmetries.actions import PointCloudAction
from symmetries.groups import Euclidean
from symmetries.data import emt_md, xtb_md
from symmetries.models import NequIP
from symmetries.studies._registry import register_task
from symmetries.studies._task import Task, epoch_steps

MOLECULES = ("ethanol", "malonaldehyde", "aspirin")


def load_frames(system: str, n_frames: int, seed: int):
    """Frames of ``system``: a molecule of :data:`MOLECULES` (GFN2-xTB MD, needs tblite) or
    ``"<Element>-bulk"`` / ``"<Element>-cluster"`` (EMT MD), as an AtomsData (cached)."""
    if system in MOLECULES:
        return xtb_md(system, n_frames=n_frames, seed=seed)
    element, _, structure = system.partition("-")
    if structure not in ("bulk", "cluster"):
        raise ValueError(f"unknown system {system!r}: use one of {', '.join(MOLECULES)} or "
                         f"'<Element>-bulk' / '<Element>-cluster' (EMT metals, e.g. 'Cu-bulk')")
    return emt_md(element, structure, n_frames=n_frames, seed=seed)


def frames_to_tensors(data, dtype=torch.float32):
    """``(inputs, targets)`` with a leading frame axis (all frames must have one size):
    inputs ``positions (F, n, 3)``, ``numbers (F, n)``, ``cell (F, 3, 3)`` (zeros when not
    periodic); targets ``energy (F,)``, ``forces (F, n, 3)``."""
    sizes = set(data.n_atoms.tolist())
    if len(sizes) != 1:
        raise ValueError(f"frames of different sizes {sorted(sizes)} cannot be stacked")
    n, f = sizes.pop(), len(data)
    x = {"positions": data.positions.reshape(f, n, 3).to(dtype), "numbers": data.numbers.reshape(f, n),
         "cell": data.cell.to(dtype)}
    y = {"energy": data.energy.to(dtype), "forces": data.forces.reshape(f, n, 3).to(dtype)}
    return x, y


class FramesPotential(nn.Module):
    """A :class:`~symmetries.models.Potential` on stacked frames: ``{positions (B, n, 3),
    numbers (B, n), cell (B, 3, 3)}`` -> ``{energy (B,), forces (B, n, 3)}``; a frame is
    periodic along the cell vectors that are not zero. Outputs are detached in eval mode."""

    def __init__(self, potential):
        super().__init__()
        self.potential = potential

    def forward(self, x):
        pos = x["positions"]
        b, n, _ = pos.shape
        batch = torch.arange(b, device=pos.device).repeat_interleave(n)
        cell = x["cell"]
        pbc = cell.abs().sum(-1) > 0
        out = self.potential(pos.reshape(b * n, 3), x["numbers"].reshape(b * n), batch, cell, pbc)
        out = {"energy": out["energy"], "forces": out["forces"].reshape(b, n, 3)}
        return out if self.training else {k: v.detach() for k, v in out.items()}


@register_task
@dataclass
class Forces(Task):
    r"""Learn energies and forces of atoms; the metric is the test force MAE (eV/A).

    Data: frames of ``system`` (see :func:`load_frames`; default ethanol, GFN2-xTB
    Langevin MD at 500 K as in rMD17), training frames drawn from a pool of ``pool_size``
    frames of one seed (so larger training sets contain smaller ones), test frames from
    another trajectory. The symmetry is :math:`E(3)`: rotations, reflections and
    translations move positions (and cell vectors); energies stay, forces rotate.

    Methods:

    - ``equivariant``: :class:`~symmetries.models.NequIP` with ``l_max`` (default 1;
      ``l_max=0`` gives the invariant, distance-only baseline). Exactly E(3)-symmetric.
    - ``plain``: the same architecture at ``l_max=0`` whose edges carry the unit vector's
      x, y, z as plain scalars (``edge_attributes="cartesian"``): it sees directions but
      has no rotation symmetry (it is still translation and permutation invariant, and its
      forces are still :math:`-\partial E / \partial x`).
    - ``augment``: the plain model trained on frames moved by random E(3) elements.

    The loss is ``energy_weight`` x MSE of the energy per atom + ``force_weight`` x MSE of
    the force components. Per-species reference energies, the energy scale and the mean
    neighbour count come from a fixed reference sample of the system, not from the
    training set. Training runs ``epochs`` passes over the data, at least ``min_steps``
    and at most ``steps`` Adam steps.
    """

    name: ClassVar[str] = "forces"
    description: ClassVar[str] = "energies and forces of a molecule or metal (E(3)): NequIP-style potentials"
    default_sizes: ClassVar[tuple[int, ...]] = (50, 200, 1000)
    methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "equivariant")
    metric_name: ClassVar[str] = "test force MAE (eV/A)"

    system: str = "ethanol"
    pool_size: int = 1000
    l_max: int = 1
    channels: int = 16
    n_layers: int = 2
    cutoff: float = 4.0
    energy_weight: float = 1.0
    force_weight: float = 1.0
    float64: bool = False
    test_size: int = 200
    batch_size: int = 16
    lr: float = 5e-3
    epochs: int = 50
    min_steps: int = 200
    steps: int = 600
    equivariance_samples: int = 8

    @property
    def action_in(self):
        return PointCloudAction(Euclidean(3), {"positions": "position", "numbers": "scalar", "cell": "vector"})

    @property
    def action_out(self):
        return PointCloudAction(Euclidean(3), {"energy": "scalar", "forces": "vector"})

    @property
    def dtype(self):
        return torch.float64 if self.float64 else torch.float32

    def train_steps(self, n_train: int) -> int:
        return epoch_steps(n_train, self.batch_size, self.epochs, self.min_steps, self.steps)

    def make_data(self, n_train, seed):
        pool = load_frames(self.system, max(self.pool_size, n_train), seed)
        order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))
        train = pool[order[:n_train]]
        test = load_frames(self.system, self.test_size, seed + 1000)
        return frames_to_tensors(train, self.dtype), frames_to_tensors(test, self.dtype)

    @functools.cached_property
    def _reference(self):
        """A fixed sample of the system (independent of the seeds) for reference energies and scales."""
        return load_frames(self.system, 50, 987654321)

    def _potential(self, **kw):
        ref = self._reference
        model = NequIP(ref.species, cutoff=self.cutoff, channels=self.channels, n_layers=self.n_layers, **kw)
        model.fit_reference(ref)
        return FramesPotential(model.to(self.dtype))

    def make_model(self):
        return self._potential(l_max=0, edge_attributes="cartesian")

    def make_equivariant_model(self):
        return self._potential(l_max=self.l_max)

    def loss(self, pred, target):
        n = target["forces"].shape[1]
        energy = ((pred["energy"] - target["energy"]) / n).pow(2).mean()
        return self.energy_weight * energy + self.force_weight * (pred["forces"] - target["forces"]).pow(2).mean()

    def metric(self, pred, target):
        return float((pred["forces"].detach() - target["forces"]).abs().mean())
