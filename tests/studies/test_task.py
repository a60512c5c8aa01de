from dataclasses import dataclass
from typing import ClassVar

import pytest
import torch
from torch import nn

import tiny  # noqa: F401
from symmetries.groups import Euclidean
from symmetries.actions import PointCloudAction, invariant
from symmetries.groups import Dihedral, O
from symmetries.reps import standard
from symmetries.studies import METHODS, Task, get_task, register_task, task_names, unregister_task
from symmetries.symmetrize import Canonicalization, FrameAveraging, GroupAveraging
from symmetries.testing import assert_equivariant


def test_builtin_tasks_are_registered_and_well_formed():
    names = task_names()
    assert {"o5-invariant", "o3-inertia", "lorentz-scattering"} <= set(names)
    for name in names:
        task = get_task(name)
        assert task.name == name and task.description and task.default_sizes
        assert set(task.methods) <= set(METHODS) and "plain" in task.methods
        assert task.config()["task"] == name


def test_config_records_every_field_and_overrides():
    task = get_task("tiny-o3", steps=7, hidden=3)
    config = task.config()
    assert config["steps"] == 7 and config["hidden"] == 3 and config["task"] == "tiny-o3"
    assert set(config) == {"task", "test_size", "steps", "batch_size", "lr", "weight_decay", "soft_weight",
                           "average_samples", "equivariance_samples", "hidden"}


def test_registry_rejects_bad_tasks():
    with pytest.raises(TypeError, match="expects a Task subclass"):
        register_task(object)

    @dataclass
    class Nameless(Task):
        pass

    with pytest.raises(ValueError, match="has no name"):
        register_task(Nameless)

    @dataclass
    class Odd(Task):
        name: ClassVar[str] = "odd"
        methods: ClassVar[tuple] = ("plain", "telepathy")

    with pytest.raises(ValueError, match="unknown methods \\['telepathy'\\]"):
        register_task(Odd)

    @dataclass
    class Clash(Task):
        name: ClassVar[str] = "tiny-o3"

    with pytest.raises(ValueError, match="already registered"):
        register_task(Clash)


@dataclass
class FiniteTask(Task):
    name: ClassVar[str] = "test-d4"
    methods: ClassVar[tuple] = ("plain", "average")

    @property
    def action_in(self):
        return standard(Dihedral(4))

    @property
    def action_out(self):
        return invariant(Dihedral(4))

    def make_model(self):
        return nn.Linear(2, 1).double()


def test_build_model_per_method():
    register_task(FiniteTask)
    try:
        task = get_task("test-d4")
        avg = task.build_model("average")
        assert isinstance(avg, GroupAveraging) and avg.exact  # a small finite group: exact
        assert_equivariant(avg, task.action_in, task.action_out, torch.randn(5, 2, dtype=torch.float64))
        assert isinstance(task.build_model("plain"), nn.Linear)
        with pytest.raises(ValueError, match="does not support method 'soft'; it supports: plain, average"):
            task.build_model("soft")
    finally:
        unregister_task("test-d4")
    tiny_task = get_task("tiny-o3")
    mc = tiny_task.build_model("average")
    assert isinstance(mc, GroupAveraging) and mc.n_samples == tiny_task.average_samples  # O(3): Monte Carlo
    assert isinstance(tiny_task.build_model("canonicalize"), Canonicalization)
    with pytest.raises(NotImplementedError, match="has no equivariant model"):
        FiniteTask().make_equivariant_model()


@dataclass
class CloudTask(Task):
    name: ClassVar[str] = "test-cloud"
    methods: ClassVar[tuple] = ("plain", "average", "canonicalize")

    @property
    def action_in(self):
        return PointCloudAction(Euclidean(3), ("position", None))

    @property
    def action_out(self):
        return PointCloudAction(Euclidean(3), "position")

    def make_model(self):
        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Linear(16, 12).double()

            def forward(self, x):
                pos, charge = x
                return pos + self.net(torch.cat([pos, charge], -1).flatten(1)).view(-1, 4, 3)

        return Model()


def test_point_cloud_tasks_get_frame_averaging_and_canonicalization():
    task = CloudTask()
    x = (torch.randn(3, 4, 3, dtype=torch.float64), torch.randn(3, 4, 1, dtype=torch.float64))
    avg = task.build_model("average")
    assert isinstance(avg, FrameAveraging) and avg.n_frames == 8
    assert_equivariant(avg, task.action_in, task.action_out, x, n_samples=8)
    canon = task.build_model("canonicalize").double()
    assert_equivariant(canon, task.action_in, task.action_out, x, n_samples=8)


def test_vectors_under_o_n_are_not_point_clouds():
    from symmetries.studies._task import point_cloud_positions
    from symmetries.actions import as_action

    assert point_cloud_positions(as_action(2 * standard(O(5)))) is None
    assert point_cloud_positions(PointCloudAction(O(2), "position")) == (None, 2, False)
