"""The study task ``nbody`` and its models: symmetry of each model, data plumbing, a tiny run."""

import pytest
import torch

import symmetries as sym
from symmetries.actions import GraphPermutation, SetPermutation
from symmetries.data import charged_nbody
from symmetries.studies import get_task
from symmetries.studies.tasks import nbody as nbody_task
from symmetries.models import (NBodyEGNN, NBodyGNN, NBodyLinear, NBodyMLP, NBodyRadialField, NBodySEGNN,
                               NBodyTFN)


def _inputs(gen, b=4, dtype=torch.float64):
    pos = torch.randn(b, 5, 3, generator=gen, dtype=dtype)
    vel = torch.randn(b, 5, 3, generator=gen, dtype=dtype)
    charges = (torch.randint(0, 2, (b, 5, 1), generator=gen) * 2 - 1).to(dtype)
    return pos, vel, charges


def test_models_have_the_symmetries_they_claim(gen):
    torch.manual_seed(0)
    task = get_task("nbody")
    x = _inputs(gen)
    egnn = NBodyEGNN(hidden=16, layers=2).double()
    for layer in egnn.egnn.layers:
        torch.nn.init.normal_(layer.phi_x[-1].weight, std=0.3)
    sym.assert_equivariant(egnn, task.action_in, task.action_out, x, n_samples=8, generator=gen)
    sym.assert_equivariant(NBodyLinear().double(), task.action_in, task.action_out, x, n_samples=8, generator=gen)
    rf = NBodyRadialField(hidden=16, layers=2).double()
    for phi in rf.phi:
        torch.nn.init.normal_(phi[2].weight, std=0.3)
    sym.assert_equivariant(rf, task.action_in, task.action_out, x, n_samples=8, generator=gen)
    perm_in, perm_out = SetPermutation(5, (1, 1, 1)), SetPermutation(5, 1)
    gnn = NBodyGNN(hidden=16, layers=2).double()
    sym.assert_equivariant(gnn, perm_in, perm_out, x, n_samples=8, generator=gen)
    sym.assert_equivariant(egnn, perm_in, perm_out, x, n_samples=8, generator=gen)
    sym.assert_equivariant(rf, perm_in, perm_out, x, n_samples=8, generator=gen)
    mlp = NBodyMLP(hidden=16).double()
    assert sym.check_equivariance(mlp, task.action_in, task.action_out, x, n_samples=8).verdict == "absent"
    assert sym.check_equivariance(gnn, task.action_in, task.action_out, x, n_samples=8).verdict != "exact"
    assert isinstance(GraphPermutation(5), sym.actions.Action)


@pytest.mark.parametrize("make", [lambda: NBodyTFN(8, 2), lambda: NBodyTFN(8, 2, attention=True),
                                  lambda: NBodySEGNN(8, 2)], ids=["tfn", "se3-transformer", "segnn"])
def test_steerable_models_are_e3_and_permutation_equivariant(make, gen):
    torch.manual_seed(0)
    task = get_task("nbody")
    x = _inputs(gen)
    model = make().double()
    out = model(x)
    assert out.shape == (4, 5, 3) and (out - x[0]).abs().mean() > 1e-3  # it moves the particles
    sym.assert_equivariant(model, task.action_in, task.action_out, x, n_samples=8, generator=gen)
    sym.assert_equivariant(model, SetPermutation(5, (1, 1, 1)), SetPermutation(5, 1), x, n_samples=8, generator=gen)
    batch_of_one = model(tuple(t[2:3] for t in x))
    assert torch.allclose(batch_of_one, out[2:3], atol=1e-12)  # systems do not interact within a batch


def test_task_data_and_tiny_run(tmp_path, monkeypatch):
    """Plumbing with a short simulation standing in for the cached data set."""
    def short(split, num=None, seed=0, **_):
        return charged_nbody(split, num=min(num, 40), seed=seed, cache_dir=str(tmp_path), steps=411, every=10)

    def short_egnn(split, num=None, **_):
        return short(split, num, seed={"train": 10, "valid": 11, "test": 12}[split])

    monkeypatch.setattr(nbody_task, "charged_nbody", short)
    monkeypatch.setattr(nbody_task, "egnn_nbody_small", short_egnn)
    task = get_task("nbody", test_size=20, min_steps=3, max_steps=3, hidden=8, layers=2, mlp_hidden=8)
    (x, y), (xt, yt) = task.make_data(30, seed=1)
    assert x[0].shape == (30, 5, 3) and x[2].shape == (30, 5, 1) and y.shape == (30, 5, 3)
    assert xt[0].shape == (20, 5, 3)
    (x2, _), (xt2, _) = task.make_data(30, seed=2)
    assert not torch.equal(x[0], x2[0]) and torch.equal(xt[0], xt2[0])  # the test set depends on the data only
    from symmetries.studies._train import train_run

    for method in ("plain", "augment", "equivariant"):
        result = train_run(task, method, 30, seed=0)
        assert result["metric"] > 0 and result["steps"] == 3
    with pytest.raises(ValueError, match="does not support method"):
        train_run(task, "soft", 30, seed=0)
    for name in ("radial-field", "tfn", "se3-transformer", "segnn"):
        other = get_task("nbody", test_size=20, min_steps=3, max_steps=3, hidden=8, layers=2, equivariant=name)
        before = sym.check_equivariance(other.make_equivariant_model().double(), task.action_in, task.action_out,
                                        tuple(t.double() for t in xt), n_samples=4)
        assert before.verdict == "exact"
        result = train_run(other, "equivariant", 30, seed=0)
        assert result["metric"] > 0 and result["steps"] == 3
    with pytest.raises(ValueError, match="equivariant must be one of egnn, radial-field, .*got 'mace'"):
        get_task("nbody", equivariant="mace").make_equivariant_model()
    own = get_task("nbody", test_size=20, data="symmetries")
    (x3, _), (xt3, _) = own.make_data(30, seed=1)
    assert x3[0].shape == (30, 5, 3) and not torch.equal(xt3[0], xt[0])  # the other source
    with pytest.raises(ValueError, match="source must be 'egnn' or 'symmetries', got 'paper'"):
        get_task("nbody", data="paper").make_data(30, seed=1)


def test_radial_field_matches_its_update_rule(gen):
    """One layer against the update written out per particle, in float64."""
    rf = NBodyRadialField(hidden=8, layers=1).double()
    torch.nn.init.normal_(rf.phi[0][2].weight, std=0.5)
    pos, vel, charges = _inputs(gen, b=2)
    out = rf((pos, vel, charges))
    phi, psi = rf.phi[0], rf.psi[0]
    for b in range(2):
        for i in range(5):
            pull = torch.zeros(3, dtype=torch.float64)
            for j in range(5):
                if j != i:
                    d = pos[b, i] - pos[b, j]
                    a = torch.stack([d.norm(), charges[b, i, 0] * charges[b, j, 0], d.pow(2).sum()])
                    pull += d * phi(a)
            expected = pos[b, i] + pull / 4 + psi(vel[b, i].norm().view(1)) * vel[b, i]
            assert torch.allclose(out[b, i], expected, atol=1e-12)
    pos.requires_grad_()
    rf((pos, vel, charges)).sum().backward()
    assert torch.isfinite(pos.grad).all()
