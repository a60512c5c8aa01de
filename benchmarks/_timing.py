"""Timing in interleaved rounds, shared by the benchmark scripts."""

from __future__ import annotations

import time


def interleaved_times(fns, repeats, clock=time.perf_counter):
    """Seconds of each function in each of ``repeats`` rounds that run every function once, in
    turn (after one warm-up call each): a slow spell of the shared machine hits all of them
    alike, so their ratios hold. Returns one list of times per function."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeats):
        for t, fn in zip(times, fns):
            t0 = clock()
            fn()
            t.append(clock() - t0)
    return times
