"""The compiled CPU loops' thread pool: results independent of the thread count, and usable in
a forked child (a DataLoader worker), which inherits the pool object but none of its threads."""

import multiprocessing
import sys

import numpy as np
import pytest
import torch

from symmetries.o3 import spherical_harmonics

pytest.importorskip("numba")


def _harmonics_in_child(x, expected):
    """Exit code 0 when the child computes the parent's result (fork: the tensors are inherited).
    Compared in NumPy: PyTorch's own OpenMP pool is not usable in a forked child."""
    sys.exit(0 if np.array_equal(spherical_harmonics([0, 1, 2, 3], x, True).numpy(), expected.numpy()) else 1)


@pytest.mark.skipif(sys.platform == "win32", reason="needs fork")
def test_forked_child_gets_a_working_pool():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        x = torch.randn(5000, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        parent = spherical_harmonics([0, 1, 2, 3], x, True)  # starts the pool here
        child = multiprocessing.get_context("fork").Process(target=_harmonics_in_child, args=(x, parent))
        child.start()
        child.join(timeout=60)
        if child.exitcode is None:
            child.kill()
        assert child.exitcode == 0, f"the forked child hung or failed (exit code {child.exitcode})"
    finally:
        torch.set_num_threads(threads)


def test_same_result_for_any_thread_count():
    x = torch.randn(3001, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    threads = torch.get_num_threads()
    try:
        results = []
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            results.append(spherical_harmonics([0, 1, 2, 5], x, True))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(results[0], results[1]) and torch.equal(results[0], results[2])
