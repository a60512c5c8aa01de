"""A tiny O(3)-invariant regression task for the study-runner tests (seconds on a CPU)."""

import os
import time
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from symmetries.actions import invariant
from symmetries.groups import O3
from symmetries.reps import standard
from symmetries.studies import Task, register_task
from symmetries.symmetrize import OrthogonalCanonicalizer


def target(x):
    a, b = x[:, :3], x[:, 3:]
    return (torch.sin(a.norm(dim=1)) - 0.5 * b.norm(dim=1) ** 2 + (a * b).sum(1))[:, None]


class GramMLP(nn.Module):
    """Exactly O(3)-invariant: an MLP of the Gram matrix of the two vectors."""

    def __init__(self, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.SiLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        a, b = x[:, :3], x[:, 3:]
        return self.net(torch.stack([(a * a).sum(1), (b * b).sum(1), (a * b).sum(1)], 1))


@register_task
@dataclass
class TinyInvariant(Task):
    name: ClassVar[str] = "tiny-o3"
    description: ClassVar[str] = "test-only O(3)-invariant function of two vectors"
    default_sizes: ClassVar[tuple] = (16, 64)
    methods: ClassVar[tuple] = ("plain", "augment", "average", "canonicalize", "soft", "equivariant")
    test_size: int = 128
    steps: int = 40
    batch_size: int = 16
    lr: float = 1e-2
    average_samples: int = 4
    equivariance_samples: int = 8
    hidden: int = 16

    @property
    def action_in(self):
        return 2 * standard(O3())

    @property
    def action_out(self):
        return invariant(O3())

    def make_data(self, n_train, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n_train + self.test_size, 6, generator=g)
        y = target(x)
        return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])

    def make_model(self):
        return nn.Sequential(nn.Linear(6, self.hidden), nn.SiLU(), nn.Linear(self.hidden, 1))

    def make_equivariant_model(self):
        return GramMLP(self.hidden)

    def make_canonicalizer(self):
        return OrthogonalCanonicalizer(2, 3, hidden=8)

    def loss(self, pred, target):
        if os.environ.get("TINY_TASK_SLOW"):  # the kill-and-resume test slows training down to hit it midway
            time.sleep(float(os.environ["TINY_TASK_SLOW"]))
        return super().loss(pred, target)
