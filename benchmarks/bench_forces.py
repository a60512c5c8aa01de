"""Force learning curves: equivariant (l_max = 1, 2) against invariant (l_max = 0) potentials.

    PYTHONPATH=src python benchmarks/bench_forces.py [--quick] [--system ethanol] [--threads 1]

The NequIP-style potential (``symmetries.models.NequIP``) is trained on energies and
forces of the same frames with l_max = 0 (messages from distances only: the invariant
anchor), 1 and 2, for each training-set size; the table gives the test energy and force
mean absolute errors beside the test forces' standard deviation, the ratio of the
invariant model's force MAE to each equivariant one's, and the slope of each learning
curve (log force MAE against log n). Published (NequIP, Batzner et al. 2022): learning
curves of l >= 1 models are steeper than those of l = 0; rMD17 force MAE at 950 frames,
NequIP: ethanol 2.8 meV/A, aspirin 8.2 meV/A (with far larger models and budgets than here).

Systems: ``ethanol``, ``malonaldehyde``, ``aspirin`` (GFN2-xTB Langevin MD at 500 K, needs
tblite; the default where tblite is installed), or ``<Element>-bulk`` / ``<Element>-cluster``
for EMT metals (e.g. ``Cu-cluster``, 13 atoms; ``Cu-bulk``, 32 atoms, periodic). EMT is an
embedded-atom model, a function of interatomic distances only, which an invariant model
represents exactly: there the equivariant models have little to add. Test frames come from
a separate trajectory (another seed). Every model of one size trains for the same number
of Adam steps (``--steps``), or at least ``--min-epochs`` epochs (so that larger sets are not
cut short), keeping the weights of its best validation epoch.

The full run (3 sizes x 3 models, ethanol) took 275-294 s with one thread on the shared
2-core machine under load 6-8 (two threads under load were several times slower);
generating the data the first time adds under a minute (cached afterwards).
Results: benchmarks/results/bench_forces{,_quick}.{json,md}.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import time

import torch

from symmetries.models import NequIP, evaluate_potential, train_potential
from symmetries.studies.tasks.forces import load_frames

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def load(system: str, n_pool: int, n_test: int, seed: int):
    """``(pool, test)``: ``n_pool`` frames for training and validation, ``n_test`` from another trajectory."""
    try:
        return load_frames(system, n_pool, seed), load_frames(system, n_test, seed + 1000)
    except ValueError as e:
        raise SystemExit(str(e)) from e


def slope(sizes, maes):
    """Least-squares slope of log(mae) against log(n)."""
    if len(sizes) < 2:
        return float("nan")
    x = [math.log(n) for n in sizes]
    y = [math.log(m) for m in maes]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    return sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)


def run(args):
    dtype = torch.float64 if args.float64 else torch.float32
    t0 = time.perf_counter()
    pool, test = load(args.system, max(args.sizes) + args.val, args.test, args.seed)
    data_seconds = time.perf_counter() - t0
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(args.seed))
    val = pool[order[:args.val]]
    print(f"{args.system}: {pool.n_atoms[0].item()} atoms per frame, species {pool.species}; "
          f"test force std {test.force_std * 1000:.0f} meV/A; data {data_seconds:.1f} s")
    rows = []
    for n in args.sizes:
        train = pool[order[args.val:args.val + n]]  # nested: a larger set contains the smaller ones
        epochs = max(args.min_epochs, math.ceil(args.steps / math.ceil(n / args.batch)))
        for l_max in args.lmax:
            torch.manual_seed(args.seed)
            model = NequIP(pool.species, cutoff=args.cutoff, l_max=l_max, channels=args.channels,
                           n_layers=args.layers).to(dtype)
            start = time.perf_counter()
            train_potential(model, train, val, epochs=epochs, batch_size=args.batch, lr=args.lr,
                            energy_weight=args.energy_weight, force_weight=1.0, patience=epochs,
                            lr_patience=max(2, epochs // 10), seed=args.seed)
            seconds = time.perf_counter() - start
            err = evaluate_potential(model, test)
            rows.append({"n_train": n, "l_max": l_max, "energy_mae_meV": 1000 * err["energy_mae"],
                         "force_mae_meV_A": 1000 * err["force_mae"], "force_std_meV_A": 1000 * err["force_std"],
                         "relative_force_mae": err["force_mae"] / err["force_std"], "epochs": epochs,
                         "train_seconds": seconds, "n_params": sum(p.numel() for p in model.parameters())})
            r = rows[-1]
            print(f"  n={n:5d} l_max={l_max}: energy MAE {r['energy_mae_meV']:8.2f} meV, force MAE "
                  f"{r['force_mae_meV_A']:7.1f} meV/A ({r['relative_force_mae']:.3f} of std), {seconds:6.1f} s")
    return rows, data_seconds


def report(args, rows, data_seconds, seconds):
    std = rows[0]["force_std_meV_A"]
    lines = [f"# Force learning curves: {args.system}", "",
             f"NequIP-style potential, {args.channels} channels, {args.layers} layers, cutoff {args.cutoff} A, "
             f"{args.steps} Adam steps per model, at least {args.min_epochs} epochs "
             f"(batch {args.batch}, lr {args.lr}), "
             f"{args.threads or 'default'} "
             f"threads, load average {args.load:.1f} at the start; test set {args.test} frames from another "
             f"trajectory, force std {std:.0f} meV/A. Total {seconds:.0f} s (data {data_seconds:.0f} s).", "",
             "| n train | l_max | energy MAE (meV) | force MAE (meV/A) | force MAE / std | l=0 MAE / this | train s |",
             "|---|---|---|---|---|---|---|"]
    base = {r["n_train"]: r["force_mae_meV_A"] for r in rows if r["l_max"] == 0}
    for r in rows:
        ratio = base.get(r["n_train"], float("nan")) / r["force_mae_meV_A"]
        lines.append(f"| {r['n_train']} | {r['l_max']} | {r['energy_mae_meV']:.2f} | {r['force_mae_meV_A']:.1f} | "
                     f"{r['relative_force_mae']:.3f} | {ratio:.2f} | {r['train_seconds']:.1f} |")
    lines += ["", "Learning-curve slopes (d log force MAE / d log n; more negative is steeper):", ""]
    slopes = {}
    for l_max in args.lmax:
        rs = [r for r in rows if r["l_max"] == l_max]
        slopes[l_max] = slope([r["n_train"] for r in rs], [r["force_mae_meV_A"] for r in rs])
        lines.append(f"- l_max = {l_max}: {slopes[l_max]:.3f}")
    lines += ["", "Published (NequIP, Batzner et al. 2022, rMD17, 950 frames): ethanol 2.8 meV/A, aspirin "
              "8.2 meV/A; l >= 1 learning curves steeper than l = 0."]
    return "\n".join(lines) + "\n", slopes


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    have_xtb = importlib.util.find_spec("tblite") is not None
    p.add_argument("--system", default="ethanol" if have_xtb else "Cu-cluster")
    p.add_argument("--sizes", default="50,200,1000")
    p.add_argument("--lmax", default="0,1,2")
    p.add_argument("--steps", type=int, default=400, help="Adam steps per model")
    p.add_argument("--min-epochs", type=int, default=1,
                   help="at least this many epochs per model: larger sets then train for more steps")
    p.add_argument("--val", type=int, default=50)
    p.add_argument("--test", type=int, default=200)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--energy-weight", type=float, default=1.0)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--cutoff", type=float, default=4.0)
    p.add_argument("--float64", action="store_true")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (default 1: these small models train fastest so, as in the study runner)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tag", default="", help="results go to bench_forces_<tag>.{json,md}")
    p.add_argument("--quick", action="store_true", help="tiny sizes and budgets: a smoke test of the pipeline")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.lmax, args.steps, args.val, args.test = "20,80", "0,1", 60, 20, 40
        args.channels = 8
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.lmax = [int(s) for s in args.lmax.split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)
    args.load = os.getloadavg()[0]
    start = time.perf_counter()
    rows, data_seconds = run(args)
    seconds = time.perf_counter() - start
    text, slopes = report(args, rows, data_seconds, seconds)
    print()
    print(text)
    os.makedirs(RESULTS, exist_ok=True)
    name = "bench_forces_quick" if args.quick else "bench_forces" + (f"_{args.tag}" if args.tag else "")
    with open(os.path.join(RESULTS, name + ".json"), "w") as f:
        json.dump({"args": {k: v for k, v in vars(args).items()}, "rows": rows, "slopes": slopes,
                   "seconds": seconds, "data_seconds": data_seconds, "torch_threads": torch.get_num_threads()},
                  f, indent=1)
    with open(os.path.join(RESULTS, name + ".md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
