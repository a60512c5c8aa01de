"""Charged n-body prediction (Satorras et al. 2021): positions after 1000 steps from the
positions, velocities and charges of 5 particles. E(3)-equivariant (and S_5). The models
are :mod:`symmetries.models`' ``NBody*`` classes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from symmetries.actions import PointCloudAction
from symmetries.groups import Euclidean
from symmetries.data import charged_nbody, egnn_nbody_small
from symmetries.models import NBodyEGNN, NBodyMLP, NBodyRadialField, NBodySEGNN, NBodyTFN
from symmetries.studies._registry import register_task
from symmetries.studies._task import Task, epoch_steps


def nbody_arrays(n_train: int, seed: int, test_size: int, data_seed: int = 0, split: str = "test",
                 source: str = "egnn"):
    """``((x, y), (x_eval, y_eval))``: ``n_train`` trajectories drawn by ``seed`` from the training
    split and the first ``test_size`` of ``split`` (``"valid"`` or ``"test"``). ``source="egnn"``:
    the paper's data set (:func:`~symmetries.data.egnn_nbody_small`; a pool of 3000 training
    trajectories, up to 10000); ``"symmetries"``: independent draws seeded by ``data_seed``."""
    if source == "egnn":
        pool = egnn_nbody_small("train", num=max(3000, n_train))
        evaluation = egnn_nbody_small(split, num=test_size)
    elif source == "symmetries":
        pool = charged_nbody("train", num=max(3000, n_train), seed=data_seed)
        evaluation = charged_nbody(split, num=max(2000, test_size), seed=data_seed).subset(slice(0, test_size))
    else:
        raise ValueError(f"source must be 'egnn' or 'symmetries', got {source!r}")
    pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(int(seed)))[:n_train]
    return pool.subset(pick).inputs_targets(), evaluation.inputs_targets()


@register_task
@dataclass
class NBody(Task):
    """Predict the positions of the charged 5-body system 1000 steps ahead; the metric is the
    test MSE on positions (2000 test systems of the paper's data set, ``data="egnn"``).

    Methods: ``plain`` is an MLP on the flattened system, ``augment`` the same MLP trained on
    systems moved by random E(3) elements, ``equivariant`` the model named by ``equivariant``
    (EGNN by default; also ``radial-field``, ``tfn``, ``se3-transformer``, ``segnn``).
    """

    name: ClassVar[str] = "nbody"
    description: ClassVar[str] = "charged 5-body system, positions 1000 steps ahead (EGNN, Satorras et al. 2021)"
    default_sizes: ClassVar[tuple[int, ...]] = (100, 300, 1000)
    methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "equivariant")
    metric_name: ClassVar[str] = "test MSE"

    hidden: int = 64
    layers: int = 4
    mlp_hidden: int = 256
    test_size: int = 2000
    batch_size: int = 100
    lr: float = 1e-3
    weight_decay: float = 1e-12
    epochs: int = 200
    min_steps: int = 500
    max_steps: int = 2000
    data: str = "egnn"
    data_seed: int = 0
    equivariant: str = "egnn"

    @property
    def action_in(self):
        return PointCloudAction(Euclidean(3), ("position", "vector", None))

    @property
    def action_out(self):
        return PointCloudAction(Euclidean(3), "position")

    def train_steps(self, n_train: int) -> int:
        return epoch_steps(n_train, self.batch_size, self.epochs, self.min_steps, self.max_steps)

    def make_data(self, n_train, seed):
        return nbody_arrays(n_train, seed, self.test_size, self.data_seed, source=self.data)

    def make_model(self):
        return NBodyMLP(5, self.mlp_hidden)

    def make_equivariant_model(self):
        """The model of ``equivariant``, one of :data:`EQUIVARIANT_MODELS` (``hidden`` is EGNN's and
        Radial Field's width; the steerable models use half as many channels per degree)."""
        if self.equivariant not in EQUIVARIANT_MODELS:
            raise ValueError(f"equivariant must be one of {', '.join(EQUIVARIANT_MODELS)}, got {self.equivariant!r}")
        return EQUIVARIANT_MODELS[self.equivariant](self.hidden, self.layers)


#: the E(3)-equivariant models of the task, ``(hidden, layers) -> model``
EQUIVARIANT_MODELS = {
    "egnn": NBodyEGNN,
    "radial-field": NBodyRadialField,
    "tfn": lambda hidden, layers: NBodyTFN(max(hidden // 2, 2), layers),
    "se3-transformer": lambda hidden, layers: NBodyTFN(max(hidden // 2, 2), layers, attention=True),
    "segnn": lambda hidden, layers: NBodySEGNN(max(hidden // 2, 2), layers),
}
