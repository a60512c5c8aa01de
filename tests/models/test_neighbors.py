"""The potentials' radius graph (periodic cells, all neighbours) against brute force and
ase.neighborlist, and the frames' graphs of AtomsGraphs."""

import itertools

import numpy as np
import pytest
import torch

from symmetries.models import AtomsGraphs
from symmetries.nn.graphs import edge_vectors, radius_graph


def all_neighbours(positions, cutoff, batch=None, cell=None, pbc=None):
    """All pairs closer than ``cutoff``, as the potentials build them."""
    return radius_graph(positions, cutoff, batch, max_num_neighbors=None, cell=cell, pbc=pbc)


def brute_force(pos, cell, pbc, cutoff, reach=4):
    """Every (i, j, S) with |x_j + S C - x_i| < cutoff, S over a generous box of shifts."""
    ranges = [range(-reach, reach + 1) if p else [0] for p in pbc]
    found = set()
    for s in itertools.product(*ranges):
        t = np.array(s, dtype=float) @ cell
        d = np.linalg.norm(pos[None, :, :] + t - pos[:, None, :], axis=-1)
        for i, j in zip(*np.nonzero(d < cutoff)):
            if not (i == j and not any(s)):
                found.add((int(i), int(j), s))
    return found


def as_set(edge_index, shifts, start=0):
    return {(int(i) - start, int(j) - start, tuple(int(round(x)) for x in s))
            for j, i, s in zip(edge_index[0].tolist(), edge_index[1].tolist(), shifts.tolist())}


CASES = [
    # (cell, pbc, cutoff): a skewed cell, a cutoff longer than the cell, a slab, a wire
    ([[3.0, 0.0, 0.0], [1.4, 2.9, 0.0], [0.8, 0.6, 3.3]], [True, True, True], 2.6),
    ([[2.2, 0.0, 0.0], [0.0, 2.5, 0.0], [0.3, 0.0, 2.4]], [True, True, True], 5.1),
    ([[3.5, 0.0, 0.0], [0.0, 3.5, 0.0], [0.0, 0.0, 9.0]], [True, True, False], 3.0),
    ([[3.1, 0.0, 0.0], [0.0, 7.0, 0.0], [0.0, 0.0, 7.0]], [True, False, False], 4.0),
]


@pytest.mark.parametrize("cell,pbc,cutoff", CASES)
def test_periodic_graph_matches_brute_force(cell, pbc, cutoff):
    rng = np.random.default_rng(1)
    cell = np.array(cell)
    # positions partly outside the cell, to exercise wrapping
    pos = rng.uniform(-0.7, 1.7, (7, 3)) @ cell
    ei, s = all_neighbours(torch.tensor(pos), cutoff, cell=torch.tensor(cell), pbc=torch.tensor(pbc))
    assert as_set(ei, s) == brute_force(pos, cell, pbc, cutoff)
    assert len(as_set(ei, s)) == ei.shape[1] and s.dtype == torch.float64
    assert bool((ei[1][1:] >= ei[1][:-1]).all())  # sorted by target
    vec = edge_vectors(torch.tensor(pos), ei, s, torch.tensor(cell)[None])
    assert float(vec.norm(dim=1).max()) < cutoff


def test_matches_ase_neighborlist():
    ase_nl = pytest.importorskip("ase.neighborlist")
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=3.6).repeat((2, 1, 3))
    atoms.rattle(0.2, seed=2)
    for cutoff in (2.8, 4.5, 6.0):
        i, j, S = ase_nl.neighbor_list("ijS", atoms, cutoff)
        ei, s = all_neighbours(torch.tensor(atoms.positions), cutoff, cell=torch.tensor(np.asarray(atoms.cell)))
        assert as_set(ei, s) == {(int(a), int(b), tuple(int(x) for x in c)) for a, b, c in zip(i, j, S)}


def test_batched_frames_and_graph_data():
    from symmetries.data import AtomsData

    rng = np.random.default_rng(3)
    cell = np.diag([4.0, 4.5, 5.0])
    pos_a, pos_b = rng.uniform(0, 4, (5, 3)), rng.uniform(0, 3, (4, 3))
    positions = torch.tensor(np.concatenate([pos_a, pos_b]))
    batch = torch.tensor([0] * 5 + [1] * 4)
    cells = torch.tensor(np.stack([cell, np.zeros((3, 3))]))
    pbc = torch.tensor([[True] * 3, [False] * 3])
    ei, s = all_neighbours(positions, 3.5, batch, cells, pbc)
    first, second = ei[1] < 5, ei[1] >= 5
    assert as_set(ei[:, first], s[first]) == brute_force(pos_a, cell, [True] * 3, 3.5)
    assert as_set(ei[:, second], s[second], start=5) == brute_force(pos_b, np.zeros((3, 3)), [False] * 3, 3.5)
    assert bool((batch[ei[0]] == batch[ei[1]]).all())
    data = AtomsData(positions, torch.full((9,), 29), torch.tensor([5, 4]), cells, pbc, torch.zeros(2),
                     torch.zeros(9, 3))
    g = AtomsGraphs(data, 3.5)
    b = g[torch.tensor([1])]  # the second frame alone, renumbered from 0
    assert as_set(b.edge_index, b.shifts) == brute_force(pos_b, np.zeros((3, 3)), [False] * 3, 3.5)
    b = g[torch.tensor([1, 0])]
    assert as_set(b.edge_index[:, b.edge_index[1] >= 4], b.shifts[b.edge_index[1] >= 4], start=4) == \
        brute_force(pos_a, cell, [True] * 3, 3.5)


def test_edge_vectors_are_differentiable():
    pos = torch.tensor([[0.1, 0.2, 0.3], [1.0, 1.1, 0.9]], dtype=torch.float64, requires_grad=True)
    cell = (2.5 * torch.eye(3, dtype=torch.float64))[None].requires_grad_()
    ei, s = all_neighbours(pos, 2.0, cell=cell.detach())
    assert torch.autograd.gradcheck(lambda p, c: edge_vectors(p, ei, s, c), (pos, cell))


def test_bad_input():
    with pytest.raises(ValueError, match=r"cell must have shape \(1, 2, 2\) or \(2, 2\).*got \(3, 3\)"):
        all_neighbours(torch.zeros(4, 2), 1.0, cell=torch.eye(3))
    with pytest.raises(ValueError, match="radius must be positive"):
        all_neighbours(torch.zeros(4, 3), 0.0, cell=torch.eye(3))
    with pytest.raises(ValueError, match="nonzero volume"):
        all_neighbours(torch.zeros(4, 3), 1.0, cell=torch.zeros(3, 3), pbc=torch.tensor([True, True, True]))
    with pytest.raises(ValueError, match="pbc is set but no cell"):
        radius_graph(torch.zeros(4, 3), 1.0, pbc=torch.tensor([True, False, False]))
    with pytest.raises(ValueError, match="batch must be sorted"):
        all_neighbours(torch.zeros(4, 3), 1.0, batch=torch.tensor([0, 1, 0, 1]), cell=torch.eye(3))
