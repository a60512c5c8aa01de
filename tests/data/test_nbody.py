"""The charged n-body generator: physics, the reference integrator, seeding, caching."""

import os

import numpy as np
import pytest
import torch

from symmetries.data import (NBodyTrajectories, charged_nbody, coulomb_forces, egnn_initial_states, egnn_nbody_small,
                             integrate_charged, simulate_charged)


def _reference(loc, vel, charges, steps, every, dt, max_force=100.0):
    """One trajectory at a time, in numpy, written from the NRI description (symplectic Euler)."""
    n = loc.shape[0]

    def force(x):
        f = np.zeros_like(x)
        for i in range(n):
            for j in range(n):
                if i != j:
                    d = x[i] - x[j]
                    f[i] += charges[i] * charges[j] * d / np.linalg.norm(d) ** 3
        return np.clip(f, -max_force, max_force)

    x, v = loc.copy(), vel.copy()
    v = v + dt * force(x)
    out = []
    for i in range(1, steps):
        x = x + dt * v
        if i % every == 0:
            out.append((x.copy(), v.copy()))
        v = v + dt * force(x)
    return np.stack([o[0] for o in out]), np.stack([o[1] for o in out])


def test_matches_one_at_a_time_reference():
    sim = simulate_charged(3, steps=301, every=50, seed=3)
    assert sim["pos"].shape == (3, 6, 5, 3)
    # recover the initial state from the generator the same way
    gen = torch.Generator().manual_seed(3)
    charges = (torch.randint(0, 2, (3, 5), generator=gen) * 2 - 1).double()
    x0 = torch.randn(3, 5, 3, generator=gen, dtype=torch.float64)
    v0 = torch.randn(3, 5, 3, generator=gen, dtype=torch.float64)
    v0 = v0 * (0.5 / v0.norm(dim=-1, keepdim=True))
    assert torch.equal(sim["charges"], charges)
    for s in range(3):
        pos, vel = _reference(x0[s].numpy(), v0[s].numpy(), charges[s].numpy(), 301, 50, 1e-3)
        assert np.allclose(sim["pos"][s].numpy(), pos, atol=1e-10)
        assert np.allclose(sim["vel"][s].numpy(), vel, atol=1e-10)


def test_forces_closed_form_and_clipping():
    x = torch.tensor([[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]]], dtype=torch.float64)
    like = coulomb_forces(x, torch.tensor([[1.0, 1.0]], dtype=torch.float64))
    assert torch.allclose(like, torch.tensor([[[-0.25, 0, 0], [0.25, 0, 0]]], dtype=torch.float64))  # repel
    unlike = coulomb_forces(x, torch.tensor([[1.0, -1.0]], dtype=torch.float64))
    assert torch.allclose(unlike, -like)  # attract
    close = coulomb_forces(x * 1e-3, torch.tensor([[1.0, 1.0]], dtype=torch.float64))
    assert close.abs().max() == 100.0
    # Newton's third law: total force zero (before clipping)
    y = torch.randn(4, 5, 3, dtype=torch.float64)
    c = torch.randint(0, 2, (4, 5)).double() * 2 - 1
    assert coulomb_forces(y, c, max_force=None).sum(1).abs().max() < 1e-9


def test_conservation_and_statistics():
    """Momentum is conserved while no force is clipped; speeds start at 0.5; charges +-1."""
    sim = simulate_charged(50, steps=301, every=100, seed=0, max_force=None)
    p = sim["vel"].sum(2)  # total momentum per frame (unit masses)
    assert (p - p[:, :1]).abs().max() < 1e-9
    first = simulate_charged(50, steps=2, every=1, seed=0, dt=1e-12)
    assert torch.allclose(first["vel"][:, 0].norm(dim=-1), torch.full((50, 5), 0.5, dtype=torch.float64))
    assert set(sim["charges"].unique().tolist()) == {-1.0, 1.0}


@pytest.mark.slow
def test_paper_frames_and_baselines(tmp_path):
    """49 frames; the constant-position and x + 0.73 v baselines are near the published
    ~0.27 and ~0.084 (reference values for 3000 trajectories; 300 here)."""
    data = charged_nbody("test", num=300, seed=7, cache_dir=str(tmp_path))
    assert data.pos.shape == (300, 49, 5, 3) and data.pos.dtype == torch.float32
    (pos, vel, charges), target = data.inputs_targets()
    assert charges.shape == (300, 5, 1)
    const = ((target - pos) ** 2).mean().item()
    linear = ((target - pos - 0.73 * vel) ** 2).mean().item()
    assert 0.15 < const < 0.4
    assert 0.04 < linear < 0.14
    assert linear < const


def test_cache_round_trip_and_seeding(tmp_path):
    a = charged_nbody("valid", num=20, seed=1, cache_dir=str(tmp_path), steps=401)
    files = os.listdir(tmp_path)
    assert len(files) == 1 and files[0].endswith(".pt")
    b = charged_nbody("valid", num=20, seed=1, cache_dir=str(tmp_path), steps=401)
    assert torch.equal(a.pos, b.pos)
    c = charged_nbody("valid", num=20, seed=1, cache=False, steps=401)
    assert torch.equal(a.pos, c.pos)
    d = charged_nbody("train", num=20, seed=1, cache_dir=str(tmp_path), steps=401)
    assert not torch.equal(a.pos, d.pos)  # splits are independent
    assert torch.load(os.path.join(tmp_path, files[0]), weights_only=True)["pos"].shape == (20, 4, 5, 3)
    sub = a.subset(slice(0, 5))
    assert isinstance(sub, NBodyTrajectories) and len(sub) == 5


def test_env_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMMETRIES_CACHE", str(tmp_path))
    charged_nbody("test", num=4, steps=201)
    assert os.listdir(tmp_path / "nbody")


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        charged_nbody("validation", cache_dir=str(tmp_path))
    with pytest.raises(TypeError, match="unknown simulation options"):
        charged_nbody("test", num=2, cache_dir=str(tmp_path), particles=3)
    with pytest.raises(ValueError, match="n_particles >= 2"):
        simulate_charged(2, n_particles=1)
    data = charged_nbody("test", num=2, cache_dir=str(tmp_path), steps=301)
    with pytest.raises(ValueError, match="target_frame must lie in"):
        data.inputs_targets(1, 40)


def test_egnn_draws_replay_the_reference_stream():
    """Blocks continue one generator stream, so every trajectory consumes the same draws;
    charges are +-1 (the 0 of the reference's choice has probability 0); speeds are 0.5."""
    (p1, v1, c1), (p2, v2, c2) = egnn_initial_states(counts=(3, 2))
    (p, v, c), = egnn_initial_states(counts=(5,))
    assert np.array_equal(np.concatenate([p1, p2]), p) and np.array_equal(np.concatenate([c1, c2]), c)
    assert np.array_equal(np.concatenate([v1, v2]), v)
    assert p.shape == (5, 5, 3) and c.shape == (5, 5)
    assert set(np.unique(c)) == {-1.0, 1.0}
    assert np.allclose(np.linalg.norm(v, axis=-1), 0.5)
    # numpy's legacy MT19937 seeded 43: the paper's first training trajectory
    assert c[0].tolist() == [-1.0, 1.0, -1.0, -1.0, -1.0]
    assert np.allclose(p[0, 0], [0.40609421, 1.49140104, -0.51885051])


def test_egnn_draws_reflect_into_the_box():
    (p, v, _), = egnn_initial_states(counts=(400,), box=2.0)
    (raw, raw_v, _), = egnn_initial_states(counts=(400,), box=1e9)
    assert np.abs(p).max() <= 2.0
    over, under = raw > 2.0, raw < -2.0
    assert over.any() and under.any()
    assert np.allclose(p[over], 4.0 - raw[over]) and np.all(v[over] <= 0)
    assert np.allclose(p[under], -4.0 - raw[under]) and np.all(v[under] >= 0)
    inside = ~(over | under)
    assert np.array_equal(p[inside], raw[inside]) and np.array_equal(v[inside], raw_v[inside])


def test_egnn_nbody_small_frames(tmp_path):
    """Frames 30 and 40 of the paper's first test trajectory equal a one-at-a-time simulation
    of its starting state; the split is cached."""
    data = egnn_nbody_small("test", num=2, cache_dir=str(tmp_path))
    assert data.pos.shape == (2, 49, 5, 3) and data.pos.dtype == torch.float32
    pos0, vel0, charges = egnn_initial_states(counts=(10000, 2000, 2))[2]
    pos, vel = _reference(pos0[0], vel0[0], charges[0], 5000, 100, 1e-3)
    assert np.allclose(data.pos[0, [30, 40]].numpy(), pos[[30, 40]], atol=1e-5)
    assert np.allclose(data.vel[0, [30, 40]].numpy(), vel[[30, 40]], atol=1e-5)
    assert os.listdir(tmp_path) == ["egnn_nbody_small_test_num2.pt"]
    assert torch.equal(egnn_nbody_small("test", num=2, cache_dir=str(tmp_path)).pos, data.pos)


@pytest.mark.slow
def test_egnn_nbody_small_baselines(tmp_path):
    """The paper's test split: constant position 0.272 and x + 0.73 v 0.084 (reference ~0.27, ~0.084).

    A few trajectories pass through close encounters, where the float64 integration is chaotic:
    their frames depend on the summation order of the CPU's vector units, and they carry the
    tail of the second error. It measured 0.0840 on one machine and 0.0859 on another (both
    with torch 2.13), hence its wider tolerance; the first error hardly moves (0.2716 on both)."""
    (pos, vel, _), target = egnn_nbody_small("test", cache_dir=str(tmp_path)).inputs_targets()
    assert abs(((target - pos) ** 2).mean().item() - 0.2716) < 1e-3
    assert abs(((target - pos - 0.73 * vel) ** 2).mean().item() - 0.0840) < 3e-3


def test_egnn_nbody_small_bad_input(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        egnn_nbody_small("val", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="the valid split has 2000 trajectories; asked for 2001"):
        egnn_nbody_small("valid", num=2001, cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match=r"need positions and velocities \[S, n, d\]"):
        integrate_charged(torch.zeros(2, 5, 3), torch.zeros(2, 5, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match="need steps >= 2 and every >= 1, got 1 and 100"):
        integrate_charged(torch.randn(2, 5, 3), torch.zeros(2, 5, 3), torch.ones(2, 5), steps=1)
