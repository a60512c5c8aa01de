"""Graph building: the one radius graph (periodic cells included) against an O(N^2 x images)
brute force and ase.neighborlist, its cutoff rule, max_num_neighbors, batching, chunking and
bad input; the one complete graph in both its forms."""

import itertools
import math

import numpy as np
import pytest
import torch

from symmetries.nn.graphs import edge_vectors, fully_connected_graph, knn_graph, radius_graph


def reference(pos, r, cell=None, pbc=None, loop=False, margin=3):
    """``{(i, j, S): |x_j + S C - x_i|}`` over a box of shifts wide enough for positions up to
    ``margin - 1`` cells outside, in float64 numpy."""
    pos = np.asarray(pos, dtype=np.float64)
    d = pos.shape[1]
    pbc = [False] * d if pbc is None else list(pbc)
    cell = np.zeros((d, d)) if cell is None else np.asarray(cell, dtype=np.float64)
    reach = [0] * d
    if any(pbc):
        inv = np.linalg.inv(cell)
        reach = [math.ceil(r * np.linalg.norm(inv[:, k])) + margin if pbc[k] else 0 for k in range(d)]
    out = {}
    for s in itertools.product(*[range(-a, a + 1) for a in reach]):
        v = pos[None, :, :] + np.array(s, dtype=np.float64) @ cell - pos[:, None, :]  # [i, j]
        dist = np.linalg.norm(v, axis=-1)
        for i, j in zip(*np.nonzero(dist < r)):
            if i != j or any(s) or loop:
                out[(int(i), int(j), s)] = float(dist[i, j])
    return out


def as_dict(edge_index, shifts=None, start=0):
    shifts = torch.zeros(edge_index.shape[1], 0) if shifts is None else shifts
    return {(i - start, j - start, tuple(int(round(x)) for x in s))
            for j, i, s in zip(edge_index[0].tolist(), edge_index[1].tolist(), shifts.tolist())}


def sorted_by_target_then_source(edge_index, n):
    key = edge_index[1] * n + edge_index[0]
    return bool((key[1:] >= key[:-1]).all())


def random_cell(rng, scale, d=3):
    """A random triclinic cell: lengths ~ scale, skewed, far from degenerate."""
    while True:
        cell = scale * (np.eye(d) + 0.45 * rng.uniform(-1, 1, (d, d)))
        if abs(np.linalg.det(cell)) > 0.3 * scale ** d:
            return cell


# (scale of the cell relative to the cutoff, pbc): ordinary, tiny (an atom sees its own images
# many times over), mixed pbc (slab, wire)
CASES = [(1.3, (True, True, True)), (0.35, (True, True, True)), (0.8, (True, True, False)),
         (0.5, (False, True, False)), (1.0, (False, False, False))]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("scale,pbc", CASES)
def test_periodic_matches_brute_force(scale, pbc, seed):
    rng = np.random.default_rng(seed)
    r = 2.0
    cell = random_cell(rng, scale * r)
    pos = rng.uniform(-0.6, 1.6, (6, 3)) @ cell  # partly outside the cell: wrapping is exercised
    ei, s = radius_graph(torch.tensor(pos), r, max_num_neighbors=None, cell=torch.tensor(cell), pbc=torch.tensor(pbc))
    ref = reference(pos, r, cell, pbc)
    assert as_dict(ei, s) == set(ref) and ei.shape[1] == len(ref)  # each (i, j, S) once
    assert s.dtype == torch.float64 and sorted_by_target_then_source(ei, 6)
    lengths = edge_vectors(torch.tensor(pos), ei, s, torch.tensor(cell)).norm(dim=1)
    expected = torch.tensor([ref[key] for key in zip(ei[1].tolist(), ei[0].tolist(),
                                                     [tuple(int(x) for x in row) for row in s.tolist()])])
    assert torch.allclose(lengths, expected.double(), atol=1e-12)


def test_two_dimensional_periodic_and_float32():
    rng = np.random.default_rng(7)
    cell = random_cell(rng, 0.7, d=2)
    pos = rng.uniform(0, 1, (9, 2)) @ cell
    ei, s = radius_graph(torch.tensor(pos, dtype=torch.float32), 1.5, max_num_neighbors=None,
                         cell=torch.tensor(cell, dtype=torch.float32))
    assert s.dtype == torch.float32 and s.shape == (ei.shape[1], 2)
    # float32 distances: pairs within rounding of the cutoff may fall either side
    got = as_dict(ei, s)
    assert set(reference(pos, 1.5 - 1e-4, cell, (True, True))) <= got <= set(reference(pos, 1.5 + 1e-4, cell, (True, True)))


def test_matches_ase_neighborlist():
    ase_nl = pytest.importorskip("ase.neighborlist")
    from ase import Atoms
    from ase.build import bulk

    rng = np.random.default_rng(0)
    triclinic = Atoms("Cu5", positions=rng.uniform(0, 3, (5, 3)), pbc=True,
                      cell=[[3.1, 0.0, 0.0], [1.2, 2.8, 0.0], [-0.7, 0.9, 2.6]])
    wire = Atoms("Cu4", positions=rng.uniform(0, 3, (4, 3)), pbc=[False, False, True], cell=[0, 0, 2.2])
    small = bulk("Cu", "fcc", a=3.6)  # one atom, many images of itself
    rattled = bulk("Cu", "fcc", a=3.6).repeat((2, 1, 3))
    rattled.rattle(0.2, seed=2)
    for atoms in (triclinic, wire, small, rattled):
        for cutoff in (2.5, 4.7):
            i, j, S = ase_nl.neighbor_list("ijS", atoms, cutoff)
            ei, s = radius_graph(torch.tensor(atoms.positions), cutoff, max_num_neighbors=None,
                                 cell=torch.tensor(np.asarray(atoms.cell)), pbc=torch.tensor(atoms.pbc))
            assert as_dict(ei, s) == {(int(a), int(b), tuple(int(x) for x in c)) for a, b, c in zip(i, j, S)}
            assert ei.shape[1] == len(i)


def test_cutoff_rule_a_pair_at_the_radius_is_out():
    two = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    assert radius_graph(two, 1.0).shape[1] == 0
    assert radius_graph(two, math.nextafter(1.0, 2.0)).shape[1] == 2
    # a simple cubic lattice of spacing 1: the 6 nearest images sit exactly at 1
    one, cell = torch.zeros(1, 3, dtype=torch.float64), torch.eye(3, dtype=torch.float64)
    assert radius_graph(one, 1.0, cell=cell)[0].shape[1] == 0
    ei, s = radius_graph(one, math.nextafter(1.0, 2.0), cell=cell)
    assert ei.shape[1] == 6 and torch.equal(s.abs().sum(1), torch.ones(6, dtype=torch.float64))
    assert knn_graph(two, 1).shape[1] == 2  # no radius, no rule


def test_max_num_neighbors_keeps_the_nearest():
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(30, 3, generator=gen, dtype=torch.float64)
    full = radius_graph(pos, 2.0, max_num_neighbors=None)
    some = radius_graph(pos, 2.0, max_num_neighbors=4)
    d = (pos[full[0]] - pos[full[1]]).norm(dim=1)
    for i in range(30):
        mine, everyone = some[0][some[1] == i], full[0][full[1] == i]
        assert len(mine) == min(4, len(everyone))
        dist = d[full[1] == i]
        kept = torch.isin(everyone, mine)
        if (~kept).any():
            assert dist[kept].max() <= dist[~kept].min()
    assert sorted_by_target_then_source(some, 30)
    # ties go to the lower source index, periodic images counted separately
    line = torch.tensor([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    assert radius_graph(line, 1.5, max_num_neighbors=1)[:, 0].tolist() == [1, 0]
    ei, s = radius_graph(torch.zeros(1, 2, dtype=torch.float64), 1.5, max_num_neighbors=3,
                         cell=torch.eye(2, dtype=torch.float64))
    assert ei.shape[1] == 3 and s.tolist() == [[-1.0, 0.0], [0.0, -1.0], [0.0, 1.0]]


def frames():
    """Four frames: triclinic periodic, non-periodic, tiny cell with mixed pbc, empty, slab."""
    rng = np.random.default_rng(5)
    cells = [random_cell(rng, 3.0), np.zeros((3, 3)), random_cell(rng, 0.9), np.eye(3), random_cell(rng, 2.0)]
    pbc = [(True,) * 3, (False,) * 3, (True, False, True), (True,) * 3, (True, True, False)]
    pos = [rng.uniform(0, 1, (n, 3)) @ (c if p[0] else 3 * np.eye(3)) for n, c, p in zip((7, 5, 3, 0, 6), cells, pbc)]
    return pos, cells, pbc


def test_batched_frames_equal_one_at_a_time_and_any_chunking():
    pos, cells, pbc = frames()
    sizes = [len(p) for p in pos]
    batch = torch.arange(len(pos)).repeat_interleave(torch.tensor(sizes))
    x = torch.tensor(np.concatenate(pos))
    ei, s = radius_graph(x, 2.2, batch, max_num_neighbors=None, cell=torch.tensor(np.stack(cells)),
                         pbc=torch.tensor(pbc))
    assert bool((batch[ei[0]] == batch[ei[1]]).all()) and sorted_by_target_then_source(ei, len(x))
    start = 0
    for p, c, b, n in zip(pos, cells, pbc, sizes):
        mine = (ei[1] >= start) & (ei[1] < start + n)
        assert as_dict(ei[:, mine], s[mine], start) == set(reference(p, 2.2, c, b))
        start += n
    # chunk sizes change the work per step, never the graph (edges, order and shifts)
    for max_pairs in (1, 40, 700):
        other = radius_graph(x, 2.2, batch, max_num_neighbors=None, cell=torch.tensor(np.stack(cells)),
                             pbc=torch.tensor(pbc), max_pairs=max_pairs)
        assert torch.equal(other[0], ei) and torch.equal(other[1], s)
    # also for max_num_neighbors and the non-periodic graph
    for k in (2, None):
        a = radius_graph(x, 3.0, batch, max_num_neighbors=k)
        assert torch.equal(a, radius_graph(x, 3.0, batch, max_num_neighbors=k, max_pairs=13))


def test_radius_graph_of_a_large_radius_is_the_complete_graph():
    batch = torch.tensor([0, 0, 0, 1, 2, 2, 2, 2])
    pos = torch.randn(8, 3)
    assert torch.equal(radius_graph(pos, 1e6, batch, max_num_neighbors=None), fully_connected_graph(batch))
    assert torch.equal(radius_graph(pos, 1e6, batch, loop=True, max_num_neighbors=None),
                       fully_connected_graph(batch, loop=True))
    assert torch.equal(knn_graph(pos, 7, batch), fully_connected_graph(batch))


def test_loop_and_gradients():
    pos = torch.rand(5, 3, dtype=torch.float64, requires_grad=True)
    ei = radius_graph(pos, 10.0, loop=True)
    assert ei.shape[1] == 25 and not ei.requires_grad
    ei, s = radius_graph(pos, 1.2, loop=True, max_num_neighbors=None, cell=torch.eye(3, dtype=torch.float64))
    zero = (ei[0] == ei[1]) & (s == 0).all(1)
    assert int(zero.sum()) == 5  # one self-loop each; the images of oneself are neighbours anyway
    cell = (1.5 * torch.eye(3, dtype=torch.float64)).requires_grad_()
    ei, s = radius_graph(pos, 1.2, max_num_neighbors=None, cell=cell)
    assert torch.autograd.gradcheck(lambda p, c: edge_vectors(p, ei, s, c), (pos, cell))


def test_bad_input_names_expected_and_got():
    pos = torch.zeros(4, 3)
    cases = [
        (lambda: radius_graph(torch.zeros(4, 3, dtype=torch.long), 1.0), r"pos must be a float tensor \[N, d\], got shape \(4, 3\) torch.int64"),
        (lambda: radius_graph(pos, -1.0), "radius must be positive"),
        (lambda: radius_graph(pos, 1.0, max_num_neighbors=0), "max_num_neighbors must be >= 1 or None, got 0"),
        (lambda: radius_graph(pos, 1.0, torch.tensor([0, 1, 0, 1])), r"batch must be sorted .*got batch\[2\] = 0 after batch\[1\] = 1"),
        (lambda: radius_graph(pos, 1.0, torch.tensor([0, 0, 1])), "batch has 3 entries but there are 4 nodes"),
        (lambda: radius_graph(pos, 1.0, torch.zeros(4)), r"batch must be a 1-D long tensor \[N\], got shape \(4,\) torch.float32"),
        (lambda: radius_graph(pos, 1.0, cell=torch.eye(3).expand(2, 3, 3)), r"cell must have shape \(1, 3, 3\) or \(3, 3\).*got \(2, 3, 3\)"),
        (lambda: radius_graph(pos, 1.0, cell=torch.eye(3), pbc=torch.tensor([True, False])), r"pbc must have shape \(1, 3\) or \(3,\), got \(2,\)"),
        (lambda: radius_graph(pos, 1.0, cell=torch.eye(3), pbc=torch.ones(3)), "pbc must be a bool tensor, got torch.float32"),
        (lambda: radius_graph(pos, 1.0, pbc=torch.tensor([True, False, False])), "pbc is set but no cell"),
        (lambda: radius_graph(pos, 1.0, cell=torch.tensor([[1.0, 0, 0], [1.0, 0, 0], [0, 0, 1.0]])),
         r"frame 0 is periodic along directions \[0, 1, 2\] .*nonzero volume"),
        (lambda: radius_graph(pos, 1.0, cell=torch.diag(torch.tensor([2.0, 0.0, 2.0])), pbc=torch.tensor([True, True, False])),
         r"periodic along directions \[0, 1\] but its cell vectors there are zero"),
        (lambda: radius_graph(pos, math.inf, cell=torch.eye(3)), "periodic graph needs a finite radius, got inf"),
        (lambda: knn_graph(pos, 0), "k must be >= 1, got 0"),
        (lambda: edge_vectors(pos, torch.zeros(2, 1, dtype=torch.long), torch.zeros(1, 3)), "shifts were given but no cell"),
        (lambda: fully_connected_graph(0), "a graph needs at least one node, got 0"),
        (lambda: fully_connected_graph(torch.tensor([1, 0])), r"batch must be sorted"),
        (lambda: fully_connected_graph(torch.tensor([0, 0]), num_graphs=2), "num_graphs and device go with an int"),
        (lambda: fully_connected_graph(torch.zeros(0, dtype=torch.long)), "empty graph"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    # cell vectors along non-periodic directions may be zero (ase's wires and slabs)
    ei, _ = radius_graph(pos, 2.5, max_num_neighbors=None, cell=torch.diag(torch.tensor([2.0, 0.0, 0.0])))
    assert ei.shape[1] == 4 * 3 + 4 * 4 * 2  # the other atoms, and every atom's images at x +- 2


def test_empty_inputs():
    pos = torch.zeros(0, 3)
    assert radius_graph(pos, 1.0).shape == (2, 0) and knn_graph(pos, 2).shape == (2, 0)
    ei, s = radius_graph(pos, 1.0, cell=torch.eye(3))
    assert ei.shape == (2, 0) and s.shape == (0, 3)


@pytest.mark.parametrize("loop", [False, True])
def test_complete_graph_counts_and_both_forms(loop):
    sizes = torch.tensor([4, 1, 3, 5])
    batch = torch.arange(4).repeat_interleave(sizes)
    e = fully_connected_graph(batch, loop=loop)
    per_graph = torch.bincount(batch[e[1]], minlength=4)
    assert torch.equal(per_graph, sizes * sizes if loop else sizes * (sizes - 1))
    assert bool((batch[e[0]] == batch[e[1]]).all()) and bool((e[0] != e[1]).all()) != loop
    assert len(set(map(tuple, e.T.tolist()))) == e.shape[1] and sorted_by_target_then_source(e, len(batch))
    for b, m in [(1, 1), (3, 1), (2, 4), (5, 3)]:
        dense = fully_connected_graph(m, loop=loop, num_graphs=b)
        assert dense.shape == (2, b * m * (m if loop else m - 1))
        assert torch.equal(dense, fully_connected_graph(torch.arange(b).repeat_interleave(m), loop=loop))
    assert fully_connected_graph(3, num_graphs=0).shape == (2, 0)


def test_dense_complete_graph_compiles_without_graph_breaks():
    def messages(pos):  # [B, M, d] -> sum over j of (x_j - x_i) per node
        b, m, d = pos.shape
        edge_index = fully_connected_graph(m, num_graphs=b, device=pos.device)
        flat = pos.reshape(b * m, d)
        return torch.zeros_like(flat).index_add(0, edge_index[1], flat[edge_index[0]] - flat[edge_index[1]])

    compiled = torch.compile(messages, backend="eager", fullgraph=True, dynamic=True)
    for shape in [(2, 5, 3), (3, 4, 3)]:
        pos = torch.randn(*shape, dtype=torch.float64)
        expected = (pos.sum(1, keepdim=True) - shape[1] * pos).reshape(-1, 3)
        assert torch.allclose(compiled(pos), expected, atol=1e-12)
