"""The Potential base class (energy -> forces, stress), training and checkpoints, on a toy pair model.

The toy is a learned pair potential, so these tests do not depend on the O(3) layers; the
NequIP-style model is tested in test_nequip.py.
"""

import numpy as np
import pytest
import torch

from symmetries.data import AtomsData, emt_md
from symmetries.models import AtomsGraphs, Potential, evaluate_potential, potential_loss, train_potential


class PairToy(Potential):
    """eps_i = sum_j phi_{Z_i Z_j}(r_ij) with phi a small MLP times (1 - r / r_c)^3."""

    def __init__(self, species, cutoff=3.2):
        super().__init__(species, cutoff)
        s = self.n_species
        self.mlp = torch.nn.Sequential(torch.nn.Linear(1 + 2 * s, 16), torch.nn.SiLU(), torch.nn.Linear(16, 1))

    def atomic_outputs(self, index, edge_index, vectors):
        r = vectors.norm(dim=1, keepdim=True)
        onehot = torch.nn.functional.one_hot(index, self.n_species).to(r.dtype)
        x = torch.cat([r, onehot[edge_index[0]], onehot[edge_index[1]]], 1)
        phi = self.mlp(x)[:, 0] * (1 - r[:, 0] / self.cutoff).clamp_min(0) ** 3
        return torch.zeros(index.shape[0], dtype=r.dtype, device=r.device).index_add(0, edge_index[1], phi)


@pytest.fixture(scope="module")
def bulk():
    return emt_md("Cu", "bulk", n_frames=12, n_trajectories=2, warmup=5, stride=3, cache=False)


def toy(seed=0, dtype=torch.float64, species=(29,)):
    torch.manual_seed(seed)
    return PairToy(species).to(dtype)


def test_forces_and_stress_are_derivatives(bulk):
    model = toy()
    d = bulk[0]
    pos, cell = d.positions.clone(), d.cell.clone()
    out = model(pos, d.numbers, cell=cell, pbc=d.pbc, compute_stress=True)
    energy = lambda p, c: float(model(p, d.numbers, cell=c, pbc=d.pbc, compute_forces=False)["energy"][0].detach())  # noqa: E731,E501
    h = 1e-5
    for i, a in [(0, 0), (5, 1), (17, 2)]:
        plus, minus = pos.clone(), pos.clone()
        plus[i, a] += h
        minus[i, a] -= h
        fd = -(energy(plus, cell) - energy(minus, cell)) / (2 * h)
        assert float(out["forces"][i, a]) == pytest.approx(fd, abs=1e-8)
    volume = float(torch.linalg.det(cell[0]))
    for a, b in [(0, 0), (1, 2), (2, 0)]:
        eps = torch.zeros(3, 3, dtype=torch.float64)
        eps[a, b] = eps[b, a] = h / 2 if a != b else h
        strained = lambda e: energy(pos @ (torch.eye(3, dtype=torch.float64) + e), cell @ (torch.eye(3, dtype=torch.float64) + e))  # noqa: E731,E501
        fd = (strained(eps) - strained(-eps)) / (2 * h) / volume
        assert float(out["stress"][0, a, b]) == pytest.approx(fd, abs=1e-8)
    assert torch.allclose(out["stress"][0], out["stress"][0].T, atol=1e-14)


def test_gradcheck_energy():
    model = toy()
    d = emt_md("Cu", "bulk", size=1, n_frames=1, n_trajectories=1, warmup=5, cache=False)  # 4 atoms and their images
    ei, s = AtomsGraphs(d, model.cutoff)[0].edge_index, AtomsGraphs(d, model.cutoff)[0].shifts
    f = lambda p: model(p, d.numbers, cell=d.cell, edge_index=ei, shifts=s, compute_forces=False)["energy"]  # noqa: E731
    assert torch.autograd.gradcheck(f, (d.positions.clone().requires_grad_(),))


def test_batched_equals_one_by_one(bulk):
    model = toy()
    d = bulk[:3]
    together = model(d.positions, d.numbers, d.batch, d.cell, d.pbc, compute_stress=True)
    for i in range(3):
        one = model(d[i].positions, d[i].numbers, cell=d[i].cell, pbc=d[i].pbc, compute_stress=True)
        assert torch.allclose(one["energy"], together["energy"][i:i + 1], atol=1e-12)
        assert torch.allclose(one["forces"], together["forces"][32 * i:32 * (i + 1)], atol=1e-12)
        assert torch.allclose(one["stress"], together["stress"][i:i + 1], atol=1e-12)


def test_fit_reference_recovers_species_energies():
    rng = np.random.default_rng(0)
    n = torch.tensor(rng.integers(2, 6, 10))
    numbers = torch.cat([torch.tensor(rng.choice([1, 8], int(k))) for k in n])
    mu = {1: -13.6, 8: -432.1}
    energy = torch.zeros(10, dtype=torch.float64).index_add(
        0, torch.repeat_interleave(torch.arange(10), n), torch.tensor([mu[int(z)] for z in numbers], dtype=torch.float64))
    forces = torch.randn(int(n.sum()), 3, dtype=torch.float64)
    data = AtomsData(torch.randn(int(n.sum()), 3, dtype=torch.float64), numbers, n, torch.zeros(10, 3, 3),
                     torch.zeros(10, 3, dtype=torch.bool), energy, forces)
    model = toy(species=(1, 8))
    model.fit_reference(data)
    assert model.energy_shift.tolist() == pytest.approx([-13.6, -432.1], abs=1e-9)
    assert float(model.energy_scale) == pytest.approx(float(forces.pow(2).mean().sqrt()))


def test_unknown_species_and_bad_input(bulk):
    model = toy()
    d = bulk[0]
    numbers = d.numbers.clone()
    numbers[[3, 7]] = torch.tensor([78, 13])
    with pytest.raises(ValueError, match=r"species \[13, 78\] .* unknown to this model, which was trained on species \[29\]"):
        model(d.positions, numbers, cell=d.cell)
    with pytest.raises(ValueError, match=r"species \[200\]"):
        model(d.positions, torch.full_like(d.numbers, 200), cell=d.cell)
    with pytest.raises(ValueError, match="positions are torch.float32 but the model is torch.float64"):
        model(d.positions.float(), d.numbers, cell=d.cell)
    with pytest.raises(ValueError, match=r"numbers must have shape \(32,\)"):
        model(d.positions, d.numbers[:5], cell=d.cell)
    with pytest.raises(ValueError, match="compute_stress needs a cell"):
        model(d.positions, d.numbers, compute_stress=True)
    with pytest.raises(ValueError, match="a cell has zero volume"):
        model(d.positions, d.numbers, cell=torch.zeros(1, 3, 3, dtype=torch.float64), compute_stress=True)
    with pytest.raises(ValueError, match="species must be atomic numbers"):
        PairToy([0, 29])


def test_float32_matches_float64(bulk):
    m64 = toy()
    m32 = toy(dtype=torch.float32)
    d = bulk[0]
    e64 = m64(d.positions, d.numbers, cell=d.cell)
    e32 = m32(d.positions.float(), d.numbers, cell=d.cell.float())
    assert e32["energy"].dtype == torch.float32
    assert torch.allclose(e32["forces"].double(), e64["forces"], atol=1e-4)


def test_loss_and_evaluate(bulk):
    model = toy()
    g = AtomsGraphs(bulk, model.cutoff)
    b = g[torch.arange(4)]
    pred = model(**b.inputs(), compute_stress=True)
    d = b.data
    expected = ((pred["energy"] - d.energy) / 32).pow(2).mean() + 2 * (pred["forces"] - d.forces).pow(2).mean() \
        + 3 * (pred["stress"] - d.stress).pow(2).mean()
    assert float(potential_loss(pred, b, 1.0, 2.0, 3.0)) == pytest.approx(float(expected))
    err = evaluate_potential(model, bulk[:4])
    assert err["force_mae"] == pytest.approx(float((pred["forces"] - d.forces).abs().mean()))
    assert err["energy_mae"] == pytest.approx(float((pred["energy"] - d.energy).abs().mean()))
    assert err["force_std"] == pytest.approx(bulk[:4].force_std) and "stress_mae" in err


def test_training_reduces_force_error(bulk):
    train, val = bulk[:8], bulk[8:]
    model = toy()
    model.fit_reference(train)
    before = evaluate_potential(model, val)["force_mae"]
    hist = train_potential(model, train, val, epochs=12, batch_size=2, lr=3e-2, stress_weight=1.0, fit_reference=False)
    after = evaluate_potential(model, val)["force_mae"]
    assert after < 0.7 * before, (before, after)
    assert hist["best_val_loss"] == min(hist["val_loss"]) and len(hist["train_loss"]) == hist["epochs_run"] == 12


def test_early_stopping_keeps_best_weights(bulk):
    model = toy()
    hist = train_potential(model, bulk[:4], bulk[8:10], epochs=50, batch_size=4, lr=1.0, patience=2, lr_patience=100)
    assert hist["stopped_early"] and hist["epochs_run"] < 50
    assert hist["epochs_run"] == hist["best_epoch"] + 3
    # the model was left at the best epoch's weights
    g = AtomsGraphs(bulk[8:10], model.cutoff)
    val = sum(float(potential_loss(model(**b.inputs()), b)) * len(b.data) for b in g.batches(8)) / len(g)
    assert val == pytest.approx(hist["best_val_loss"], rel=1e-10)


def test_resume_equals_uninterrupted(bulk, tmp_path):
    kw = dict(batch_size=4, lr=1e-2, lr_patience=1, seed=5)
    full = toy(seed=1)
    h_full = train_potential(full, bulk[:8], bulk[8:], epochs=6, checkpoint=tmp_path / "full.pt", **kw)
    part = toy(seed=1)
    train_potential(part, bulk[:8], bulk[8:], epochs=3, checkpoint=tmp_path / "part.pt", **kw)
    resumed = toy(seed=99)  # different initial weights: everything must come from the checkpoint
    h_res = train_potential(resumed, bulk[:8], bulk[8:], epochs=6, checkpoint=tmp_path / "part.pt", **kw)
    assert h_res["val_loss"] == h_full["val_loss"] and h_res["lr"] == h_full["lr"]
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    saved = torch.load(tmp_path / "part.pt", weights_only=True)
    assert saved["state"]["epoch"] == 6 and set(saved) >= {"model", "optimizer", "scheduler", "rng", "best_model"}


def test_state_dict_round_trip(bulk, tmp_path):
    model = toy()
    model.fit_reference(bulk)
    torch.save(model.state_dict(), tmp_path / "m.pt")
    other = toy(seed=3)
    other.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    d = bulk[0]
    assert torch.equal(model(d.positions, d.numbers, cell=d.cell)["forces"], other(d.positions, d.numbers, cell=d.cell)["forces"])
    assert set(model.state_dict()) == set(model.train().state_dict())


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_training_and_evaluation_on_cuda(bulk):
    model = toy().cuda()
    hist = train_potential(model, bulk[:4], bulk[4:6], epochs=2, batch_size=2)
    assert len(hist["val_loss"]) == 2
    err = evaluate_potential(model, bulk[6:8])
    cpu = evaluate_potential(model.cpu(), bulk[6:8])
    assert err["force_mae"] == pytest.approx(cpu["force_mae"], rel=1e-9)
