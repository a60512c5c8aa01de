"""CPU speed of the tensor products without weights against e3nn 0.6, side by side in one process.

Cases, batch 4096 (1024 with --quick), float32, forward (no grad) and forward+backward
(gradients of both inputs), ours and e3nn timed in interleaved rounds (best of each):
  full         32x0e+32x1o+32x2e (x) 0e+1o+2e, every output (FullTensorProduct)
  full         8x0e+8x1o+8x2e (x) 8x0e+8x1o, every output
  elementwise  32x0e+32x1o+32x2e (x) the same, channel by channel (ElementwiseTensorProduct)

    PYTHONPATH=src python benchmarks/bench_unweighted_products.py [--quick] [--threads 2]

About a minute on 2 cores. Writes benchmarks/results/unweighted_products_cpu.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from bench_tensor_product import interleaved_best, step_functions
from symmetries.nn import ElementwiseTensorProduct, FullTensorProduct

CASES = [("full", "32x0e + 32x1o + 32x2e", "0e + 1o + 2e"),
         ("full", "8x0e + 8x1o + 8x2e", "8x0e + 8x1o"),
         ("elementwise", "32x0e + 32x1o + 32x2e", "32x0e + 32x1o + 32x2e")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 1024, fewer repeats")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    import e3nn.o3 as e3o3

    batch, repeats = (1024, 3) if args.quick else (4096, 15)
    torch.manual_seed(0)
    rows = []
    for kind, irreps1, irreps2 in CASES:
        ours = (FullTensorProduct if kind == "full" else ElementwiseTensorProduct)(irreps1, irreps2)
        theirs = (e3o3.FullTensorProduct if kind == "full" else e3o3.ElementwiseTensorProduct)(irreps1, irreps2)
        inputs = [ours.irreps_in1.randn(batch, -1), ours.irreps_in2.randn(batch, -1)]
        with torch.no_grad():
            diff = float((ours(*inputs) - theirs(*inputs)).abs().max())
        f_ours, fb_ours, f_e3, fb_e3 = interleaved_best(step_functions(ours, inputs) + step_functions(theirs, inputs), repeats)
        rows.append({"case": f"{kind} {irreps1} x {irreps2}", "batch": batch, "ours_fwd_ms": f_ours,
                     "ours_fwdbwd_ms": fb_ours, "e3nn_fwd_ms": f_e3, "e3nn_fwdbwd_ms": fb_e3,
                     "speedup_fwd": f_e3 / f_ours, "speedup_fwdbwd": fb_e3 / fb_ours, "max_abs_diff_vs_e3nn": diff})
    lines = [f"# Tensor products without weights, CPU, float32, batch {batch}, {torch.get_num_threads()} threads", "",
             "| case | ours fwd / fwd+bwd | e3nn fwd / fwd+bwd | speed-up fwd / fwd+bwd |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['case']} | {r['ours_fwd_ms']:.1f} / {r['ours_fwdbwd_ms']:.1f} ms | {r['e3nn_fwd_ms']:.1f} / "
                     f"{r['e3nn_fwdbwd_ms']:.1f} ms | {r['speedup_fwd']:.1f}x / {r['speedup_fwdbwd']:.1f}x |")
    text = "\n".join(lines)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    tag = "_quick" if args.quick else ""
    with open(os.path.join(args.out, f"unweighted_products_cpu{tag}.json"), "w") as f:
        json.dump({"threads": torch.get_num_threads(), "torch": torch.__version__, "rows": rows}, f, indent=2)
    with open(os.path.join(args.out, f"unweighted_products_cpu{tag}.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
