"""The wilson-loops study task: data, targets, the gauge symmetry of its models, tiny runs."""

import math

import pytest
import torch

import symmetries as sym
from symmetries.actions import GaugeAction, invariant, polyakov_loops, wilson_loops
from symmetries.groups import LatticeGauge
from symmetries.studies import get_task, train_run
from symmetries.studies.tasks.wilson import (
    LinkCNN,
    SubLatticeGaugeAction,
    WilsonLoops,
    wilson_targets,
)

TINY = {"train_lattice": (4, 4), "test_lattice": (6, 6), "betas": (0.5, 4.0), "pool": 12, "warmup": 4,
        "spacing": 1, "test_size": 8, "channels": (2,), "cnn_hidden": 8, "batch_size": 4, "min_steps": 4,
        "max_steps": 4}


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:  # the ensembles go to (and stay in) a folder of the module's
        mp.setenv("SYMMETRIES_CACHE", str(tmp_path_factory.mktemp("cache")))
        t = WilsonLoops(**TINY)
        data = t.make_data(6, 0)
        yield t, data


def test_registered_with_the_papers_methods():
    t = get_task("wilson-loops")
    assert isinstance(t, WilsonLoops)
    assert t.methods == ("plain", "augment", "equivariant")
    assert t.train_lattice == (8, 8) and t.test_lattice == (16, 16)
    assert min(t.betas) == pytest.approx(0.1) and max(t.betas) == pytest.approx(6.0)
    assert t.action_in.group.shape == (16, 16)


def test_data_shapes_and_finite(task):
    _, ((x, y), (xt, yt)) = task
    assert x.shape == (6, 2, 4, 4, 2, 2) and x.dtype == torch.complex64
    assert xt.shape == (8, 2, 6, 6, 2, 2)
    assert y.shape == (6, 3) and yt.shape == (8, 3)
    for v in (x, y, xt, yt):
        assert torch.isfinite(torch.view_as_real(v) if v.is_complex() else v).all()
    # SU(2) links
    eye = torch.eye(2, dtype=x.dtype)
    assert (x @ x.mH - eye).abs().max() < 1e-5
    assert (torch.linalg.det(xt) - 1).abs().max() < 1e-5


def test_same_seed_same_data_and_test_set_independent_of_seed(task):
    t, ((x, _), (xt, _)) = task
    (x2, _), _ = t.make_data(6, 0)
    (x3, _), (xt3, _) = t.make_data(6, 1)
    assert torch.equal(x, x2) and torch.equal(xt, xt3)
    assert not torch.equal(x, x3)


def test_targets_are_the_observables(task):
    _, (_, (xt, yt)) = task
    U = xt
    # the plaquette by hand: U_0(x) U_1(x + 0) U_0(x + 1)^dagger U_1(x)^dagger
    U0, U1 = U[:, 0], U[:, 1]
    P = U0 @ torch.roll(U1, -1, 1) @ torch.roll(U0, -1, 2).mH @ U1.mH
    w11 = torch.diagonal(P, dim1=-2, dim2=-1).sum(-1).real.mean((1, 2)) / 2
    assert torch.allclose(w11, wilson_loops(U, (1, 1)).real.mean((1, 2, 3)), atol=1e-6)
    w12 = (wilson_loops(U, (1, 2)).real.mean((1, 2, 3)) + wilson_loops(U, (2, 1)).real.mean((1, 2, 3))) / 2
    poly = polyakov_loops(U, 0).real.mean(1)
    want = torch.stack([w11, w12, poly], 1).to(yt.dtype)
    assert torch.allclose(yt, want, atol=1e-5)
    # the plaquette grows with beta: the second half of the test set is at beta = 4
    assert yt[4:, 0].mean() > yt[:4, 0].mean() + 0.3
    more = wilson_targets(U, ("2x2", "1x3"))
    assert more.shape == (8, 2) and torch.isfinite(more).all()


def test_bad_targets_are_refused():
    with pytest.raises(ValueError, match="'axb' Wilson loops"):
        WilsonLoops(targets=("1x1", "plaquette"))
    with pytest.raises(ValueError, match="same dimension"):
        WilsonLoops(train_lattice=(8, 8), test_lattice=(8, 8, 8))


def test_sub_lattice_action_is_the_gauge_action_restricted(task):
    t, ((x, _), (xt, _)) = task
    act = t.action_in
    assert isinstance(act, SubLatticeGaugeAction) and act.group.shape == (6, 6)
    g = act.group.sample(len(x), generator=torch.Generator().manual_seed(0))
    small = GaugeAction(LatticeGauge("SU2", (4, 4))).act(g[:, :4, :4].contiguous(), x)
    assert torch.allclose(act.act(g, x), small)
    g6 = act.group.sample(len(xt), generator=torch.Generator().manual_seed(1))
    assert torch.equal(act.act(g6, xt), GaugeAction(act.group).act(g6, xt))
    with pytest.raises(ValueError, match="lattices up to"):
        act.act(g[:1], torch.eye(2, dtype=torch.complex64).expand(1, 2, 8, 8, 2, 2))


def test_equivariant_model_exactly_invariant_plain_not(task):
    t, ((x, _), (xt, _)) = task
    torch.manual_seed(0)
    for inputs in (x, xt):
        eq = sym.check_equivariance(t.make_equivariant_model(), t.action_in, invariant(), inputs, n_samples=4)
        plain = sym.check_equivariance(t.make_model(), t.action_in, invariant(), inputs, n_samples=4)
        assert eq.verdict == "exact", eq
        assert plain.verdict != "exact" and plain.max_rel_error > 1e-2, plain


def test_link_cnn_runs_on_any_lattice_and_checks_input():
    net = LinkCNN(2, 2, 3, hidden=4)
    for L in (4, 6):
        U = torch.eye(2, dtype=torch.complex64).expand(2, 2, L, L, 2, 2)
        assert net(U).shape == (2, 3)
    with pytest.raises(ValueError, match="complex links"):
        net(torch.zeros(2, 2, 4, 4, 2, 2))


@pytest.mark.parametrize("method", ["plain", "augment", "equivariant"])
def test_tiny_train_run(task, method):
    t, _ = task
    r = train_run(t, method, 6, 0)
    assert r["status"] == "ok" and r["steps"] == 4
    assert math.isfinite(r["metric"])
    assert (r["equivariance_verdict"] == "exact") == (method == "equivariant"), r
