"""Wilson-action Monte Carlo: generation speed and long-run unitarity of the links.

- ``speed``: sweeps per second (one heat-bath and one over-relaxation pass over every link of
  every chain, then reunitarisation) and link updates per second (links of all chains per
  sweep, times sweeps per second) for U(1), SU(2) and SU(3) on 8x8 and 16x16 lattices with 64
  chains, complex128, the median of ``--repeats`` interleaved rounds.
- ``unitarity``: ``--sweeps`` (default 10^4) sweeps of a 4x4 lattice (2 chains, beta = 2,
  complex128) from a hot start for each group; reports max |U U^dagger - 1| and
  max |det U - 1| (SU(N)) every tenth of the run and at the end.

Run ``PYTHONPATH=src python benchmarks/bench_lattice_gauge.py`` (``--quick`` for a check in
seconds). Results go to ``benchmarks/results/lattice_gauge.md`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from _timing import interleaved_times  # noqa: E402

import symmetries as sym  # noqa: E402

GROUPS = ("U1", "SU2", "SU3")


def hot(group, chains, shape, seed):
    g = sym.groups.gauge_group(group)
    gen = torch.Generator().manual_seed(seed)
    n = chains * len(shape) * math.prod(shape)
    return g.sample(n, generator=gen).reshape(chains, len(shape), *shape, g.N, g.N).to(torch.complex128), gen


def speed(shapes, chains, sweeps, repeats, beta=2.0):
    rows, fns, meta = [], [], []
    for shape in shapes:
        for group in GROUPS:
            state = {}
            state["U"], gen = hot(group, chains, shape, 0)

            def run(state=state, gen=gen):
                for _ in range(sweeps):
                    state["U"] = sym.data.gauge_sweep(state["U"], beta, gen, check=False)
            fns.append(run)
            meta.append((group, shape))
    times = interleaved_times(fns, repeats)
    for (group, shape), t in zip(meta, times):
        per_sweep = statistics.median(t) / sweeps
        links = chains * len(shape) * math.prod(shape)
        rows.append((group, "x".join(map(str, shape)), chains, 1 / per_sweep, links / per_sweep))
    return rows


def unitarity(sweeps, beta=2.0, shape=(4, 4), chains=2):
    rows = []
    for group in GROUPS:
        U, gen = hot(group, chains, shape, 1)
        N = U.shape[-1]
        eye = torch.eye(N, dtype=U.dtype)
        worst_u = worst_d = 0.0
        t0 = time.perf_counter()
        for i in range(1, sweeps + 1):
            U = sym.data.gauge_sweep(U, beta, gen, check=False)
            if i % max(1, sweeps // 10) == 0 or i == sweeps:
                worst_u = max(worst_u, float((U @ U.mH - eye).abs().max()))
                worst_d = max(worst_d, float((torch.linalg.det(U) - 1).abs().max()))
        seconds = time.perf_counter() - t0
        final_u = float((U @ U.mH - eye).abs().max())
        final_d = float((torch.linalg.det(U) - 1).abs().max())
        plaq = float(sym.data.mean_plaquette(U).mean())
        rows.append((group, sweeps, worst_u, worst_d, final_u, final_d, plaq, seconds))
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny run to check the script")
    p.add_argument("--sweeps", type=int, default=10_000, help="sweeps of the unitarity run")
    p.add_argument("--repeats", type=int, default=5, help="interleaved timing rounds")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "lattice_gauge.md"))
    args = p.parse_args()
    shapes, chains, timed, sweeps = ((8, 8), (16, 16)), 64, 5, args.sweeps
    if args.quick:
        shapes, chains, timed, sweeps, args.repeats = ((4, 4),), 4, 1, 20, 1
    t0 = time.perf_counter()
    sp = speed(shapes, chains, timed, args.repeats)
    un = unitarity(sweeps)
    total = time.perf_counter() - t0
    lines = [
        "# Lattice gauge theory: Wilson-action Monte Carlo",
        "",
        f"Command: `PYTHONPATH=src python benchmarks/bench_lattice_gauge.py{' --quick' if args.quick else ''}`; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; {total:.0f} s in all.",
        "",
        f"## Generation speed (complex128, beta = 2, one heat-bath + one over-relaxation pass per sweep, "
        f"median of {args.repeats} rounds of {timed} sweeps)",
        "",
        "| group | lattice | chains | sweeps / s | link updates / s |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {g} | {s} | {c} | {sw:.1f} | {lu:.3g} |" for g, s, c, sw, lu in sp]
    lines += [
        "",
        f"## Unitarity through {sweeps} sweeps (4x4, 2 chains, beta = 2, complex128, hot start; "
        "reunitarised after every sweep)",
        "",
        "| group | sweeps | max abs(U U^H - 1) | max abs(det U - 1) | final abs(U U^H - 1) | final abs(det U - 1) "
        "| final plaquette | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [f"| {g} | {n} | {wu:.2e} | {'-' if g == 'U1' else f'{wd:.2e}'} | {fu:.2e} | "
              f"{'-' if g == 'U1' else f'{fd:.2e}'} | {pl:.4f} | {s:.1f} |" for g, n, wu, wd, fu, fd, pl, s in un]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
