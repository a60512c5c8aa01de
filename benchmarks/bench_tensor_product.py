"""CPU speed of symmetries' O(3) tensor products against e3nn 0.6, side by side in one process.

Cases:
  channel-wise  32x0e+32x1o+32x2e (x) 0e+1o+2e -> same, 11 'uvu' paths, per-sample weights
  fully connected  the same irreps, all 'uvw' paths, shared weights
  fully connected  the same, per-sample weights (a point convolution's, 184 MB at batch 4096)
Batch 4096 (1024 with --quick), float32, forward (no grad) and forward+backward (grads of
both inputs and the weights), ours and e3nn timed in interleaved rounds (best of each).
Reports the ratio e3nn / ours and the FLOP rate of our forward against this machine's
float32 GEMM peak (measured here). With numba installed (the default with the test or
'fast' extras) and batches of 1024 or more, the channel-wise product and the 3j contraction
of the fully connected one run loops generated for their paths; else the PyTorch kernels.

    PYTHONPATH=src python benchmarks/bench_tensor_product.py [--quick] [--threads 2] [--compile]

Runs in well under 3 minutes on 2 cores (--compile adds about a minute of compilation). Writes benchmarks/results/tensor_product_cpu.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from _timing import interleaved_times
from symmetries.nn import FullyConnectedTensorProduct, TensorProduct
from symmetries.o3 import Irreps

IRREPS = "32x0e + 32x1o + 32x2e"
SH = "0e + 1o + 2e"


def channelwise_instructions(irreps_in1, irreps_in2, irreps_out):
    return [(i1, i2, io, "uvu", True)
            for i1, (_, ir1) in enumerate(irreps_in1) for i2, (_, ir2) in enumerate(irreps_in2)
            for io, (_, iro) in enumerate(irreps_out) if iro in list(ir1 * ir2)]


CLOCK = time.perf_counter


def best_time(fn, repeats, inner=1):
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = CLOCK()
        for _ in range(inner):
            fn()
        best = min(best, (CLOCK() - t0) / inner)
    return best * 1e3


def step_functions(module, args):
    """``(forward, forward_backward)`` of ``module`` on ``args``: forward without autograd, and a
    training step's forward and backward after ``zero_grad(set_to_none=True)``."""
    leaves = [a.detach().requires_grad_() for a in args]

    def forward():
        with torch.no_grad():
            module(*args)

    def forward_backward():  # no accumulation into existing gradients
        for leaf in leaves:
            leaf.grad = None
        out = module(*leaves)
        out.backward(torch.ones_like(out))

    return forward, forward_backward


def interleaved_best(fns, repeats):
    """Best time (ms) of each function over interleaved rounds (:func:`_timing.interleaved_times`)."""
    return [1e3 * min(t) for t in interleaved_times(fns, repeats, CLOCK)]


def our_flops(tp, inputs):
    """FLOPs of our forward on ``inputs``, per group of paths and the kernel that runs it
    (``tp.kernels_for``): for the compiled channel-wise loops, per channel, one multiply per row
    (x * w) and, in the loops generated for large batches, one multiply-add per nonzero (output
    component, row) pair, or in the table-driven loops three per 3j term (c * y * X,
    accumulated); for 'uvw' groups the weight GEMMs, then in the generated loops one
    multiply-add per nonzero pair; otherwise 2 x the multiply-adds of y @ C, the batched
    products and the weights."""
    from symmetries.nn.o3.tensor_product.kernels._generated import worth_generating
    from symmetries.nn.o3.tensor_product.kernels._terms import term_tables

    batch, total = inputs[0].shape[0], 0
    for gi, (g, (kind, kernel)) in enumerate(zip(tp._groups, tp.kernels_for(*inputs))):
        plan, cols = g.plan[0], getattr(tp, f"_cg{gi}").shape[1]
        if kind == "channelwise" and kernel == "numba":
            tables = term_tables(plan)
            pairs = len({(k, r) for _, k, r in zip(*tables[4:7])})
            per_channel = 2 * pairs if worth_generating(len(plan.terms), batch) else 3 * len(tables[4])
            total += batch * plan.mul * (len(tables[2]) + per_channel)
            continue
        if kind == "channelwise":  # A = y @ C, one multiply-add per nonzero 3j entry, weights x input
            total += 2 * batch * (tp.irreps_in2.dim * cols + plan.mul * (sum(len(p) for p in plan.pairs) + plan.rows))
        elif kind == "uvu":
            rows, width = plan.rows, sum(plan.outs)
            total += 2 * batch * tp.irreps_in2.dim * cols + 2 * batch * plan.mul * rows * (width + 1)
        else:  # the weight GEMMs, then the 3j contraction
            mixing = g.plan[1]
            total += sum(2 * batch * d1 * sum(mixing.sizes[i] for i, _, _ in paths) for _, d1, _, paths in mixing.blocks)
            if kernel == "numba":  # one multiply-add per nonzero (k, r) pair
                total += 2 * batch * plan.mul * len({(k, r) for _, k, r, _ in plan.terms})
            else:
                width = sum(d3 for _, d3, _ in plan.outs)
                total += 2 * batch * tp.irreps_in2.dim * cols + 2 * batch * plan.mul * sum(plan.blocks) * width
    return total


def gemm_peak(repeats=3):
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    ms = best_time(lambda: a @ b, repeats)
    return 2 * n ** 3 / (ms * 1e-3) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 1024, fewer repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile(ours) (slow to build)")
    parser.add_argument("--cpu-time", action="store_true",
                        help="time with process CPU time (use --threads 1): steadier on a loaded machine")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    global CLOCK
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cpu_time:
        CLOCK = time.process_time
    batch = args.batch or (1024 if args.quick else 4096)
    repeats = 3 if args.quick else 25
    try:
        import e3nn.o3 as e3o3
    except ImportError:
        e3o3 = None
        print("e3nn is not installed: timing symmetries only")
    torch.manual_seed(0)
    irreps, sh = Irreps(IRREPS), Irreps(SH)
    x1, x2 = irreps.randn(batch, -1), sh.randn(batch, -1)
    peak = gemm_peak()
    rows = []
    ins = channelwise_instructions(irreps, sh, irreps)
    cases = {
        "channel-wise uvu, per-sample weights": (
            lambda: TensorProduct(irreps, sh, irreps, ins, shared_weights=False),
            (lambda: e3o3.TensorProduct(IRREPS, SH, IRREPS, ins, shared_weights=False, internal_weights=False))
            if e3o3 else None, True),
        "fully connected uvw, shared weights": (
            lambda: FullyConnectedTensorProduct(irreps, sh, irreps),
            (lambda: e3o3.FullyConnectedTensorProduct(IRREPS, SH, IRREPS)) if e3o3 else None, False),
        "fully connected uvw, per-sample weights": (
            lambda: FullyConnectedTensorProduct(irreps, sh, irreps, shared_weights=False),
            (lambda: e3o3.FullyConnectedTensorProduct(IRREPS, SH, IRREPS, shared_weights=False)) if e3o3 else None,
            True),
    }
    for name, (make_ours, make_theirs, per_sample) in cases.items():
        ours = make_ours()
        inputs = [x1, x2] + ([torch.randn(batch, ours.weight_numel)] if per_sample else [])
        fns = list(step_functions(ours, inputs))
        theirs = make_theirs() if make_theirs is not None else None
        if theirs is not None:
            fns += step_functions(theirs, inputs)
        if args.compile:
            fns += step_functions(torch.compile(ours), inputs)
        times = interleaved_best(fns, repeats)
        f_ours, fb_ours = times[:2]
        row = {"case": name, "batch": batch, "ours_fwd_ms": f_ours, "ours_fwdbwd_ms": fb_ours}
        flops = our_flops(ours, inputs)
        row["ours_fwd_gflops"] = flops / 1e9
        row["ours_fwd_gflop_per_s"] = flops / (f_ours * 1e-3) / 1e9
        row["ours_fwdbwd_gflop_per_s"] = 3 * flops / (fb_ours * 1e-3) / 1e9
        if args.compile:
            row["compiled_fwd_ms"], row["compiled_fwdbwd_ms"] = times[-2:]
        if theirs is not None:
            f_e3, fb_e3 = times[2:4]
            row.update(e3nn_fwd_ms=f_e3, e3nn_fwdbwd_ms=fb_e3, speedup_fwd=f_e3 / f_ours, speedup_fwdbwd=fb_e3 / fb_ours)
            if args.compile:
                row["compiled_speedup_fwdbwd"] = fb_e3 / row["compiled_fwdbwd_ms"]
            with torch.no_grad():
                w = inputs[2] if per_sample else theirs.weight
                row["max_abs_diff_vs_e3nn"] = float((ours(x1, x2, w) - theirs(x1, x2, w)).abs().max())
        rows.append(row)
    env = {"threads": torch.get_num_threads(), "clock": "process-CPU" if args.cpu_time else "wall-clock", "torch": torch.__version__, "machine": platform.machine(),
           "gemm_peak_gflop_per_s": peak, "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}
    lines = [f"# O(3) tensor product, CPU, float32, batch {batch}, {env['threads']} threads, {env['clock']} time, "
             f"GEMM peak {peak:.0f} GFLOP/s, load {env['load_average']}",
             "", "| case | ours fwd | ours fwd+bwd | e3nn fwd | e3nn fwd+bwd | speed-up fwd | speed-up fwd+bwd "
             "| our GFLOP fwd | GFLOP/s fwd (fwd+bwd) | % of peak (fwd+bwd) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e3 = (f"{r['e3nn_fwd_ms']:.2f} ms | {r['e3nn_fwdbwd_ms']:.2f} ms | {r['speedup_fwd']:.1f}x | "
              f"{r['speedup_fwdbwd']:.1f}x") if "e3nn_fwd_ms" in r else "- | - | - | -"
        lines.append(f"| {r['case']} | {r['ours_fwd_ms']:.2f} ms | {r['ours_fwdbwd_ms']:.2f} ms | {e3} | "
                     f"{r['ours_fwd_gflops']:.3f} | {r['ours_fwd_gflop_per_s']:.0f} ({r['ours_fwdbwd_gflop_per_s']:.0f}) | "
                     f"{100 * r['ours_fwdbwd_gflop_per_s'] / peak:.0f}% |")
    for r in rows:
        if "compiled_fwd_ms" in r:
            lines.append(f"\ntorch.compile(ours), {r['case']}: {r['compiled_fwd_ms']:.2f} ms fwd, "
                         f"{r['compiled_fwdbwd_ms']:.2f} ms fwd+bwd"
                         + (f" ({r['compiled_speedup_fwdbwd']:.1f}x e3nn)" if "compiled_speedup_fwdbwd" in r else ""))
    text = "\n".join(lines)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    tag = "_quick" if args.quick else ""
    with open(os.path.join(args.out, f"tensor_product_cpu{tag}.json"), "w") as f:
        json.dump({"env": env, "rows": rows}, f, indent=2)
    with open(os.path.join(args.out, f"tensor_product_cpu{tag}.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
