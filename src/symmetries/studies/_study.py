"""The study runner: every (method, size, seed) run of a task, resumable and distributable."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

from symmetries._internal.atomic import write_json_atomic
from symmetries._internal.extras import require
from symmetries.studies._registry import get_task
from symmetries.studies._task import METHODS, Task, check_method
from symmetries.studies._train import OK, check_device, train_run

#: version of the results-folder layout; a folder written by another version is refused (fields
#: added since are filled in by :func:`load_results`, so older folders of this version still load)
STUDY_FORMAT = 1
DEFAULT_SEEDS = (0, 1, 2)


class StudyFolderError(RuntimeError):
    """The results folder belongs to another study (format version or task configuration)."""


@dataclass(frozen=True)
class Job:
    method: str
    size: int
    seed: int

    @property
    def key(self) -> str:
        return f"{self.method}-n{self.size}-s{self.seed}"


def prepare_folder(out: str, task: Task) -> None:
    """Create ``out`` with its manifest ``study.json``, or check that an existing one matches.

    The manifest records :data:`STUDY_FORMAT` and ``task.config()``; a folder from another
    format version or another task configuration raises :class:`StudyFolderError`.
    """
    os.makedirs(os.path.join(out, "runs"), exist_ok=True)
    os.makedirs(os.path.join(out, "checkpoints"), exist_ok=True)
    path = os.path.join(out, "study.json")
    manifest = {"format": STUDY_FORMAT, "task": task.config()}
    if not os.path.exists(path):
        if os.listdir(os.path.join(out, "runs")):
            raise StudyFolderError(f"{out} holds runs but no study.json: not a results folder of this tool")
        write_json_atomic(manifest, path)
        return
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise StudyFolderError(f"{path} is unreadable ({e}): use another --out folder") from e
    if old.get("format") != STUDY_FORMAT:
        raise StudyFolderError(f"{out} was written by study format {old.get('format')!r}, this is format "
                               f"{STUDY_FORMAT}: results would not be comparable; use another --out folder")
    if old.get("task") != manifest["task"]:
        diff = _diff(old.get("task") or {}, manifest["task"])
        raise StudyFolderError(f"{out} holds results of another task configuration ({diff}); "
                               "use another --out folder or the same configuration")


def _diff(a: dict, b: dict) -> str:
    keys = sorted(set(a) | set(b))
    return ", ".join(f"{k}: folder has {a.get(k)!r}, now {b.get(k)!r}" for k in keys if a.get(k) != b.get(k))


def plan(task: Task, sizes=None, methods=None, seeds=None) -> list[Job]:
    """The jobs of a study, method-major, then by size and seed (duplicates dropped).

    Args:
        task: the :class:`~symmetries.studies.Task`.
        sizes: training-set sizes, positive (default: ``None``, ``task.default_sizes``).
        methods: methods (default: ``None``, ``task.default_methods`` or else ``task.methods``).
        seeds: seeds (default: ``None``, ``(0, 1, 2)``).

    Returns:
        A list of jobs, each with ``method``, ``size``, ``seed`` and ``key``
        (``"<method>-n<size>-s<seed>"``).

    Raises:
        ValueError: for unknown or unsupported methods, no sizes, or a size below 1.
    """
    sizes = tuple(task.default_sizes if sizes is None else sizes)
    methods = tuple((task.default_methods or task.methods) if methods is None else methods)
    seeds = tuple(DEFAULT_SEEDS if seeds is None else seeds)
    for m in methods:
        check_method(task, m)
    if not sizes:
        raise ValueError(f"task {task.name!r} has no default sizes: give sizes")
    if any(int(s) < 1 for s in sizes):
        raise ValueError(f"training-set sizes must be positive, got {list(sizes)}")
    order = sorted(set(methods), key=METHODS.index)
    return [Job(m, int(n), int(s)) for m in order for n in sorted(set(sizes)) for s in sorted(set(seeds))]


def load_results(out: str) -> list[dict]:
    """All finished runs in a results folder, sorted by method, size and seed.

    Runs written before runs had a ``status`` get one: ``"ok"``, or ``"failed: test metric
    nan"`` (and no measurements) when their metric is not finite.

    Args:
        out: the results folder (its ``runs/*.json``).

    Returns:
        The rows, as :func:`~symmetries.studies.train_run` returns them; empty when there are
        no runs.
    """
    runs = os.path.join(out, "runs")
    rows = []
    for name in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        if name.endswith(".json"):
            with open(os.path.join(runs, name)) as f:
                rows.append(_with_status(json.load(f)))
    key = lambda r: (METHODS.index(r["method"]) if r["method"] in METHODS else 99, r["size"], r["seed"])  # noqa: E731
    return sorted(rows, key=key)


def _with_status(row: dict) -> dict:
    """A run as this version writes it: the ``status`` of a run from before it was recorded."""
    if "status" in row:
        return row
    metric = row.get("metric")
    if isinstance(metric, (int, float)) and math.isfinite(metric):
        return {**row, "status": OK}
    return {**row, "status": f"failed: test metric {metric}", "metric": None, "equivariance_max_rel": None,
            "equivariance_mean_rel": None, "equivariance_verdict": None}


def run_study(task="o5-invariant", sizes=None, methods=None, seeds=None, out: str | None = None, device="cpu",
              progress: bool = True, ddp: bool = False, report: bool = True, checkpoint_every: int | None = None,
              threads: int | None = None, **config) -> list[dict]:
    r"""Train and measure every (method, size, seed) of a task; write results and a report to ``out``.

    Each finished run (:func:`train_run`) is written at once to
    ``out/runs/<method>-n<size>-s<seed>.json`` and skipped when the study is run again; a run
    interrupted midway resumes from ``out/checkpoints``. A run whose loss becomes NaN or
    infinite is recorded with its ``status`` (``"diverged: loss nan at step 12"``) and the
    study goes on; the report shows what finished. The folder's manifest ``study.json``
    records :data:`STUDY_FORMAT` and the task's configuration.

    Distributed: under ``torchrun`` with a process group initialized, each rank runs its
    share of the jobs (``jobs[rank::world]``) and rank 0 writes the report after all have
    finished; with ``ddp=True`` instead every run is trained by all ranks together with
    DistributedDataParallel.

    Args:
        task: a registered name (default: ``"o5-invariant"``) or a :class:`Task`.
        sizes: training-set sizes (default: ``None``, the task's ``default_sizes``).
        methods: methods (default: ``None``, the task's default methods).
        seeds: seeds (default: ``None``, ``(0, 1, 2)``).
        out: the results folder (default: ``None``, ``"study-<task name>"``).
        device: where to train (default: ``"cpu"``).
        progress: progress bars, on rank 0 (default: ``True``).
        ddp: train each run on all ranks with DistributedDataParallel (default: ``False``).
        report: write ``results.csv``, ``results.json``, the plots and ``report.html`` at the
            end (default: ``True``).
        checkpoint_every: checkpoint each run every this many steps (default: ``None``, a
            tenth of the run).
        threads: ``torch.set_num_threads`` for the study, restored after (default: ``None``,
            unchanged; small models train fastest on one thread per process; use more
            processes for more cores).
        **config: overrides of the task's fields; only with a task name.

    Returns:
        The rows of all runs in the folder (:func:`load_results`).

    Raises:
        StudyFolderError: if ``out`` belongs to another study (format or configuration).
        ValueError: for unsupported methods, bad sizes or an unusable device.
        TypeError: ``config`` with a :class:`Task` instance.
    """
    import torch
    import torch.distributed as dist

    require("matplotlib", "tqdm", extra="study", feature="run_study (progress bars, plots and the report)")
    if threads is not None:
        before = torch.get_num_threads()
        torch.set_num_threads(int(threads))
        try:
            return run_study(task, sizes, methods, seeds, out, device, progress, ddp, report, checkpoint_every,
                             None, **config)
        finally:
            torch.set_num_threads(before)
    if isinstance(task, str):
        task = get_task(task, **config)
    elif config:
        raise TypeError(f"config overrides {sorted(config)} need a task name, not a Task instance")
    out = out or f"study-{task.name}"
    jobs = plan(task, sizes, methods, seeds)
    check_device(device)
    distributed = dist.is_available() and dist.is_initialized()
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    if rank == 0:
        prepare_folder(out, task)
    if distributed:
        dist.barrier()
        prepare_folder(out, task)  # every rank checks the manifest rank 0 wrote
    mine = jobs if (ddp or world == 1) else jobs[rank::world]
    todo = [j for j in mine if not os.path.exists(_run_path(out, j))]
    bar = _bar(progress and rank == 0, len(mine), len(mine) - len(todo), task.name)
    try:
        for job in todo:
            bar.set_postfix_str(job.key)
            row = train_run(task, job.method, job.size, job.seed, device=device,
                            checkpoint=os.path.join(out, "checkpoints", job.key + ".pt"),
                            checkpoint_every=checkpoint_every, progress=progress, ddp=ddp)
            if rank == 0 or not ddp:
                write_json_atomic(row, _run_path(out, job))
            bar.update(1)
    finally:
        bar.close()
    if distributed:
        dist.barrier()
    rows = load_results(out)
    if rank == 0 and report:
        from symmetries.studies._report import write_report

        write_report(out, task, rows)
    return rows


def _run_path(out: str, job: Job) -> str:
    return os.path.join(out, "runs", job.key + ".json")


def _bar(enabled, total, initial, desc):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="run", disable=not enabled, dynamic_ncols=True)
