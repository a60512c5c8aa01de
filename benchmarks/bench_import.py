"""Import time: what `import symmetries` adds on top of `import torch` (target < 0.5 s).

    PYTHONPATH=src python benchmarks/bench_import.py [--repeats 7]

Each measurement is a fresh interpreter; the median over repeats is reported, beside e3nn
(and escnn, when importable) measured the same way in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    cases = {"torch": "import torch", "symmetries": "import torch, symmetries"}
    for other in ("e3nn", "escnn"):
        if importlib.util.find_spec(other):
            cases[other] = f"import torch, {other}"
    medians = {}
    for name, code in cases.items():
        _seconds(code)  # warm the file cache
        medians[name] = statistics.median(_seconds(code) for _ in range(args.repeats))
    base = medians["torch"]
    print(f"import torch: {base:.2f} s (median of {args.repeats})")
    result = {"torch_s": base}
    for name in cases:
        if name != "torch":
            added = medians[name] - base
            result[f"{name}_added_s"] = added
            print(f"{name:11s} adds {added:+.2f} s on top of torch")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "import_time.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
