"""Charged n-body benchmark (Satorras et al. 2021, table 2), a learning curve, and forward speed.

Parts (``--parts``, comma separated):

- ``table``: EGNN in the paper's setup (4 layers, width 64, Adam lr 5e-4, weight decay
  1e-12, batch 100, 3000 training trajectories, test MSE at the best validation epoch),
  with every other row of the paper's table trained alike (Linear, a plain GNN, Radial
  Field, TFN, SE(3)-Transformer and SEGNN, ``--table-models``), next to the published numbers.
  The paper trains for up to 10000 epochs; ``--epochs`` / ``--time-limit`` bound ours,
  with a cosine learning-rate decay over the epochs that fit (``--schedule constant``
  keeps the paper's constant rate; ``--ema DECAY`` also reports a moving average of the
  weights). The data are the paper's own (``--data egnn``: :func:`egnn_nbody_small`, its
  seed replayed) unless ``--data symmetries`` asks for independent draws.
- ``curve``: test MSE against training-set size (100 .. 3000) for EGNN, the plain GNN
  and an MLP trained with random E(3) augmentation.
- ``speed``: forward (and forward + backward) time of a batch of 100 systems, our EGNN
  side by side with egnn-pytorch (when installed; its layer is built to the same width).

Run ``PYTHONPATH=src python benchmarks/bench_nbody.py --quick`` to validate (tiny sizes,
seconds); the full run wants a GPU (``--device cuda``; CUDA graphs are used for the
training step). Results go to ``benchmarks/results/nbody.json`` and ``nbody.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import torch

from symmetries.groups import Euclidean

from symmetries.actions import PointCloudAction
from symmetries.data import charged_nbody, egnn_nbody_small
from symmetries.models import (NBodyEGNN, NBodyGNN, NBodyLinear, NBodyMLP, NBodyRadialField, NBodySEGNN,
                               NBodyTFN)

PUBLISHED = {"Linear": 0.0819, "SE(3)-Transformer": 0.0244, "TFN": 0.0155, "GNN": 0.0107, "Radial Field": 0.0104,
             "EGNN": 0.0071, "SEGNN": 0.0043}
MODELS = {"EGNN": lambda: NBodyEGNN(64, 4), "GNN": lambda: NBodyGNN(64, 4), "MLP+aug": lambda: NBodyMLP(5, 256),
          "Linear": NBodyLinear, "Radial Field": lambda: NBodyRadialField(64, 4), "TFN": lambda: NBodyTFN(32, 4),
          "SE(3)-Transformer": lambda: NBodyTFN(32, 4, attention=True), "SEGNN": lambda: NBodySEGNN(32, 4)}


def load(device, n_train=3000, n_eval=2000, source="egnn"):
    """Train / valid / test arrays on ``device`` (float32); simulated on ``device`` when not cached.
    ``source="egnn"``: the paper's own data set drawn again from its seed (:func:`egnn_nbody_small`);
    ``"symmetries"``: independent draws of the same system (:func:`charged_nbody`)."""
    sim_device = device if device.type == "cuda" else None
    out = {}
    for split, num in (("train", n_train), ("valid", n_eval), ("test", n_eval)):
        if source == "egnn":
            traj = egnn_nbody_small(split, num=num, device=sim_device)
        else:
            traj = charged_nbody(split, num=num, device=sim_device)
        (x, v, c), y = traj.inputs_targets()
        keep = n_train if split == "train" else n_eval
        out[split] = tuple(t[:keep].to(device) for t in (x, v, c, y))
    return out


def make_step(model, opt, augment, example, use_graph):
    """One training step ``step(x, v, c, y) -> loss``: eager, or replayed as a CUDA graph."""
    action_in = PointCloudAction(Euclidean(3), ("position", "vector", None))
    action_out = PointCloudAction(Euclidean(3), "position")

    def moved(x, v, c, y):
        if not augment:
            return x, v, c, y
        g = Euclidean(3).sample(x.shape[0]).to(x.device)
        x, v, c = action_in.act(g, (x, v, c))
        return x, v, c, action_out.act(g, y)

    def compute(x, v, c, y):
        loss = torch.nn.functional.mse_loss(model((x, v, c)), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=False)
        return loss

    if not use_graph:
        return lambda *batch: compute(*moved(*batch))
    static = [t.clone() for t in example]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            compute(*static)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_loss = compute(*static)

    def step(*batch):
        for s, t in zip(static, moved(*batch)):
            s.copy_(t)
        graph.replay()
        return static_loss

    return step


@torch.no_grad()
def evaluate(model, split, chunk=1000):
    x, v, c, y = split
    model.eval()
    total = sum(torch.nn.functional.mse_loss(model((x[i:i + chunk], v[i:i + chunk], c[i:i + chunk])),
                                             y[i:i + chunk], reduction="sum") for i in range(0, len(x), chunk))
    model.train()
    return float(total) / y.numel()


def train(name, data, n_train, epochs, time_limit, lr, schedule, eval_every, device, seed=0, use_graph=False,
          ema_decay=None):
    """Train ``name`` on the first ``n_train`` trajectories; test MSE at the best validation evaluation.
    With ``ema_decay``, an exponential moving average of the weights is evaluated alongside and its
    best validation evaluation reported under ``"ema"``."""
    torch.manual_seed(seed)
    model = MODELS[name]().to(device)
    x, v, c, y = (t[:n_train] for t in data["train"])
    bs = min(100, n_train)
    steps_per_epoch = n_train // bs
    graph = use_graph and device.type == "cuda"
    # a captured graph bakes float hyper-parameters in: the learning rate must be a tensor
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(lr, device=device) if graph else lr,
                           weight_decay=1e-12, capturable=graph)

    def set_lr(value):
        for group in opt.param_groups:
            if torch.is_tensor(group["lr"]):
                group["lr"].fill_(value)
            else:
                group["lr"] = value

    try:
        step = make_step(model, opt, name == "MLP+aug", (x[:bs], v[:bs], c[:bs], y[:bs]), graph)
    except Exception as err:  # a capture problem must not cost the run: train eagerly instead
        print(f"CUDA graph capture failed for {name} ({type(err).__name__}: {err}); training eagerly", flush=True)
        torch.manual_seed(seed)
        model = MODELS[name]().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-12)
        graph = False
        step = make_step(model, opt, name == "MLP+aug", None, False)
    best = {"valid": math.inf, "test": math.inf, "epoch": 0}
    ema = None
    if ema_decay:
        ema = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(ema_decay))
        best["ema"] = {"valid": math.inf, "test": math.inf, "epoch": 0, "decay": ema_decay}
    history, diverged = [], None
    start, epoch = time.perf_counter(), 0
    planned = epochs
    while epoch < planned:
        if schedule == "cosine":
            set_lr(lr * 0.5 * (1 + math.cos(math.pi * epoch / planned)))
        perm = torch.randperm(n_train, device=device)
        for k in range(steps_per_epoch):
            idx = perm[k * bs:(k + 1) * bs]
            step(x[idx], v[idx], c[idx], y[idx])
            if ema is not None:
                ema.update_parameters(model)
        epoch += 1
        if time_limit and epoch in (2, 10):  # fit the number of epochs to the time budget
            if device.type == "cuda":
                torch.cuda.synchronize()  # replays run asynchronously: time what the GPU did
            elapsed = time.perf_counter() - start
            planned = max(epoch, min(epochs, int(time_limit * epoch / elapsed)))
        if epoch % (eval_every or max(1, planned // 20)) == 0 or epoch == planned:
            val = evaluate(model, data["valid"])
            history.append((epoch, val))
            print(f"  {name} epoch {epoch}: valid {val:.5f} ({time.perf_counter() - start:.0f} s)", flush=True)
            if not math.isfinite(val):  # diverged: keep the best epoch so far, say so, stop
                diverged = epoch
                break
            if val < best["valid"]:
                best.update(valid=val, test=evaluate(model, data["test"]), epoch=epoch)
            if ema is not None:
                val = evaluate(ema.module, data["valid"])
                if val < best["ema"]["valid"]:
                    best["ema"].update(valid=val, test=evaluate(ema.module, data["test"]), epoch=epoch)
    best.update(epochs=epoch, seconds=round(time.perf_counter() - start, 1), n_train=n_train, diverged_at=diverged,
                valid_history=history[:: max(1, len(history) // 50)])
    return best


def speed(device, repeats):
    """Forward / forward+backward milliseconds for 100 systems of 5 (and 50) particles."""
    results = {}
    try:
        import egnn_pytorch
    except ImportError:
        egnn_pytorch = None
    for m in (5, 50) if device.type == "cuda" or repeats > 3 else (5,):
        pos = torch.randn(100, m, 3, device=device)
        vel = torch.randn(100, m, 3, device=device)
        ch = torch.randint(0, 2, (100, m, 1), device=device).float() * 2 - 1
        ours = NBodyEGNN(64, 4).to(device)
        row = {"ours": _time(lambda: ours((pos, vel, ch)), ours, repeats)}
        if egnn_pytorch is not None:
            theirs = _EGNNPytorch(egnn_pytorch).to(device)
            row["egnn-pytorch"] = _time(lambda: theirs(pos, vel, ch), theirs, repeats)
        results[f"100x{m}"] = row
    return results


class _EGNNPytorch(torch.nn.Module):
    """egnn-pytorch's EGNN layers (width 64, edge features (c_i c_j, |x_i - x_j|^2)), 4 of them."""

    def __init__(self, lib):
        super().__init__()
        self.embed = torch.nn.Linear(1, 64)
        self.layers = torch.nn.ModuleList(lib.EGNN(dim=64, edge_dim=2, m_dim=64) for _ in range(4))

    def forward(self, pos, vel, charges):
        h = self.embed(vel.norm(dim=-1, keepdim=True))
        cc = charges * charges.transpose(1, 2)
        d2 = (pos[:, :, None] - pos[:, None, :]).pow(2).sum(-1)
        edges = torch.stack([cc, d2], -1)
        for layer in self.layers:
            h, pos = layer(h, pos, edges)
        return pos


def _time(fn, module, repeats):
    def sync():
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    out = {}
    for mode in ("forward", "forward+backward"):
        def run():
            if mode == "forward":
                with torch.no_grad():
                    fn()
            else:
                fn().sum().backward()
                module.zero_grad(set_to_none=True)
        for _ in range(3):
            run()
        sync()
        t = time.perf_counter()
        for _ in range(repeats):
            run()
        sync()
        out[mode] = round((time.perf_counter() - t) / repeats * 1e3, 3)
    return out


def device_check(device):
    """EGNN's E(3) equivariance in float64 on ``device``, and a torch_geometric ``Batch`` accepted."""
    from symmetries.testing import check_equivariance

    gen = torch.Generator().manual_seed(0)
    model = NBodyEGNN(16, 2).double().to(device)
    for layer in model.egnn.layers:
        torch.nn.init.normal_(layer.phi_x[-1].weight, std=0.3)
    x = tuple(t.to(device) for t in (torch.randn(8, 5, 3, generator=gen, dtype=torch.float64),
                                     torch.randn(8, 5, 3, generator=gen, dtype=torch.float64),
                                     torch.randn(8, 5, 1, generator=gen, dtype=torch.float64).sign()))
    rep = check_equivariance(model, PointCloudAction(Euclidean(3), ("position", "vector", None)),
                             PointCloudAction(Euclidean(3), "position"), x, n_samples=16, generator=gen)
    out = {"egnn_float64_max_rel_error": rep.max_rel_error}
    try:
        from torch_geometric.data import Batch, Data
    except ImportError:
        return out
    from symmetries.nn import GNN, fully_connected_graph

    gnn = GNN(3, 2, hidden=8, pool="sum").double().to(device)
    graphs = [Data(x=torch.randn(k, 3, dtype=torch.float64), edge_index=fully_connected_graph(k)) for k in (3, 5, 2)]
    batch = Batch.from_data_list(graphs).to(device)
    alone = torch.cat([gnn(g.to(device)) for g in graphs])
    out["pyg_batch_vs_one_at_a_time_max_abs"] = float((gnn(batch) - alone).abs().max())
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes and epochs: checks the pipeline in seconds")
    p.add_argument("--parts", default="check,speed,table,curve")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--epochs", type=int, default=10000, help="most epochs for the table runs (paper: 10000)")
    p.add_argument("--time-limit", type=float, default=None, help="seconds for the EGNN table run")
    p.add_argument("--gnn-time-limit", type=float, default=None, help="seconds for each other table run")
    p.add_argument("--linear-time-limit", type=float, default=None, help="seconds for the Linear table run")
    p.add_argument("--schedule", choices=("cosine", "constant"), default="cosine")
    p.add_argument("--egnn-epochs", default=None,
                   help="comma-separated epoch budgets: one cosine EGNN run each (no time limit); the table "
                        "reports the run with the best validation MSE, every run is kept in the JSON")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0, help="seed of the table runs")
    p.add_argument("--ema", type=float, default=None,
                   help="also evaluate an exponential moving average of the weights (not Linear's) with this decay")
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--curve-sizes", default="100,300,1000,3000")
    p.add_argument("--curve-epochs", type=int, default=300)
    p.add_argument("--curve-models", default="EGNN,GNN,MLP+aug", help="which models the learning curve trains")
    p.add_argument("--curve-time", type=float, default=None, help="seconds per learning-curve run")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--eval-size", type=int, default=2000, help="validation and test trajectories (paper: 2000)")
    p.add_argument("--data", choices=("egnn", "symmetries"), default="egnn",
                   help="egnn: the paper's data set drawn again from its seed; symmetries: independent draws")
    p.add_argument("--table-models", default="Linear,GNN,Radial Field,EGNN",
                   help="which models the table trains: " + ", ".join(k for k in PUBLISHED))
    p.add_argument("--no-graph", action="store_true", help="eager training steps even on CUDA")
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "nbody"))
    args = p.parse_args()
    device = torch.device(args.device)
    if args.quick:
        args.epochs, args.curve_epochs, args.curve_sizes, args.repeats = 3, 2, "100,300", 3
        args.eval_every = 1
    parts = args.parts.split(",")
    use_graph = not args.no_graph and device.type == "cuda"
    report = {"device": str(torch.cuda.get_device_name() if device.type == "cuda" else "cpu"),
              "threads": torch.get_num_threads(), "quick": args.quick, "schedule": args.schedule, "data": args.data}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)

    def save():
        with open(args.out + ".json", "w") as f:
            json.dump(report, f, indent=1)

    if "check" in parts:
        report["check"] = device_check(device)
        print(f"device check: {report['check']}", flush=True)
        save()
    if "speed" in parts:
        report["speed_ms"] = speed(device, args.repeats)
        for k, row in report["speed_ms"].items():
            ratio = {m: row["egnn-pytorch"][m] / row["ours"][m] for m in row["ours"]} if "egnn-pytorch" in row else {}
            print(f"speed {k}: {row}  egnn-pytorch / ours = {ratio}", flush=True)
        save()
    if "table" in parts or "curve" in parts:
        t = time.perf_counter()
        n_train = 300 if args.quick else 3000
        data = load(device, n_train, 200 if args.quick else args.eval_size, args.data)
        report["data_seconds"] = round(time.perf_counter() - t, 1)
        x, v, c, y = data["test"]
        report["baselines"] = {"constant": float(((y - x) ** 2).mean()), "x+0.73v": float(((y - x - 0.73 * v) ** 2).mean())}
        print(f"data ready in {report['data_seconds']} s; baselines {report['baselines']}", flush=True)
    if "table" in parts:
        report["table"] = {}
        limits = {"Linear": args.linear_time_limit, "EGNN": args.time_limit}
        for name in args.table_models.split(","):
            limit = limits.get(name, args.gnn_time_limit)
            lr = 1e-2 if name == "Linear" else args.lr
            if name == "EGNN" and args.egnn_epochs:  # model selection on the validation split only
                runs = [train(name, data, n_train, int(e), None, lr, "cosine", args.eval_every, device,
                              seed=args.seed, use_graph=use_graph, ema_decay=args.ema)
                        for e in args.egnn_epochs.split(",")]
                for run in runs:
                    print(f"EGNN cosine {run['epochs']} epochs: valid {run['valid']:.5f} test {run['test']:.5f} "
                          f"(best epoch {run['epoch']}, {run['seconds']} s)", flush=True)
                r = dict(min(runs, key=lambda run: run["valid"]), runs=runs)
            else:
                r = train(name, data, n_train, args.epochs, limit, lr, args.schedule, args.eval_every, device,
                          seed=args.seed, use_graph=use_graph, ema_decay=args.ema if name != "Linear" else None)
            r["published"] = PUBLISHED[name]
            r["ratio_to_published"] = r["test"] / PUBLISHED[name]
            report["table"][name] = r
            print(f"table {name}: test MSE {r['test']:.5f} (published {PUBLISHED[name]}), best epoch "
                  f"{r['epoch']}/{r['epochs']}, {r['seconds']} s", flush=True)
            if "ema" in r:
                print(f"table {name}, moving average of the weights: test MSE {r['ema']['test']:.5f} "
                      f"(valid {r['ema']['valid']:.5f}, epoch {r['ema']['epoch']})", flush=True)
            save()
    if "curve" in parts:
        report["curve"] = {}
        for name in args.curve_models.split(","):
            for n in [k for k in map(int, args.curve_sizes.split(",")) if k <= n_train]:
                epochs = max(2, int(args.curve_epochs * min(1.0, 3000 / n) ** 0.5))
                r = train(name, data, n, epochs, args.curve_time, args.lr if name != "MLP+aug" else 1e-3, "cosine",
                          None, device, use_graph=use_graph)
                report["curve"].setdefault(name, {})[n] = r
                print(f"curve {name} n={n}: test MSE {r['test']:.5f} ({r['epochs']} epochs, {r['seconds']} s)",
                      flush=True)
                save()
    with open(args.out + ".md", "w") as f:
        f.write(_markdown(report))
    save()


def _markdown(report):
    lines = [f"# Charged n-body ({report['device']}, quick={report['quick']}, data: {report.get('data', 'symmetries')}, "
             f"schedule: {report['schedule']})", ""]
    if "table" in report:
        lines += ["| model | ours test MSE | published | ours / published | best epoch / epochs |", "|---|---|---|---|---|"]
        for name, r in report["table"].items():
            lines.append(f"| {name} | {r['test']:.5f} | {r['published']} | {r['ratio_to_published']:.2f} | "
                         f"{r['epoch']} / {r['epochs']} |")
            if "ema" in r:
                e = r["ema"]
                lines.append(f"| {name}, moving average of the weights (decay {e['decay']}) | {e['test']:.5f} | "
                             f"{r['published']} | {e['test'] / r['published']:.2f} | {e['epoch']} / {r['epochs']} |")
        lines += [f"| (published) {k} | | {v} | | |" for k, v in PUBLISHED.items() if k not in report["table"]]
    if "curve" in report:
        sizes = sorted({n for rows in report["curve"].values() for n in rows})
        lines += ["", "| model | " + " | ".join(map(str, sizes)) + " |", "|---" * (len(sizes) + 1) + "|"]
        for name, rows in report["curve"].items():
            lines.append(f"| {name} | " + " | ".join(f"{rows[n]['test']:.4f}" if n in rows else "" for n in sizes) + " |")
    if "speed_ms" in report:
        lines += ["", "| systems | ours fwd / fwd+bwd (ms) | egnn-pytorch fwd / fwd+bwd (ms) |", "|---|---|---|"]
        for k, row in report["speed_ms"].items():
            theirs = row.get("egnn-pytorch", {})
            lines.append(f"| {k} | {row['ours']['forward']} / {row['ours']['forward+backward']} | "
                         f"{theirs.get('forward', '-')} / {theirs.get('forward+backward', '-')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
