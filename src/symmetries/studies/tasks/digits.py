"""Rotated digits: classify scikit-learn's handwritten digits shown at any angle.

Models: a plain CNN, and group-equivariant CNNs with the same layout (lifting conv, group
conv, invariant conv, global average, linear): ``"p4"`` (G-CNN on the pixel grid, exact for
90-degree rotations), ``"c8"`` / ``"c16"`` (steerable CNNs with regular fields, Weiler &
Cesa 2019) and ``"d4"`` (p4m). Published reference on MNIST-rot: P4CNN 2.28% error
(Cohen & Welling 2016), best E(2)-CNN 0.68% (Weiler & Cesa 2019).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from symmetries.actions import invariant, rotate_image
from symmetries.data import rotated_digits
from symmetries.groups import SO2, Cyclic, Dihedral
from symmetries.nn.images import (AntialiasedPool2d, FieldBatchNorm2d, FieldType, GroupConv2d, PointwiseNonlinearity2d,
                          R2Conv)
from symmetries.studies._registry import register_task
from symmetries.studies._task import Task, epoch_steps

GROUPS = {"p4": (Cyclic(4), "grid"), "d4": (Dihedral(4), "grid"), "c8": (Cyclic(8), "harmonic"),
          "c16": (Cyclic(16), "harmonic"), "d8": (Dihedral(8), "harmonic")}


class GlobalAverage(nn.Module):
    """``(B, C, H, W) -> (B, C)``: mean over the pixels (invariant to any pixel permutation)."""

    def forward(self, x):
        return x.mean((-2, -1))

    def export(self) -> nn.Module:
        """Plain-torch equivalent, for :func:`symmetries.nn.images.export`."""
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())


def digits_cnn(kind: str = "cnn", channels: tuple[int, int] = (24, 48), features: int = 32,
               kernel_size: int = 5) -> nn.Module:
    """A small digit classifier ``(B, 1, H, W) -> (B, 10)`` logits (odd ``H = W``).

    ``kind``: ``"cnn"`` (plain) or a key of :data:`GROUPS`. Layout: conv(1 -> c1), BN, ReLU,
    blur-pool; conv(c1 -> c2), BN, ReLU, blur-pool; conv(c2 -> ``features`` invariant
    channels), BN, ReLU; global average; linear. Equivariant models use regular fields
    with about the same channel counts (at least 2 fields), so the compute is similar.
    """
    c1, c2 = channels
    if kind == "cnn":
        t = lambda c: FieldType.trivial(Cyclic(1), c)  # noqa: E731  (only for the shared blur-pool)
        return nn.Sequential(
            nn.Conv2d(1, c1, kernel_size, padding=kernel_size // 2), nn.BatchNorm2d(c1), nn.ReLU(),
            AntialiasedPool2d(t(c1)),
            nn.Conv2d(c1, c2, kernel_size, padding=kernel_size // 2), nn.BatchNorm2d(c2), nn.ReLU(),
            AntialiasedPool2d(t(c2)),
            nn.Conv2d(c2, features, kernel_size, padding=kernel_size // 2), nn.BatchNorm2d(features), nn.ReLU(),
            GlobalAverage(), nn.Linear(features, 10))
    if kind not in GROUPS:
        raise ValueError(f"kind must be 'cnn' or one of {sorted(GROUPS)}, got {kind!r}")
    G, basis = GROUPS[kind]
    conv = (lambda a, b: GroupConv2d(a, b, kernel_size)) if basis == "grid" else (
        lambda a, b: R2Conv(a, b, kernel_size))
    t0 = FieldType.trivial(G, 1)
    r1 = FieldType.regular(G, max(2, round(c1 / G.order)))
    r2 = FieldType.regular(G, max(2, round(c2 / G.order)))
    inv = FieldType.trivial(G, features)
    return nn.Sequential(
        conv(t0, r1), FieldBatchNorm2d(r1), PointwiseNonlinearity2d(r1), AntialiasedPool2d(r1),
        conv(r1, r2), FieldBatchNorm2d(r2), PointwiseNonlinearity2d(r2), AntialiasedPool2d(r2),
        conv(r2, inv), FieldBatchNorm2d(inv), PointwiseNonlinearity2d(inv),
        GlobalAverage(), nn.Linear(features, 10))


@register_task
@dataclass
class Digits(Task):
    name: ClassVar[str] = "digits"
    description: ClassVar[str] = "classify sklearn digits rotated by any angle (plain vs augmented vs steerable CNN)"
    default_sizes: ClassVar[tuple[int, ...]] = (50, 200, 1000)
    methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "average", "equivariant")
    default_methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "equivariant")
    metric_name: ClassVar[str] = "test error"

    image_size: int = 21
    equivariant: str = "c8"
    train_rotation: str = "so2"
    test_rotation: str = "so2"
    channels: tuple = (24, 48)
    test_size: int = 500
    batch_size: int = 64
    lr: float = 3e-3
    epochs: int = 30
    min_steps: int = 200
    max_steps: int = 1500

    @property
    def action_in(self):
        return rotate_image(SO2())

    @property
    def action_out(self):
        return invariant(SO2())

    def train_steps(self, n_train: int) -> int:
        return epoch_steps(n_train, self.batch_size, self.epochs, self.min_steps, self.max_steps)

    def make_data(self, n_train, seed):
        split = rotated_digits(n_train, self.test_size, self.image_size, self.train_rotation, self.test_rotation,
                               seed=seed)
        return (split.x_train, split.y_train), (split.x_test, split.y_test)

    def make_model(self):
        return digits_cnn("cnn", tuple(self.channels))

    def make_equivariant_model(self):
        return digits_cnn(self.equivariant, tuple(self.channels))

    def loss(self, pred, target):
        return F.cross_entropy(pred, target)

    def metric(self, pred, target):
        return float((pred.argmax(-1) != target).double().mean())


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float:
    """Fraction of correctly classified images (eval mode, no grad)."""
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + batch]).argmax(-1) for i in range(0, len(x), batch)])
    return float((pred == y).double().mean())
