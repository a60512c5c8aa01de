"""One run of a study: train a task's model by one method, then measure it. Resumable."""

from __future__ import annotations

import math
import os
import time

import torch

from symmetries.symmetrize import Augment, equivariance_penalty
from symmetries._internal.atomic import save_atomic
from symmetries._internal.extras import require
from symmetries._internal.tree import batch_size, cat, take, tree_map
from symmetries.testing import check_equivariance
from symmetries.studies._task import Task, check_data, check_method

#: the status of a run that trained to the end with a finite test metric
OK = "ok"


def _seed_for(*parts) -> int:
    """A deterministic 63-bit seed from ints and strings (Python's hash() is salted)."""
    h = 1469598103934665603
    for part in parts:
        for byte in str(part).encode() + b"\x00":
            h = ((h ^ byte) * 1099511628211) % (1 << 64)
    return h >> 1


def train_run(task: Task, method: str, n_train: int, seed: int, device="cpu", checkpoint: str | None = None,
              checkpoint_every: int | None = None, progress: bool = False, ddp: bool = False) -> dict:
    r"""Train ``task``'s model for ``method`` on ``n_train`` samples of seed ``seed``; return the result.

    Deterministic given the seed: the data come from ``task.make_data(n_train, seed)``, the
    model's initialization from ``torch.manual_seed(seed)``, the batches and the
    augmentation / penalty elements from a generator seeded by (seed, method, size).
    Training is Adam with a cosine-decayed learning rate for ``task.train_steps(n_train)``
    steps on random batches of ``task.batch_size``.

    A checkpointed run resumes with the same final result as an uninterrupted one. The data
    are checked first (:func:`~symmetries.studies.check_data`). A run whose training loss
    becomes NaN or infinite stops there: its ``status`` says so (``"diverged: loss nan at
    step 12"``) and the measurements are ``None``; a run whose test metric is not finite has
    status ``"failed: test metric nan"``. Finished runs have status ``"ok"``. After training
    the model is measured in eval mode: the test metric, and its equivariance
    (:func:`~symmetries.testing.check_equivariance` on up to 64 test inputs,
    ``task.equivariance_samples`` elements).

    Args:
        task: the :class:`~symmetries.studies.Task`.
        method: one of the task's ``methods``.
        n_train: the training-set size.
        seed: the seed of the data, the initialization and the batches.
        device: where to train (default: ``"cpu"``; see :func:`check_device`).
        checkpoint: a path where the model, optimizer, schedule, step, and every RNG state
            are saved, and resumed from if it exists (default: ``None``, no checkpoint). The
            file loads with ``torch.load(weights_only=True)``; with ``ddp`` rank 0 writes it.
        checkpoint_every: save every this many steps, and at the end (default: ``None``, a
            tenth of the run).
        progress: a per-step progress bar on a terminal (default: ``False``).
        ddp: under ``torchrun`` with a process group initialized, wrap the model in
            :class:`~torch.nn.parallel.DistributedDataParallel`; every rank draws the same
            global batch and trains on its share, so gradients are those of the whole batch
            (default: ``False``).

    Returns:
        A dict: ``task``, ``method``, ``size``, ``seed``, ``status``, ``metric``,
        ``equivariance_max_rel``, ``equivariance_mean_rel``, ``equivariance_verdict``,
        ``metric_name``, ``train_loss`` (the mean of the last 50 losses), ``steps``
        (optimizer steps taken), ``seconds``, ``n_params`` and ``device``.

    Raises:
        ValueError: for an unsupported method, an unusable device, or data that fail
            :func:`~symmetries.studies.check_data` (naming arrays with NaN or infinite values
            and their rows).
        RuntimeError: ``ddp`` without an initialized process group.
    """
    check_method(task, method)
    require("tqdm", extra="study", feature="train_run")
    device = check_device(device)
    rank, world = _rank_world(ddp)
    data = task.make_data(n_train, seed)
    check_data(task, data, n_train, seed)
    (x_train, y_train), (x_test, y_test) = data
    to_dev = lambda t: t.to(device)  # noqa: E731
    x_train, y_train = tree_map(to_dev, x_train), tree_map(to_dev, y_train)

    torch.manual_seed(seed)
    model = task.build_model(method).to(device)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    steps = int(task.train_steps(n_train))
    opt = torch.optim.Adam(model.parameters(), lr=task.lr, weight_decay=task.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    gen = torch.Generator().manual_seed(_seed_for(seed, method, n_train))
    torch.manual_seed(_seed_for("global", seed, method, n_train))
    state = {"step": 0, "losses": [], "seconds": 0.0}
    if checkpoint is not None and os.path.exists(checkpoint):
        state = _restore(torch.load(checkpoint, weights_only=True, map_location="cpu"), model, opt, sched, gen)
    every = checkpoint_every or max(1, steps // 10)
    net = model
    if ddp:
        ids = [device.index or 0] if device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    augment = Augment(task.action_in, task.action_out, generator=gen) if method == "augment" else None
    bar = _bar(progress and rank == 0, steps, state["step"], f"{method} n={n_train} seed={seed}")
    start = time.perf_counter() - state["seconds"]
    status = OK
    model.train()
    for step in range(state["step"], steps):
        idx = torch.randperm(n_train, generator=gen)[: min(task.batch_size, n_train)]
        xb, yb = take(x_train, idx), take(y_train, idx)
        if augment is not None:
            g = augment.sample(len(idx))
            xb, yb = augment(xb, yb, g=g)
        if world > 1:  # this rank's share of the global batch
            mine = torch.arange(rank, len(idx), world)
            xb, yb = take(xb, mine), take(yb, mine)
        loss = task.loss(net(xb), yb)
        if method == "soft":
            loss = loss + task.soft_weight * equivariance_penalty(net, xb, task.action_in, task.action_out,
                                                                  generator=gen)
        logged = _batch_loss(loss, world)
        if not math.isfinite(logged):  # every rank sees the same all-reduced loss and stops with the others
            status = f"diverged: loss {logged} at step {step + 1}"
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        state["losses"].append(logged)
        state["step"] = step + 1
        bar.update(1)
        if checkpoint is not None and rank == 0 and (state["step"] % every == 0 or state["step"] == steps):
            state["seconds"] = time.perf_counter() - start
            save_atomic(_snapshot(state, model, opt, sched, gen), checkpoint)
    bar.close()
    seconds = time.perf_counter() - start
    model.eval()
    measured = {"metric": None, "equivariance_max_rel": None, "equivariance_mean_rel": None,
                "equivariance_verdict": None}
    if status == OK:
        metric, eq = _evaluate(task, model, x_test, y_test, device, seed)
        if math.isfinite(metric):
            measured = {"metric": metric, "equivariance_max_rel": eq.max_rel_error,
                        "equivariance_mean_rel": eq.mean_rel_error, "equivariance_verdict": eq.verdict}
        else:
            status = f"failed: test metric {metric}"
    tail = state["losses"][-max(1, min(50, len(state["losses"]))):]
    return {
        "task": task.name, "method": method, "size": int(n_train), "seed": int(seed), "status": status,
        **measured, "metric_name": task.metric_name, "train_loss": sum(tail) / len(tail) if tail else None,
        "steps": state["step"], "seconds": seconds, "n_params": int(n_params), "device": str(device),
    }


def check_device(device) -> torch.device:
    """``device`` as a :class:`torch.device`, or a one-line ``ValueError`` when it cannot be used.

    Args:
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"`` or a :class:`torch.device`.

    Returns:
        The device.

    Raises:
        ValueError: the name is not a device, or this machine has no such device (CUDA
            requested where PyTorch was built without it or sees no GPU, an index past the
            last GPU, MPS where it is not available).
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device {device!r} is not a torch device; expected e.g. 'cpu', 'cuda', 'cuda:1' "
                         "or 'mps'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = (f"this PyTorch ({torch.__version__}) was built without CUDA" if torch.version.cuda is None
                   else "no CUDA device is visible")
            raise ValueError(f"device {str(device)!r} is not available: {why}; use device 'cpu'")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"device {str(device)!r} is not available: this machine has {count} CUDA "
                             f"device{'s' * (count != 1)} (cuda:0 to cuda:{count - 1})")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {str(device)!r} is not available on this machine; use device 'cpu'")
    return dev


def _batch_loss(loss: torch.Tensor, world: int) -> float:
    """The loss of the whole batch: this rank's, or the mean over the ranks' equal shares."""
    logged = loss.detach()
    if world > 1:
        logged = logged.clone()
        torch.distributed.all_reduce(logged)
        logged = logged / world
    return float(logged)


def _evaluate(task, model, x_test, y_test, device, seed):
    n = batch_size(x_test)
    chunk = max(task.batch_size, 256)
    torch.manual_seed(_seed_for("eval", seed))
    with torch.no_grad():
        preds = []
        for i in range(0, n, chunk):
            idx = torch.arange(i, min(i + chunk, n))
            preds.append(tree_map(lambda t: t.cpu(), model(tree_map(lambda t: t.to(device), take(x_test, idx)))))
        metric = float(task.metric(cat(preds), y_test))
        sample = tree_map(lambda t: t.to(device), take(x_test, torch.arange(min(n, 64))))
        gen = torch.Generator().manual_seed(_seed_for("equivariance", seed))
        report = check_equivariance(model, task.action_in, task.action_out, sample,
                                    n_samples=task.equivariance_samples, generator=gen)
    return metric, report


def _snapshot(state, model, opt, sched, gen) -> dict:
    snap = {
        "step": state["step"], "losses": torch.tensor(state["losses"], dtype=torch.float64),
        "seconds": state["seconds"], "model": model.state_dict(), "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(), "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        snap["cuda_rng"] = torch.cuda.get_rng_state_all()
    return snap


def _restore(snap, model, opt, sched, gen) -> dict:
    model.load_state_dict(snap["model"])
    opt.load_state_dict(snap["optimizer"])
    sched.load_state_dict(snap["scheduler"])
    gen.set_state(snap["generator"])
    torch.set_rng_state(snap["torch_rng"])
    if "cuda_rng" in snap and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(snap["cuda_rng"])
    return {"step": int(snap["step"]), "losses": snap["losses"].tolist(), "seconds": float(snap["seconds"])}


def _rank_world(ddp: bool) -> tuple[int, int]:
    import torch.distributed as dist

    if ddp:
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError("ddp=True needs an initialized process group: run under torchrun")
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _bar(enabled, total, initial, desc):
    import sys

    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, leave=False, unit="step", dynamic_ncols=True,
                disable=not (enabled and sys.stderr.isatty()))  # per-step bars only on a terminal
