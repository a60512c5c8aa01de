"""Standardized: scalar input and target scales, public for custom tasks, equivariance kept."""

import math
from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from torch import nn

from symmetries import data
from symmetries.groups import O, O3
from symmetries.nn import EMLP
from symmetries.reps import standard, trivial
from symmetries.studies import Standardized, Task, get_task, train_run
from symmetries.testing import assert_equivariant


class CubicNorm(nn.Module):
    """``x |x|^2``: O(3)-equivariant on vectors."""

    def forward(self, x):
        return x * x.pow(2).sum(-1, keepdim=True)


def test_values_and_statistics():
    model = Standardized(CubicNorm(), x_scale=2.0, y_mean=1.0, y_scale=3.0)
    x = torch.randn(5, 3, dtype=torch.float64)
    torch.testing.assert_close(model(x), 3.0 * CubicNorm()(x / 2.0) + 1.0)
    x, y = torch.tensor([[3.0, 4.0]]), torch.tensor([[1.0], [3.0]])
    assert Standardized.statistics(x, y) == {"x_scale": math.sqrt(12.5), "y_mean": 0.0, "y_scale": math.sqrt(5.0)}
    assert Standardized.statistics(x, y, center=True) == {"x_scale": math.sqrt(12.5), "y_mean": 2.0, "y_scale": 1.0}
    fitted = Standardized.fit(nn.Identity(), x, y, center=True)
    assert (fitted.x_scale, fitted.y_mean, fitted.y_scale) == (math.sqrt(12.5), 2.0, 1.0)


def test_scales_are_scalars_so_equivariance_is_kept():
    V = standard(O3())
    x = torch.randn(200, 3, dtype=torch.float64) * torch.tensor([1.0, 10.0, 100.0], dtype=torch.float64)
    model = Standardized.fit(CubicNorm(), x, CubicNorm()(x))  # very different spreads per coordinate
    assert_equivariant(model, V, V, x[:16])
    emlp = Standardized.fit(EMLP(V, V**2, 16, 1).double(), x, torch.randn(200, 9, dtype=torch.float64))
    assert_equivariant(emlp, V, V**2, x[:16])


def test_bad_scales_and_samples_are_refused():
    with pytest.raises(ValueError, match="x_scale must be a finite positive number, got 0"):
        Standardized(nn.Identity(), x_scale=0)
    with pytest.raises(ValueError, match="y_mean must be finite, got nan"):
        Standardized(nn.Identity(), y_mean=float("nan"))
    with pytest.raises(TypeError, match="x must be a non-empty floating-point tensor, got torch.int64 tensor"):
        Standardized.statistics(torch.ones(3, 2, dtype=torch.long), torch.ones(3, 1))
    with pytest.raises(TypeError, match="y must be a non-empty floating-point tensor, got tuple"):
        Standardized.statistics(torch.ones(3, 2), (torch.ones(3, 1),))
    with pytest.raises(ValueError, match="gives x_scale=nan"):
        Standardized.statistics(torch.tensor([[float("nan")]]), torch.ones(1, 1))
    with pytest.raises(ValueError, match="gives y_scale=0.0"):
        Standardized.statistics(torch.ones(3, 2), torch.ones(3, 1), center=True)


#: a small budget the built-in o5-invariant EMLP learns in (a few seconds a run)
HIDDEN, DEPTH, STEPS = 64, 2, 300
BUDGET = dict(steps=STEPS, batch_size=32, lr=3e-3, test_size=300)


@dataclass
class CustomO5(Task):
    """What a user writes for the O(5)-invariant regression, with or without :class:`Standardized`."""

    name: ClassVar[str] = "custom-o5"
    methods: ClassVar[tuple] = ("plain", "equivariant")
    scaled: bool = True

    @property
    def action_in(self):
        return 2 * standard(O(5))

    @property
    def action_out(self):
        return trivial(O(5))

    def make_data(self, n_train, seed):  # the built-in task's data
        x, y = data.o5_invariant(n_train, seed=2 * seed + 1)
        x_test, y_test = data.o5_invariant(self.test_size, seed=2 * seed + 2)
        return (x.float(), y.float()), (x_test.float(), y_test.float())

    def make_equivariant_model(self):
        model = EMLP(self.action_in, self.action_out, HIDDEN, DEPTH)
        if not self.scaled:
            return model
        (x, y), _ = self.make_data(1000, seed=0)  # a reference sample sets the scales
        return Standardized.fit(model, x, y, center=True)


def test_a_custom_task_using_it_learns_as_well_as_the_builtin_task():
    builtin = get_task("o5-invariant", emlp_hidden=HIDDEN, depth=DEPTH, min_steps=STEPS, max_steps=STEPS,
                       **{k: v for k, v in BUDGET.items() if k != "steps"})
    reference = train_run(builtin, "equivariant", 100, 0)["metric"]
    custom = train_run(CustomO5(**BUDGET), "equivariant", 100, 0)["metric"]
    unscaled = train_run(CustomO5(scaled=False, **BUDGET), "equivariant", 100, 0)["metric"]
    assert reference < 2.0  # the targets' variance is about 33
    assert custom < 1.25 * reference
    assert unscaled > 5 * reference  # why it matters: the same EMLP on raw targets underfits
