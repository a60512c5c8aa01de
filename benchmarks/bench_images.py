"""Steerable CNN speed: layer construction, training step and exported inference vs plain Conv2d.

    PYTHONPATH=src python benchmarks/bench_images.py [--quick] [--device cpu|cuda]

Anchors (escnn 1.0.11, measured on a quiet 2-core machine, REFERENCES.md): C8 24-regular ->
48-regular 5x5 layer built in 0.65 s, 96 -> 96 in 5.6 s; training step 0.97x a plain Conv2d.
Targets: 96 -> 96 built in < 0.1 s; training step within 1.2x of ``nn.Conv2d`` with the same
channels; exported inference equal to it. escnn runs side by side if it is importable.

On a loaded machine, use ``--threads 1``: with 2 threads every small op (the filter
expansion's matmul) waits for a descheduled OpenMP thread, which inflates the ratio.
Build times are measured in fresh subprocesses: "cold" is the first layer of a process
(including one-time library initialization: LAPACK, scipy), "new basis" a layer whose
kernel basis is not cached yet in a warmed-up process, "cached" a layer whose basis is.
Results go to benchmarks/results/bench_images.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

BUILD_SCRIPT = r"""
import time, json, sys
import torch
import symmetries.nn.images as I
from symmetries.groups import Cyclic
G = Cyclic(8)
R = lambda n: I.FieldType.regular(G, n)
out = {}
t = time.perf_counter(); I.R2Conv(R(%(a)d), R(%(b)d), 5); out["cold"] = time.perf_counter() - t
t = time.perf_counter(); I.R2Conv(R(96), R(96), 5); out["cached_96"] = time.perf_counter() - t
t = time.perf_counter(); I.R2Conv(R(96), R(96), 7); out["new_basis_96_k7"] = time.perf_counter() - t
print(json.dumps(out))
"""

ESCNN_SCRIPT = r"""
import time, json
from escnn import gspaces, nn as enn
g = gspaces.rot2dOnR2(8)
out = {}
for a, b in [(24, 48), (96, 96)]:
    t = time.perf_counter()
    enn.R2Conv(enn.FieldType(g, a * [g.regular_repr]), enn.FieldType(g, b * [g.regular_repr]), 5)
    out[f"{a}->{b}"] = time.perf_counter() - t
print(json.dumps(out))
"""


def _subprocess_json(code: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(HERE), "src") + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def _time(fn, reps: int, sync) -> float:
    fn()
    sync()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]  # median


def train_and_inference(fields: int, batch: int, size: int, reps: int, device: str) -> dict:
    import symmetries.nn.images as I
    from symmetries.groups import Cyclic

    G = Cyclic(8)
    t = I.FieldType.regular(G, fields)
    C = t.size
    torch.manual_seed(0)
    eq = I.R2Conv(t, t, 5).to(device)
    plain = nn.Conv2d(C, C, 5, padding=2).to(device)
    x = torch.randn(batch, C, size, size, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step(m, opt):
        def run():
            opt.zero_grad(set_to_none=True)
            m(x).square().mean().backward()
            opt.step()
        return run

    out = {"channels": C, "batch": batch, "size": size}
    opt_e, opt_p = torch.optim.SGD(eq.parameters(), lr=1e-3), torch.optim.SGD(plain.parameters(), lr=1e-3)
    # interleave to share the machine's load fairly
    te, tp = [], []
    for _ in range(3):
        te.append(_time(step(eq, opt_e), reps, sync))
        tp.append(_time(step(plain, opt_p), reps, sync))
    out["train_step_ms_equivariant"], out["train_step_ms_plain"] = 1e3 * min(te), 1e3 * min(tp)
    out["train_step_ratio"] = min(te) / min(tp)
    eq.eval()
    exported = I.export(eq)
    plain.eval()
    with torch.no_grad():
        ti, tx, tq = [], [], []
        for _ in range(3):
            ti.append(_time(lambda: eq(x), reps, sync))
            tx.append(_time(lambda: exported(x), reps, sync))
            tq.append(_time(lambda: plain(x), reps, sync))
        assert torch.allclose(exported(x), eq(x), atol=1e-4)
    out["eval_ms_equivariant_cached"], out["eval_ms_exported"], out["eval_ms_plain"] = (
        1e3 * min(ti), 1e3 * min(tx), 1e3 * min(tq))
    out["eval_ratio_cached"], out["eval_ratio_exported"] = min(ti) / min(tq), min(tx) / min(tq)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer repetitions and a smaller batch")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (1 avoids OpenMP barrier stalls on a loaded machine)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    reps = 3 if args.quick else 10
    batch = 16 if args.quick else 32
    res = {"device": args.device, "threads": torch.get_num_threads(), "quick": args.quick,
           "load_average": os.getloadavg()[0]}
    res["build_24_48"] = _subprocess_json(BUILD_SCRIPT % {"a": 24, "b": 48})
    res["build_96_96"] = _subprocess_json(BUILD_SCRIPT % {"a": 96, "b": 96})
    try:
        res["escnn_build"] = _subprocess_json(ESCNN_SCRIPT)
    except Exception as e:  # escnn is optional (its install needs gfortran)
        res["escnn_build"] = f"not available: {str(e).strip().splitlines()[-1][:120]}"
    res["train_inference"] = [train_and_inference(f, batch, 29, reps, args.device) for f in (4, 12)]
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "bench_images.json"), "w") as f:
        json.dump(res, f, indent=2)
    lines = [f"# bench_images ({args.device}, {res['threads']} threads, load {res['load_average']:.1f}, "
             f"quick={args.quick})", "",
             "| C8 5x5 layer build | cold (fresh process) | 96->96 basis cached | 96->96 7x7 new basis |",
             "|---|---|---|---|"]
    for key in ("build_24_48", "build_96_96"):
        b = res[key]
        lines.append(f"| {key[6:].replace('_', '->')} | {b['cold']:.3f} s | {b['cached_96']:.3f} s | "
                     f"{b['new_basis_96_k7']:.3f} s |")
    lines += ["", f"escnn: {res['escnn_build']} (anchor on a quiet machine: 0.65 s / 5.6 s)", "",
              "| channels | train step ours / plain (ratio) | eval cached / exported / plain (ms) |", "|---|---|---|"]
    for r in res["train_inference"]:
        lines.append(f"| {r['channels']} | {r['train_step_ms_equivariant']:.1f} / {r['train_step_ms_plain']:.1f} ms "
                     f"({r['train_step_ratio']:.2f}x) | {r['eval_ms_equivariant_cached']:.1f} / "
                     f"{r['eval_ms_exported']:.1f} / {r['eval_ms_plain']:.1f} "
                     f"({r['eval_ratio_cached']:.2f}x, {r['eval_ratio_exported']:.2f}x) |")
    text = "\n".join(lines)
    with open(os.path.join(RESULTS, "bench_images.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
