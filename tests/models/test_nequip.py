"""The NequIP-style potential: E(3) and permutation symmetry, derivatives, smoothness, compile, ase."""

import numpy as np
import pytest
import torch

from symmetries.actions import PointCloudAction, SetPermutation
from symmetries.groups import Euclidean
from symmetries.data import emt_md
from symmetries.data._xtb import molecule
from symmetries.groups import O3
from symmetries.models import NequIP
from symmetries.nn.o3 import hidden_irreps
from symmetries.reps import standard
from symmetries.testing import assert_equivariant, check_equivariance

E3 = Euclidean(3)
MOVE_IN = PointCloudAction(E3, {"positions": "position", "cell": "vector"})
MOVE_OUT = PointCloudAction(E3, {"energy": "scalar", "forces": "vector"})


@pytest.fixture(scope="module")
def bulk():
    return emt_md("Cu", "bulk", n_frames=2, n_trajectories=1, warmup=5, stride=3, cache=False)


def model(l_max, species=(29,), dtype=torch.float64, seed=0, **kw):
    torch.manual_seed(seed)
    m = NequIP(species, cutoff=4.0, l_max=l_max, channels=4, n_layers=2, n_basis=4, radial_hidden=8, **kw)
    with torch.no_grad():  # non-trivial reference energies and normalization
        m.energy_shift.normal_()
        m.energy_scale.fill_(0.7)
        m.avg_neighbors.fill_(12.0)
    return m.to(dtype).eval()


def frame_fn(m, numbers, pbc):
    def f(x):
        out = m(x["positions"], numbers, cell=x.get("cell"), pbc=pbc)
        return {"energy": out["energy"], "forces": out["forces"]}
    return f


@pytest.mark.parametrize("l_max", [0, 1, 2])
def test_periodic_energy_invariant_forces_equivariant(bulk, l_max):
    m = model(l_max)
    d = bulk[0]
    x = {"positions": d.positions, "cell": d.cell}
    gen = torch.Generator().manual_seed(l_max)
    report = assert_equivariant(frame_fn(m, d.numbers, d.pbc), MOVE_IN, MOVE_OUT, x, n_samples=6, generator=gen)
    assert report.max_rel_error <= 1e-10
    # reflections included: the parity element -I (and its products) is exact too
    minus = E3.from_parts(-torch.eye(3, dtype=torch.float64)[None], torch.zeros(1, 3, dtype=torch.float64))
    assert_equivariant(frame_fn(m, d.numbers, d.pbc), MOVE_IN, MOVE_OUT, x, elements=minus)


@pytest.mark.parametrize("l_max", [1, 2])
def test_molecule_with_three_species(l_max):
    atoms = molecule("aspirin")
    m = model(l_max, species=(1, 6, 8))
    numbers = torch.tensor(atoms.numbers)
    x = {"positions": torch.tensor(atoms.positions)}
    act_in = PointCloudAction(E3, {"positions": "position"})
    gen = torch.Generator().manual_seed(7)
    assert_equivariant(frame_fn(m, numbers, None), act_in, MOVE_OUT, x, n_samples=6, generator=gen)
    # a permutation of the atoms permutes the forces and leaves the energy alone
    n = len(atoms)
    perm_in = SetPermutation(n, {"positions": 1, "numbers": 1})
    perm_out = SetPermutation(n, {"energy": 0, "forces": 1})

    def batched(x):
        out = m(x["positions"][0], x["numbers"][0])
        return {"energy": out["energy"], "forces": out["forces"][None]}

    assert_equivariant(batched, perm_in, perm_out, {"positions": x["positions"][None], "numbers": numbers[None]},
                       n_samples=6, generator=gen)


def test_permutation_of_mixed_species_in_a_periodic_cell(bulk):
    d = bulk[1]
    numbers = torch.where(torch.arange(32) % 3 == 0, 78, 29)  # a Cu-Pt alloy, as far as the model knows
    m = model(2, species=(29, 78))
    perm_in = SetPermutation(32, {"positions": 1, "numbers": 1, "cell": 0})
    perm_out = SetPermutation(32, {"energy": 0, "forces": 1, "stress": 0})

    def f(x):
        out = m(x["positions"][0], x["numbers"][0], cell=x["cell"], compute_stress=True)
        return {"energy": out["energy"], "forces": out["forces"][None], "stress": out["stress"]}

    x = {"positions": d.positions[None], "numbers": numbers[None], "cell": d.cell}
    assert_equivariant(f, perm_in, perm_out, x, n_samples=6, generator=torch.Generator().manual_seed(1))


def test_stress_is_a_symmetric_rank_two_tensor(bulk):
    m = model(1)
    d = bulk[0]
    G = O3()
    V = standard(G)
    act_in = PointCloudAction(G, {"positions": "vector", "cell": "vector"})

    def stress(x):
        return m(x["positions"], d.numbers, cell=x["cell"], compute_stress=True)["stress"].reshape(1, 9)

    x = {"positions": d.positions, "cell": d.cell}
    assert_equivariant(stress, act_in, V ** 2, x, n_samples=6, generator=torch.Generator().manual_seed(2))
    s = stress(x).reshape(3, 3)
    assert torch.allclose(s, s.T, atol=1e-14)


def test_float32_equivariance(bulk):
    m = model(2, dtype=torch.float32)
    d = bulk[0].to(dtype=torch.float32)
    x = {"positions": d.positions, "cell": d.cell}
    report = assert_equivariant(frame_fn(m, d.numbers, d.pbc), MOVE_IN, MOVE_OUT, x, n_samples=4,
                                generator=torch.Generator().manual_seed(3))
    assert report.dtype == torch.float32


def test_cartesian_baseline_is_not_rotation_invariant(bulk):
    m = model(0, edge_attributes="cartesian")
    d = bulk[0]
    x = {"positions": d.positions, "cell": d.cell}
    rot = check_equivariance(frame_fn(m, d.numbers, d.pbc), MOVE_IN, MOVE_OUT, x, n_samples=4,
                             generator=torch.Generator().manual_seed(4))
    assert rot.max_rel_error > 1e-3 and rot.verdict != "exact"
    # ... but it is translation invariant
    shifts = E3.from_parts(torch.eye(3, dtype=torch.float64).expand(4, 3, 3), torch.randn(4, 3, dtype=torch.float64))
    assert_equivariant(frame_fn(m, d.numbers, d.pbc), MOVE_IN, MOVE_OUT, x, elements=shifts)


def test_forces_and_stress_are_exact_derivatives(bulk):
    m = model(2)
    d = bulk[0]
    out = m(d.positions, d.numbers, cell=d.cell, compute_stress=True)

    def energy(pos, cell):
        return m(pos, d.numbers, cell=cell, compute_forces=False)["energy"][0].detach()

    h = 1e-5
    for i, a in [(0, 0), (11, 2), (30, 1)]:
        e = torch.zeros_like(d.positions)
        e[i, a] = h
        fd = -(energy(d.positions + e, d.cell) - energy(d.positions - e, d.cell)) / (2 * h)
        assert float(out["forces"][i, a]) == pytest.approx(float(fd), abs=1e-8)
    eye = torch.eye(3, dtype=torch.float64)
    eps = torch.zeros(3, 3, dtype=torch.float64)
    eps[0, 1] = eps[1, 0] = h / 2
    fd = (energy(d.positions @ (eye + eps), d.cell @ (eye + eps)) - energy(d.positions @ (eye - eps), d.cell @ (eye - eps)))
    fd = fd / (2 * h) / torch.linalg.det(d.cell[0])
    assert float(out["stress"][0, 0, 1].detach()) == pytest.approx(float(fd), abs=1e-8)


def test_gradcheck():
    atoms = molecule("ethanol")[:5]  # C, C, O and two H: every species, few inputs
    m = model(2, species=(1, 6, 8))
    numbers = torch.tensor(atoms.numbers)
    pos = torch.tensor(atoms.positions).requires_grad_()
    assert torch.autograd.gradcheck(lambda p: m(p, numbers, compute_forces=False)["energy"], (pos,))
    # forces are differentiable too (the force loss needs it): second derivatives
    assert torch.autograd.gradgradcheck(lambda p: m(p, numbers, compute_forces=False)["energy"], (pos,))


def test_force_loss_gradient_wrt_parameters():
    """Training on forces differentiates -dE/dx with respect to the weights: a mixed second derivative."""
    from torch.func import functional_call

    atoms = molecule("ethanol")[:5]
    m = model(2, species=(1, 6, 8)).train()
    numbers, pos = torch.tensor(atoms.numbers), torch.tensor(atoms.positions)
    params = dict(m.named_parameters())
    for name in ("interactions.0.radial.weights.0", "interactions.1.linear_up.weight", "embedding.weight"):
        def forces(w, name=name):
            return functional_call(m, {**params, name: w}, (pos, numbers))["forces"]

        w = params[name].detach().clone().requires_grad_()
        assert torch.autograd.gradcheck(forces, (w,)), name


def test_smooth_at_the_cutoff():
    m = model(2)
    numbers = torch.tensor([29, 29])
    rc = m.cutoff

    def dimer(r):
        pos = torch.tensor([[0.0, 0.0, 0.0], [r, 0.0, 0.0]], dtype=torch.float64)
        return m(pos, numbers)

    inside, outside = dimer(rc - 1e-6), dimer(rc + 1e-6)
    assert float((inside["energy"] - outside["energy"]).abs()) < 1e-12
    assert float(inside["forces"].abs().max()) < 1e-9 and float(outside["forces"].abs().max()) == 0.0
    assert float(dimer(2.5)["forces"].abs().max()) > 1e-4  # and not trivially flat


def test_hidden_irreps_and_bad_arguments():
    assert str(hidden_irreps(8, 2)) == "8x0e+8x1o+8x2e"
    with pytest.raises(ValueError, match="edge_attributes must be one of"):
        NequIP([29], edge_attributes="polar")
    with pytest.raises(ValueError, match="needs l_max=0, got l_max=1"):
        NequIP([29], l_max=1, edge_attributes="cartesian")
    m = model(1)
    with pytest.raises(ValueError, match=r"species \[1\] .* unknown to this model, which was trained on species \[29\]"):
        m(torch.zeros(2, 3, dtype=torch.float64) + torch.tensor([[0.0], [1.0]], dtype=torch.float64),
          torch.tensor([29, 1]))


def test_state_dict_round_trip_and_modes(bulk, tmp_path):
    m = model(2)
    torch.save(m.state_dict(), tmp_path / "m.pt")
    other = model(2, seed=5)
    other.load_state_dict(torch.load(tmp_path / "m.pt", weights_only=True))
    d = bulk[0]
    a, b = m(d.positions, d.numbers, cell=d.cell), other(d.positions, d.numbers, cell=d.cell)
    assert torch.equal(a["energy"], b["energy"]) and torch.equal(a["forces"], b["forces"])
    assert list(m.train().state_dict()) == list(m.eval().state_dict())


def test_fit_reference_sets_neighbour_count(bulk):
    m = model(1)
    m.fit_reference(bulk)
    # fcc Cu, cutoff 4 A: 12 + 6 neighbours, give or take thermal motion
    assert 16.0 < float(m.avg_neighbors) < 20.0


@pytest.mark.slow
def test_torch_compile(bulk):
    m = model(1)
    d = bulk[0]
    from symmetries.nn.graphs import radius_graph

    ei, s = radius_graph(d.positions, m.cutoff, max_num_neighbors=None, cell=d.cell)
    eager = m(d.positions, d.numbers, cell=d.cell, edge_index=ei, shifts=s)
    # inductor's vectorized C++ codegen asserts on a float64 scatter-add in this graph (a torch
    # bug, not ours); scalar codegen compiles the same graph
    compiled = torch.compile(m)
    with torch._inductor.config.patch({"cpp.simdlen": 1}):
        out = compiled(d.positions, d.numbers, cell=d.cell, edge_index=ei, shifts=s)
    assert torch.allclose(out["energy"], eager["energy"], atol=1e-10)
    assert torch.allclose(out["forces"], eager["forces"], atol=1e-10)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.cuda
def test_cuda_matches_cpu(bulk):
    m = model(2)
    d = bulk[0]
    cpu = m(d.positions, d.numbers, cell=d.cell, compute_stress=True)
    gpu = m.cuda()(d.positions.cuda(), d.numbers.cuda(), cell=d.cell.cuda(), compute_stress=True)
    for k in ("energy", "forces", "stress"):
        assert torch.allclose(gpu[k].cpu(), cpu[k], atol=1e-10)


def test_ase_calculator_nve_conserves_energy():
    pytest.importorskip("ase")
    from ase import units
    from ase.cluster import Icosahedron
    from ase.md.verlet import VelocityVerlet

    from symmetries.models import PotentialCalculator

    m = model(1)
    with torch.no_grad():
        m.energy_scale.fill_(0.1)  # a gentle random landscape
    atoms = Icosahedron("Cu", noshells=2)
    atoms.rattle(0.05, seed=0)
    atoms.calc = PotentialCalculator(m)
    rng = np.random.default_rng(0)
    atoms.set_momenta(rng.normal(0, 1, (len(atoms), 3)) * np.sqrt(atoms.get_masses()[:, None] * units.kB * 300))
    total = []
    dyn = VelocityVerlet(atoms, 1.0 * units.fs)
    dyn.attach(lambda: total.append(atoms.get_total_energy()), interval=5)
    dyn.run(200)
    total = np.array(total)
    kinetic_scale = 1.5 * len(atoms) * units.kB * 300
    assert np.ptp(total) < 0.01 * kinetic_scale, np.ptp(total)
    pos = torch.tensor(atoms.positions)
    ref = m(pos, torch.tensor(atoms.numbers))
    assert atoms.get_potential_energy() == pytest.approx(float(ref["energy"][0]), abs=1e-10)
    np.testing.assert_allclose(atoms.get_forces(), ref["forces"].detach().numpy(), atol=1e-10)


def test_ase_calculator_stress(bulk):
    from symmetries.models import PotentialCalculator

    m = model(2)
    atoms = bulk.to_ase()[0]
    atoms.calc = PotentialCalculator(m)
    d = bulk[0]
    ref = m(d.positions, d.numbers, cell=d.cell, compute_stress=True)["stress"][0]
    s = atoms.get_stress(voigt=False)
    np.testing.assert_allclose(s, ref.detach().numpy(), atol=1e-12)
    with pytest.raises(Exception, match="stress needs a cell periodic"):
        mol = molecule("ethanol")
        mol.calc = PotentialCalculator(model(1, species=(1, 6, 8)))
        mol.get_stress()


@pytest.mark.parametrize("l_max", [0, 1])
def test_force_loss_gradients_for_every_l_max(bulk, l_max):
    """Training on forces differentiates through the forces (create_graph): also for l_max = 0,
    whose edge harmonics are a constant, and matching a finite difference of the loss."""
    m = model(l_max)
    d = bulk[0]
    params = [p for p in m.parameters() if p.requires_grad]

    def loss():
        out = m(d.positions, d.numbers, cell=d.cell, create_graph=True)
        return out["forces"].pow(2).sum()

    grads = torch.autograd.grad(loss(), params, allow_unused=True)
    p, g = params[-1], grads[-1]
    assert g is not None and torch.isfinite(g).all()
    with torch.no_grad():
        eps, k = 1e-6, int(g.abs().flatten().argmax())
        p.view(-1)[k] += eps
        up = float(loss())
        p.view(-1)[k] -= 2 * eps
        down = float(loss())
        p.view(-1)[k] += eps
    assert abs((up - down) / (2 * eps) - float(g.flatten()[k])) <= 1e-6 * max(1.0, abs(float(g.flatten()[k])))
