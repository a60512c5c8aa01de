"""The compiled CPU loops: their thread pool (results independent of the thread count, usable in
a forked child, a DataLoader worker, which inherits the pool object but none of its threads)
and the generated source, written once to the cache."""

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


def test_generated_loops_are_written_once_to_the_cache(monkeypatch, tmp_path):
    """Generated source goes to ``$SYMMETRIES_CACHE/kernels`` under the hash of its text; asking
    again reuses the imported module, and a tensor-product plan's loops are those of its source."""
    from symmetries._internal.compiled import compiled_module
    from symmetries.nn import TensorProduct
    from symmetries.nn.o3.tensor_product.kernels._generated import kernel_source, kernels

    monkeypatch.setenv("SYMMETRIES_CACHE", str(tmp_path))
    tag = torch.randint(0, 2 ** 62, ()).item()  # a source no other test compiled
    source = f"@_jit\ndef scaled(x):\n    return x * {tag}\n"
    module = compiled_module(source)
    files = list((tmp_path / "kernels").glob("symmetries_kernel_*.py"))
    assert len(files) == 1 and files[0].read_text().endswith(source) and module.scaled(2) == 2 * tag
    assert compiled_module(source) is module and list((tmp_path / "kernels").glob("*.py")) == files
    ins = [(0, 0, 0, "uvu"), (0, 1, 1, "uvu"), (1, 0, 1, "uvu"), (1, 1, 0, "uvu")]
    tp = TensorProduct("4x0e + 4x1o", "0e + 1o", "4x0e + 4x1o", ins, shared_weights=False)
    ((plan,),) = [g.plan for g in tp._groups]
    generated = compiled_module(kernel_source(plan))
    assert kernels(plan) == (generated.forward, generated.backward)


def test_generated_loops_fall_back_to_a_temporary_folder(monkeypatch, tmp_path):
    """Where the cache folder cannot be created (here: below a file), the source goes to a
    private folder in the temporary directory instead of failing."""
    import tempfile

    from symmetries._internal.compiled import compiled_module

    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("SYMMETRIES_CACHE", str(tmp_path / "a-file" / "cache"))
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    tag = torch.randint(0, 2 ** 62, ()).item()
    module = compiled_module(f"@_jit\ndef plus(x):\n    return x + {tag}\n")
    assert module.plus(1) == 1 + tag
    assert len(list((tmp_path / "tmp").glob("symmetries-kernels-*/symmetries_kernel_*.py"))) == 1
