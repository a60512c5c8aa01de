"""GPU speed and correctness of the channel-wise O(3) tensor product (MACE-like sizes).

    128x0e+128x1o+128x2e (x) sh(l<=3) -> every path to l<=3 ('uvu', 24 paths), per-edge
    weights, 50k edges, float32: forward and forward+backward of the default eager path
    (kernel='auto': the generated Triton kernels) and of kernel='torch' (the batched-product
    kernel, what runs without Triton), optionally torch.compile, side by side with e3nn 0.6
    (eager) when it is importable; plus an O(3) equivariance check on the device and the
    difference to e3nn.

    PYTHONPATH=src python benchmarks/gpu_tensor_product.py            # CUDA, < 3 minutes
    PYTHONPATH=src python benchmarks/gpu_tensor_product.py --quick    # CPU smoke test

Anchors measured on an H100 (REFERENCES.md): e3nn 41 ms, cuEquivariance 4.2 ms,
OpenEquivariance 3.3 ms forward+backward. Writes benchmarks/results/tensor_product_gpu*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from functools import partial

import torch

from symmetries.nn import TensorProduct
from symmetries.o3 import Irreps

IRREPS_IN = Irreps("128x0e + 128x1o + 128x2e")
IRREPS_SH = Irreps.spherical_harmonics(3)


def channelwise(irreps_in1, irreps_in2, lmax):
    out, ins = [], []
    for i1, (mul, ir1) in enumerate(irreps_in1):
        for i2, (_, ir2) in enumerate(irreps_in2):
            for ir in ir1 * ir2:
                if ir.l <= lmax:
                    if (mul, ir) not in out:
                        out.append((mul, ir))
                    ins.append((i1, i2, out.index((mul, ir)), "uvu", True))
    return Irreps(out), ins


def timer(device):
    if device.type == "cuda":
        def run(fn, repeats):
            fn()
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            times = []
            for _ in range(repeats):
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            return sorted(times)[len(times) // 2]
    else:
        def run(fn, repeats):
            fn()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
            return sorted(times)[len(times) // 2]
    return run


def fwd_and_fwdbwd(module, args, run, repeats):
    leaves = [a.detach().requires_grad_() for a in args]

    def forward():
        with torch.no_grad():
            module(*args)

    def forward_backward():
        out = module(*leaves)
        out.backward(torch.ones_like(out))

    return run(forward, repeats), run(forward_backward, repeats)


def equivariance_error(tp, x1, x2, w):
    """max |TP(D x1, D x2) - D TP(x1, x2)| / max |TP| over random O(3) elements (with parity)."""
    from symmetries.groups import O3

    g = O3().sample(4, generator=torch.Generator().manual_seed(0))
    worst = 0.0
    with torch.no_grad():
        ref = tp(x1, x2, w)
        for k in range(4):
            R = g[k:k + 1]
            D1, D2, Do = (ir.D_from_matrix(R)[0].to(x1) for ir in (tp.irreps_in1, tp.irreps_in2, tp.irreps_out))
            moved = tp(x1 @ D1.T, x2 @ D2.T, w)
            worst = max(worst, float((moved - ref @ Do.T).abs().max() / ref.abs().max()))
    return worst


def fully_connected(device, e3o3, run, repeats, irreps, shared, batch=50000):
    """The fully connected ('uvw') product ``irreps`` x sh(l<=2) -> ``irreps``, all paths, with
    shared or per-sample weights: ours against e3nn, printed and returned as ms."""
    from symmetries.nn import FullyConnectedTensorProduct

    sh = Irreps.spherical_harmonics(2)
    ours = FullyConnectedTensorProduct(irreps, sh, irreps, shared_weights=shared).to(device)
    x1, x2 = irreps.randn(batch, -1, device=device), sh.randn(batch, -1, device=device)
    args = (x1, x2) if shared else (x1, x2, torch.randn(batch, ours.weight_numel, device=device))
    rows = {"symmetries": fwd_and_fwdbwd(ours, args, run, repeats)}
    result = {"batch": batch, "irreps": f"{irreps} x {sh} -> {irreps}", "shared_weights": shared}
    if e3o3 is not None:
        theirs = e3o3.FullyConnectedTensorProduct(str(irreps), str(sh), str(irreps), shared_weights=shared).to(device)
        rows["e3nn 0.6 eager"] = fwd_and_fwdbwd(theirs, args, run, repeats)
        with torch.no_grad():
            ref = theirs(*args)
            w = theirs.weight if shared else args[2]
            result["max_rel_diff_vs_e3nn"] = float((ours(x1, x2, w) - ref).abs().max() / ref.abs().max())
    kind = "shared" if shared else "per-sample"
    print(f"# fully connected uvw, {kind} weights, {result['irreps']}, {batch} samples, float32")
    result["rows_ms"] = print_rows(rows)
    return result


def print_rows(rows):
    """Print ``{name: (fwd ms, fwd+bwd ms)}`` with the ratios to the e3nn row, if any; return it as a dict."""
    base = rows.get("e3nn 0.6 eager")
    print(f"{'':28s} {'fwd ms':>9s} {'fwd+bwd ms':>11s} {'x e3nn fwd':>11s} {'x e3nn f+b':>11s}")
    for name, (f, fb) in rows.items():
        ratio = f"{base[0] / f:11.1f} {base[1] / fb:11.1f}" if base else f"{'-':>11s} {'-':>11s}"
        print(f"{name:28s} {f:9.2f} {fb:11.2f} {ratio}")
    return {k: {"fwd": v[0], "fwd_bwd": v[1]} for k, v in rows.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CPU, 2k edges, no torch.compile unless --compile")
    parser.add_argument("--edges", type=int, default=None)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (about a minute to build)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args()
    device = torch.device("cpu" if args.quick or not torch.cuda.is_available() else "cuda")
    edges = args.edges or (2000 if device.type == "cpu" else 50000)
    repeats = 5 if device.type == "cpu" else 20
    do_compile = args.compile
    torch.manual_seed(0)
    irreps_out, ins = channelwise(IRREPS_IN, IRREPS_SH, 3)
    ours = TensorProduct(IRREPS_IN, IRREPS_SH, irreps_out, ins, shared_weights=False).to(device)
    x1 = IRREPS_IN.randn(edges, -1, device=device)
    x2 = IRREPS_SH.randn(edges, -1, device=device)
    w = torch.randn(edges, ours.weight_numel, device=device)
    run = timer(device)
    rows = {}
    t0 = time.perf_counter()
    fwd_and_fwdbwd(ours, (x1, x2, w), run, 1)  # builds the kernels (Triton compiles at first launch)
    first_call_s = time.perf_counter() - t0
    rows["symmetries eager"] = fwd_and_fwdbwd(ours, (x1, x2, w), run, repeats)
    ((_, default_kernel),) = ours.kernels_for(x1, x2, w)  # what kernel='auto' runs here
    if default_kernel != "torch":  # also time the PyTorch kernel
        rows["symmetries PyTorch kernel"] = fwd_and_fwdbwd(partial(ours, kernel="torch"), (x1, x2, w), run, repeats)
    if do_compile:
        compiled = torch.compile(ours)
        t0 = time.perf_counter()
        fwd_and_fwdbwd(compiled, (x1, x2, w), run, 1)
        compile_s = time.perf_counter() - t0
        rows["symmetries torch.compile"] = fwd_and_fwdbwd(compiled, (x1, x2, w), run, repeats)
    report = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "edges": edges,
              "paths": len(ins), "irreps_out": str(irreps_out), "torch": torch.__version__,
              "default_kernel": default_kernel, "first_call_seconds": first_call_s}
    try:
        import e3nn.o3 as e3o3
    except ImportError:
        e3o3 = None
    if e3o3 is not None:
        theirs = e3o3.TensorProduct(str(IRREPS_IN), str(IRREPS_SH), str(irreps_out), ins, shared_weights=False,
                                    internal_weights=False).to(device)
        rows["e3nn 0.6 eager"] = fwd_and_fwdbwd(theirs, (x1, x2, w), run, repeats)
        with torch.no_grad():
            ref = theirs(x1, x2, w)
            report["max_rel_diff_vs_e3nn"] = float((ours(x1, x2, w) - ref).abs().max() / ref.abs().max())
    report["equivariance_rel_error_fp32"] = equivariance_error(ours, x1[:512], x2[:512], w[:512])
    if do_compile:
        report["compile_seconds"] = compile_s
        with torch.no_grad():
            report["compiled_vs_eager_max_abs"] = float((compiled(x1, x2, w) - ours(x1, x2, w)).abs().max())
    print(f"# {report['device']}, {edges} edges, {len(ins)} paths, float32, {IRREPS_IN} x {IRREPS_SH}")
    report["rows_ms"] = print_rows(rows)
    print(f"default kernel: {default_kernel}")
    for key in ("max_rel_diff_vs_e3nn", "equivariance_rel_error_fp32", "compiled_vs_eager_max_abs", "compile_seconds",
                "first_call_seconds"):
        if key in report:
            print(f"{key}: {report[key]:.3g}")
    if device.type == "cuda":
        report["fully_connected"] = fully_connected(device, e3o3, run, repeats, IRREPS_IN, True)
        report["fully_connected_per_sample"] = fully_connected(
            device, e3o3, run, repeats, Irreps("32x0e + 32x1o + 32x2e"), False)  # weights: 2.3 GB
    os.makedirs(args.out, exist_ok=True)
    name = "tensor_product_gpu.json" if device.type == "cuda" else "tensor_product_gpu_quick_cpu.json"
    with open(os.path.join(args.out, name), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
