"""The study task 'forces': data layout, models per method, symmetry verdicts, a tiny run."""

import pytest
import torch

from symmetries.data import AtomsData
from symmetries.studies import get_task, task_names
from symmetries.studies._train import train_run
from symmetries.studies.tasks.forces import frames_to_tensors, load_frames
from symmetries.testing import assert_equivariant, check_equivariance

TINY = dict(system="Cu-cluster", pool_size=12, test_size=6, steps=3, min_steps=3, channels=4, n_layers=1,
            batch_size=4, equivariance_samples=3)


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SYMMETRIES_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def test_registered_with_data_layout():
    assert "forces" in task_names()
    task = get_task("forces", **TINY)
    (x, y), (xt, yt) = task.make_data(8, seed=0)
    assert x["positions"].shape == (8, 13, 3) and x["numbers"].shape == (8, 13) and x["cell"].shape == (8, 3, 3)
    assert y["energy"].shape == (8,) and y["forces"].shape == (8, 13, 3) and yt["forces"].shape == (6, 13, 3)
    assert x["positions"].dtype == torch.float32 and x["numbers"].dtype == torch.long
    (x2, _), (xt2, _) = task.make_data(8, seed=0)
    assert torch.equal(x["positions"], x2["positions"]) and torch.equal(xt["positions"], xt2["positions"])
    (x3, _), (xt3, _) = task.make_data(4, seed=0)
    assert torch.equal(xt["positions"], xt3["positions"])  # the test set depends on the seed only
    with pytest.raises(ValueError, match="unknown system 'Cu-slab'"):
        load_frames("Cu-slab", 4, 0)
    mixed = AtomsData.from_ase(load_frames("Cu-cluster", 2, 0).to_ase()[:1] + load_frames("Cu-bulk", 1, 0).to_ase())
    with pytest.raises(ValueError, match=r"frames of different sizes \[13, 32\]"):
        frames_to_tensors(mixed)


def test_methods_symmetry():
    task = get_task("forces", float64=True, **TINY)
    (x, _), _ = task.make_data(4, seed=0)
    gen = torch.Generator().manual_seed(0)
    eq = task.build_model("equivariant").eval()
    assert eq.potential.l_max == 1
    assert_equivariant(eq, task.action_in, task.action_out, x, n_samples=4, generator=gen)
    plain = task.build_model("plain").eval()
    report = check_equivariance(plain, task.action_in, task.action_out, x, n_samples=4, generator=gen)
    assert report.verdict != "exact" and report.max_rel_error > 1e-4
    assert get_task("forces", l_max=0, **TINY).build_model("equivariant").potential.l_max == 0


@pytest.mark.parametrize("method", ["plain", "augment", "equivariant"])
def test_tiny_run(method):
    result = train_run(get_task("forces", **TINY), method, 8, seed=0)
    assert result["metric"] > 0 and result["steps"] == 3
    if method == "equivariant":
        assert result["equivariance_verdict"] == "exact"
    else:
        assert result["equivariance_verdict"] != "exact"
