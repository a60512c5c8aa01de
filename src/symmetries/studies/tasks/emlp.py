"""The EMLP paper's synthetic tasks: O(5)-invariant regression, O(3) inertia, Lorentz scattering."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import torch

from symmetries import data
from symmetries.groups import O, O3, Lorentz
from symmetries.nn import EMLP, mlp
from symmetries.reps import standard, trivial
from symmetries.studies._registry import register_task
from symmetries.studies._scaling import Standardized
from symmetries.studies._task import Task, epoch_steps


@dataclass
class _EMLPTask(Task):
    """Shared parts: data from a generator, a standardized MLP or EMLP."""

    methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "average", "soft", "equivariant")
    default_methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "equivariant")
    default_sizes: ClassVar[tuple[int, ...]] = (30, 100, 300, 1000, 3000)
    generator: ClassVar = None
    invariant_output: ClassVar[bool] = True

    hidden: int = 128
    emlp_hidden: int = 128
    depth: int = 3
    test_size: int = 1000
    epochs: int = 300
    max_steps: int = 3000
    min_steps: int = 600

    def train_steps(self, n_train: int) -> int:
        return epoch_steps(n_train, self.batch_size, self.epochs, self.min_steps, self.max_steps)

    def make_data(self, n_train, seed):
        x, y = type(self).generator(n_train, seed=2 * seed + 1)
        xt, yt = type(self).generator(self.test_size, seed=2 * seed + 2)
        f = torch.float32
        return (x.to(f), y.to(f)), (xt.to(f), yt.to(f))

    @functools.cached_property
    def _stats(self) -> dict[str, float]:
        """Scales of the data distribution (fixed reference sample, not the training set)."""
        x, y = type(self).generator(20000, seed=123456789)
        return Standardized.statistics(x, y, center=self.invariant_output)

    def make_model(self):
        d_in, d_out = self.action_in.dim, self.action_out.dim
        return Standardized(mlp([d_in] + [self.hidden] * self.depth + [d_out]), **self._stats)

    def make_equivariant_model(self):
        return Standardized(EMLP(self.action_in, self.action_out, self.emlp_hidden, self.depth), **self._stats)


@register_task
@dataclass
class O5Invariant(_EMLPTask):
    name: ClassVar[str] = "o5-invariant"
    description: ClassVar[str] = "O(5)-invariant regression sin|x1| - |x2|^3/2 + cos(x1, x2) (Finzi et al. 2021)"
    generator: ClassVar = staticmethod(data.o5_invariant)

    @property
    def action_in(self):
        return 2 * standard(O(5))

    @property
    def action_out(self):
        return trivial(O(5))


@register_task
@dataclass
class O3Inertia(_EMLPTask):
    name: ClassVar[str] = "o3-inertia"
    description: ClassVar[str] = "O(3)-equivariant inertia tensor of 5 point masses (Finzi et al. 2021)"
    generator: ClassVar = staticmethod(data.o3_inertia)
    invariant_output: ClassVar[bool] = False

    @property
    def action_in(self):
        return 5 * trivial(O3()) + 5 * standard(O3())

    @property
    def action_out(self):
        return standard(O3()) ** 2


@register_task
@dataclass
class LorentzScattering(_EMLPTask):
    name: ClassVar[str] = "lorentz-scattering"
    description: ClassVar[str] = "Lorentz-invariant electron-muon scattering |M|^2 of four 4-momenta (Finzi et al. 2021)"
    generator: ClassVar = staticmethod(data.lorentz_scattering)
    methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "soft", "equivariant")

    @property
    def action_in(self):
        return 4 * standard(Lorentz())

    @property
    def action_out(self):
        return trivial(Lorentz())
