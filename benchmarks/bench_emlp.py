"""EMLP benchmarks: basis-solver speed, EMLP construction time, and the EMLP paper's accuracy.

    PYTHONPATH=src python benchmarks/bench_emlp.py speed          # solver + construction
    PYTHONPATH=src python benchmarks/bench_emlp.py accuracy [--quick] [--tasks o5-invariant,...]

The anchor, EMLP 1.0.3 (JAX), is not importable beside PyTorch here; its times were
measured on a quiet 2-core machine of this kind (shared/REFERENCES.md) and are used as the
reference column. Accuracy runs go through the study runner (`symmetries.studies`), one
folder per task under benchmarks/results/, and are compared with the paper's mean test MSE.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch

import symmetries as sym
from symmetries.reps import equivariant_basis, standard, trivial
from symmetries.reps import block_basis

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
G = sym.groups

# EMLP 1.0.3 on a quiet 2-core machine here (REFERENCES.md)
EMLP_SECONDS = {"O(3) T2->T2": 2.5, "S5 T2->T2": 2.5, "Lorentz T4->scalar": 2.7, "O(3) T3->T3": 5.6,
                "S4 T3->T3": 50.0, "Lorentz EMLP width 384": 55.0}
PAPER_MSE_N1000 = {  # mean test MSE at 1000 training samples (EMLP's results data)
    "o5-invariant": {"plain": 0.0892, "augment": 0.0633, "equivariant": 0.0170},
    "o3-inertia": {"plain": 3.236, "augment": 0.130, "equivariant": 0.0604},
    "lorentz-scattering": {"plain": 0.364, "augment": 0.0125, "equivariant": 3.30e-4},
}


def _solver_cases():
    S5, S4, S6, O3, SO3, L = G.Symmetric(5), G.Symmetric(4), G.Symmetric(6), G.O3(), G.SO3(), G.Lorentz()
    V5, V4, V6, V3, W, VL = (standard(g) for g in (S5, S4, S6, O3, SO3, L))
    return [
        ("S5 T2->T2", V5**2, V5**2, 15, 0.1), ("O(3) T2->T2", V3**2, V3**2, 3, 0.1),
        ("SO(3) T3->scalar", W**3, trivial(SO3), 1, 0.1), ("O(3) T3->scalar", V3**3, trivial(O3), 0, 0.1),
        ("O(3) T1+T2->T3", V3 + V3**2, V3**3, 3, 0.1), ("Lorentz T4->scalar", VL**4, trivial(L), 4, 0.1),
        ("O(3) T3->T3", V3**3, V3**3, 15, 1.0), ("S4 T3->T3", V4**3, V4**3, 187, 1.0),
        ("S6 T3->T3", V6**3, V6**3, 203, 1.0), ("S6 T4->T4 (sparse)", V6**4, V6**4, 4111, None),
    ]


def speed() -> dict:
    equivariant_basis(standard(G.Symmetric(3)), standard(G.Symmetric(3)))  # imports (scipy) out of the timing
    rows = []
    for name, rin, rout, count, target in _solver_cases():
        block_basis.cache_clear()
        t = time.perf_counter()
        basis = equivariant_basis(rin, rout)
        seconds = time.perf_counter() - t
        assert basis.shape[0] == count, (name, basis.shape)
        anchor = EMLP_SECONDS.get(name)
        rows.append({"case": name, "maps": count, "seconds": seconds, "target_s": target, "emlp_s": anchor,
                     "speedup_vs_emlp": anchor / seconds if anchor else None})
        print(f"{name:24s} {count:5d} maps  {seconds * 1e3:8.1f} ms  target <{target or '-'} s"
              + (f"  EMLP {anchor:.1f} s -> {anchor / seconds:.0f}x faster" if anchor else ""))
    block_basis.cache_clear()
    t = time.perf_counter()
    VL = standard(G.Lorentz())
    model = sym.nn.EMLP(4 * VL, trivial(G.Lorentz()), hidden=384, depth=3)
    seconds = time.perf_counter() - t
    rows.append({"case": "Lorentz EMLP width 384", "seconds": seconds, "emlp_s": 55.0, "speedup_vs_emlp": 55.0 / seconds,
                 "params": sum(p.numel() for p in model.parameters())})
    print(f"{'Lorentz EMLP width 384':24s} built in {seconds:.2f} s (EMLP 55 s -> {55 / seconds:.0f}x faster)")
    return {"solver": rows, "threads": torch.get_num_threads()}


def accuracy(tasks, quick: bool, seeds=None, sizes=None, methods=("plain", "augment", "equivariant"),
             emlp_hidden=None) -> dict:
    from symmetries.studies._study import run_study

    sizes = sizes or ((100, 1000) if quick else (30, 100, 300, 1000, 3000))
    seeds = seeds or ((0,) if quick else (0, 1, 2))
    summary = {}
    for task in tasks:
        overrides = {"max_steps": 800, "min_steps": 300} if quick else {}
        suffix = "-quick" if quick else ""
        if emlp_hidden:
            overrides["emlp_hidden"] = emlp_hidden
            suffix += f"-width{emlp_hidden}"
        rows = run_study(task, sizes=sizes, methods=methods, seeds=seeds,
                         out=os.path.join(RESULTS, f"emlp-{task}{suffix}"), progress=False, threads=1, **overrides)
        table = {}
        for r in rows:
            table.setdefault(r["method"], {}).setdefault(r["size"], []).append(r["metric"])
        summary[task] = {m: {n: sum(v) / len(v) for n, v in by.items()} for m, by in table.items()}
        print(f"\n{task}: mean test MSE (paper at N=1000 in brackets)")
        print("method        " + "".join(f"{n:>11d}" for n in sizes) + "   paper N=1000")
        for m, by in summary[task].items():
            paper = PAPER_MSE_N1000[task].get(m)
            print(f"{m:12s}  " + "".join(f"{by.get(n, float('nan')):11.4g}" for n in sizes) + f"   {paper}")
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "accuracy"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tasks", default="o5-invariant,o3-inertia,lorentz-scattering")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (default 0,1,2; 0 with --quick)")
    parser.add_argument("--sizes", default=None, help="comma-separated training-set sizes")
    parser.add_argument("--methods", default="plain,augment,equivariant")
    parser.add_argument("--emlp-hidden", type=int, default=None,
                        help="EMLP width (the paper's is 384; the study tasks default to 128)")
    args = parser.parse_args()
    os.makedirs(RESULTS, exist_ok=True)
    ints = lambda text: [int(v) for v in text.split(",")] if text else None  # noqa: E731
    if args.what == "speed":
        result = speed()
    else:
        result = accuracy(args.tasks.split(","), args.quick, seeds=ints(args.seeds), sizes=ints(args.sizes),
                          methods=tuple(args.methods.split(",")), emlp_hidden=args.emlp_hidden)
    tag = ("_quick" if args.quick else "") + (f"_width{args.emlp_hidden}" if args.emlp_hidden else "")
    path = os.path.join(RESULTS, f"emlp_{args.what}{tag}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1, default=str)
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
