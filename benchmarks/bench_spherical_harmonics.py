"""CPU speed of symmetries' spherical harmonics against e3nn 0.6, side by side in one process.

100k random vectors, float32 and float64, all degrees ``l = 0 .. lmax`` at once for
``lmax`` in 1, 2, 3, 4, 6, 8 (``normalize=True``, 'component' normalization, e3nn's
convention), forward and forward+backward (the gradient a force field needs), ours and
e3nn timed in interleaved rounds. Reports the median time and the ratio e3nn / ours, and
the largest difference to e3nn.

    PYTHONPATH=src python benchmarks/bench_spherical_harmonics.py [--threads 2] [--n 100000]

Writes benchmarks/results/spherical_harmonics_cpu.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from _timing import interleaved_times
from symmetries.o3 import spherical_harmonics


def interleaved_medians(fns, repeats):
    """Median time (ms) of each function over interleaved rounds (:func:`_timing.interleaved_times`)."""
    return [1e3 * sorted(t)[len(t) // 2] for t in interleaved_times(fns, repeats)]


def step_functions(sh, lmax, vectors):
    """Forward without autograd, and forward+backward with the gradient reset first."""
    leaf = vectors.detach().requires_grad_()

    def forward():
        with torch.no_grad():
            sh(list(range(lmax + 1)), vectors, True, normalization="component")

    def forward_backward():
        leaf.grad = None
        out = sh(list(range(lmax + 1)), leaf, True, normalization="component")
        out.backward(torch.ones_like(out))

    return [forward, forward_backward]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        from e3nn.o3 import spherical_harmonics as theirs
    except ImportError:
        theirs = None
        print("e3nn is not installed: timing symmetries only")
    rows = []
    for dtype in (torch.float32, torch.float64):
        vectors = torch.randn(args.n, 3, dtype=dtype, generator=torch.Generator().manual_seed(0))
        for lmax in (1, 2, 3, 4, 6, 8):
            row = {"dtype": str(dtype).replace("torch.", ""), "lmax": lmax}
            fns = step_functions(spherical_harmonics, lmax, vectors)
            if theirs is not None:
                fns += step_functions(theirs, lmax, vectors)
            times = interleaved_medians(fns, args.repeats)
            row["ours_fwd_ms"], row["ours_fwdbwd_ms"] = times[:2]
            if theirs is not None:
                row["e3nn_fwd_ms"], row["e3nn_fwdbwd_ms"] = times[2:]
                ls = list(range(lmax + 1))
                ref = theirs(ls, vectors, True, normalization="component")
                row["max_abs_diff"] = float((spherical_harmonics(ls, vectors, True, normalization="component") - ref)
                                            .abs().max())
            rows.append(row)
            print(row, flush=True)
    lines = [f"# Spherical harmonics, CPU, {args.n} vectors, {torch.get_num_threads()} threads, median of "
             f"{args.repeats}, load {os.getloadavg()}", "",
             "| dtype | lmax | ours fwd | ours fwd+bwd | e3nn fwd | e3nn fwd+bwd | x e3nn fwd | x e3nn fwd+bwd | max diff |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e3 = (f"{r['e3nn_fwd_ms']:.2f} ms | {r['e3nn_fwdbwd_ms']:.2f} ms | {r['e3nn_fwd_ms'] / r['ours_fwd_ms']:.2f} | "
              f"{r['e3nn_fwdbwd_ms'] / r['ours_fwdbwd_ms']:.2f} | {r['max_abs_diff']:.1e}") if "e3nn_fwd_ms" in r else \
            "- | - | - | - | -"
        lines.append(f"| {r['dtype']} | {r['lmax']} | {r['ours_fwd_ms']:.2f} ms | {r['ours_fwdbwd_ms']:.2f} ms | {e3} |")
    text = "\n".join(lines)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "spherical_harmonics_cpu.json"), "w") as f:
        json.dump(rows, f, indent=2)
    with open(os.path.join(args.out, "spherical_harmonics_cpu.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
