"""Atomistic data: AtomsData container, EMT molecular dynamics generator, cache, xtb molecules."""

import importlib.util

import numpy as np
import pytest
import torch

from symmetries.data import AtomsData, cache_dir, emt_md, xtb_md
from symmetries.data._xtb import _place, molecule

SMALL = dict(n_frames=6, n_trajectories=2, warmup=5, stride=2)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMMETRIES_CACHE", str(tmp_path / "cache"))


def test_cache_dir_follows_env(tmp_path):
    assert cache_dir() == tmp_path / "cache" and cache_dir().is_dir()


def test_emt_bulk_frames_match_emt():
    from ase.calculators.emt import EMT

    data = emt_md("Cu", "bulk", **SMALL)
    assert len(data) == 6 and data.n_atoms.tolist() == [32] * 6 and data.species == [29]
    assert data.stress.shape == (6, 3, 3) and bool(data.pbc.all())
    assert data.positions.dtype == torch.float64 and data.force_std > 0.05
    for i, atoms in enumerate(data.to_ase()):
        atoms.calc = EMT()
        assert atoms.get_potential_energy() == pytest.approx(float(data.energy[i]), abs=1e-10)
        np.testing.assert_allclose(atoms.get_forces(), data[i].forces.numpy(), atol=1e-10)
        np.testing.assert_allclose(atoms.get_stress(voigt=False), data.stress[i].numpy(), atol=1e-10)
    # frames 0-2 come from one trajectory, 3-5 from another with its own strained cell
    assert torch.equal(data.cell[0], data.cell[2]) and not torch.equal(data.cell[0], data.cell[3])


def test_emt_cluster_is_not_periodic():
    data = emt_md("Pt", "cluster", **SMALL)
    assert data.n_atoms.tolist() == [13] * 6 and data.stress is None
    assert not bool(data.pbc.any()) and bool((data.cell == 0).all())


def test_seeded_and_cached():
    a = emt_md("Al", "bulk", seed=3, cache=False, **SMALL)
    b = emt_md("Al", "bulk", seed=3, cache=False, **SMALL)
    c = emt_md("Al", "bulk", seed=4, cache=False, **SMALL)
    assert torch.equal(a.positions, b.positions) and torch.equal(a.energy, b.energy)
    assert not torch.equal(a.positions, c.positions)
    assert not list(cache_dir().glob("emt-*.npz"))
    d = emt_md("Al", "bulk", seed=3, **SMALL)
    assert len(list(cache_dir().glob("emt-*.npz"))) == 1
    e = emt_md("Al", "bulk", seed=3, **SMALL)  # from the cache
    assert torch.equal(d.forces, a.forces) and torch.equal(e.forces, a.forces) and torch.equal(e.stress, a.stress)


def test_indexing_split_and_round_trip(tmp_path):
    data = emt_md("Cu", "cluster", **SMALL)
    sub = data[torch.tensor([4, 1])]
    assert torch.equal(sub.positions[:13], data.positions[52:65]) and torch.equal(sub.energy, data.energy[[4, 1]])
    assert torch.equal(data[2:4].forces, data.forces[26:52]) and len(data[3]) == 1
    assert data.batch.tolist() == sum(([i] * 13 for i in range(6)), [])
    a, b = data.split([2, 3], generator=torch.Generator().manual_seed(0))
    assert len(a) == 2 and len(b) == 3 and not set(a.energy.tolist()) & set(b.energy.tolist())
    data.save(tmp_path / "x.npz")
    back = AtomsData.load(tmp_path / "x.npz")
    assert back.name == data.name and torch.equal(back.positions, data.positions) and back.stress is None
    again = AtomsData.from_ase(data.to_ase())
    assert torch.equal(again.forces, data.forces) and torch.equal(again.energy, data.energy)
    f32 = data.to(dtype=torch.float32)
    assert f32.positions.dtype == torch.float32 and f32.numbers.dtype == torch.long


def test_bad_input():
    with pytest.raises(ValueError, match="EMT has parameters for"):
        emt_md("Fe")
    with pytest.raises(ValueError, match="'bulk' or 'cluster'"):
        emt_md("Cu", "slab")
    with pytest.raises(ValueError, match=r"AtomsData.forces: expected shape \(4, 3\), got \(3, 3\)"):
        AtomsData(torch.zeros(4, 3), torch.ones(4, dtype=torch.long), torch.tensor([4]), torch.zeros(1, 3, 3),
                  torch.zeros(1, 3, dtype=torch.bool), torch.zeros(1), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="n_atoms sums to 3 but there are 4 atoms"):
        AtomsData(torch.zeros(4, 3), torch.ones(4, dtype=torch.long), torch.tensor([3]), torch.zeros(1, 3, 3),
                  torch.zeros(1, 3, dtype=torch.bool), torch.zeros(1), torch.zeros(4, 3))
    data = emt_md("Cu", "cluster", **SMALL)
    with pytest.raises(ValueError, match="asked for 7 frames"):
        data.split([3, 4])
    with pytest.raises(ValueError, match="unknown molecule 'benzene'"):
        xtb_md("benzene")


def test_zmatrix_placement():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b, c = rng.normal(size=(3, 3))
        bond, angle, dihedral = rng.uniform(0.8, 2), rng.uniform(30, 170), rng.uniform(-179, 179)
        d = _place(a, b, c, bond, angle, dihedral)
        assert np.linalg.norm(d - a) == pytest.approx(bond)
        u, v = d - a, b - a
        assert np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))) == pytest.approx(angle)
        b1, b2, b3 = a - d, b - a, c - b  # dihedral d-a-b-c
        n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
        x, y = n1 @ n2, np.cross(n1, n2) @ b2 / np.linalg.norm(b2)
        assert np.degrees(np.arctan2(y, x)) == pytest.approx(dihedral, abs=1e-8)


def test_starting_molecules():
    for name, formula in [("ethanol", "C2H6O"), ("malonaldehyde", "C3H4O2"), ("aspirin", "C9H8O4")]:
        atoms = molecule(name)
        assert atoms.get_chemical_formula() == formula
        d = atoms.get_all_distances() + 9 * np.eye(len(atoms))
        assert d.min() > 0.9  # no two atoms on top of each other


@pytest.mark.skipif(importlib.util.find_spec("tblite") is None, reason="tblite not installed")
def test_xtb_ethanol():
    data = xtb_md("ethanol", n_frames=3, warmup=5, stride=2)
    assert data.n_atoms.tolist() == [9] * 3 and data.species == [1, 6, 8] and data.stress is None
    assert torch.isfinite(data.forces).all() and float(data.forces.abs().max()) > 0.1
    # energies of a molecule near its minimum: a few eV above the relaxed value, far below atomisation
    assert float(data.energy.max() - data.energy.min()) < 5.0
