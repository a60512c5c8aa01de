"""Compiled CPU loops (numba, optional): availability, and running a loop over ranges of the
batch in PyTorch's threads.

numba ships its own LLVM, so nothing is compiled at install time; the loops are compiled on
first use and cached on disk (``pip install symmetries[fast]``). Without numba the callers
use their PyTorch formulation.
"""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import torch

_POOL, _POOL_PID = None, None


@lru_cache(maxsize=None)
def installed(package: str) -> bool:
    """Whether ``package`` can be imported, without importing it (numba takes ~0.3 s)."""
    return importlib.util.find_spec(package) is not None


def available(x: torch.Tensor) -> bool:
    """Whether the compiled loops can run on ``x``: numba installed, a CPU float32/float64 tensor.
    The modules holding the loops import numba, and are imported on first use."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and installed("numba")


def jit(**options):
    """``numba.njit`` releasing the GIL, cached on disk, allowed to reassociate sums and fuse
    multiply-adds (no other fast-math assumption: NaN and infinities propagate)."""
    import numba

    return numba.njit(nogil=True, cache=True, fastmath={"reassoc", "contract"}, **options)


def ranges(n: int, minimum: int = 64):
    """Contiguous ranges of ``n`` samples, one per PyTorch thread (at least ``minimum`` each)."""
    k = max(1, min(torch.get_num_threads(), n // minimum))
    return [(n * i // k, n * (i + 1) // k) for i in range(k)]


def run(kernel, calls):
    """``kernel(*args)`` for each ``args`` in ``calls``, in threads (the loops release the GIL;
    numba's own threading layers would start a second pool that spins beside PyTorch's)."""
    if len(calls) == 1:
        kernel(*calls[0])
        return
    global _POOL, _POOL_PID
    # a forked child (a DataLoader worker, say) inherits the pool but not its threads
    if _POOL is None or _POOL._max_workers < len(calls) - 1 or _POOL_PID != os.getpid():
        _POOL, _POOL_PID = ThreadPoolExecutor(max_workers=len(calls) - 1, thread_name_prefix="symmetries"), os.getpid()
    futures = [_POOL.submit(kernel, *args) for args in calls[1:]]
    kernel(*calls[0])  # the calling thread takes the first range
    for future in futures:
        future.result()
