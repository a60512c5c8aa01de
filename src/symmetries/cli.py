"""The ``symmetries`` command line: ``symmetries study [TASK] [OPTIONS]``.

``symmetries study`` trains a task's models by several methods at several training-set
sizes and seeds (:func:`symmetries.studies.run_study`), prints the results table and writes
results (CSV, JSON), plots and ``report.html`` to ``--out``; an interrupted study resumes
where it stopped. With no task it runs ``DEFAULT_STUDY``, a short O(5)-invariant study.

- ``--list``: print the registered tasks, one per line, and exit;
- ``--sizes 30,100,300``, ``--methods plain,augment``, ``--seeds 0,1`` (default: the task's
  sizes and methods, seeds 0,1,2);
- ``--set KEY=VALUE``: override a field of the task's configuration (repeatable);
- ``--device`` (default: cuda if available, else cpu), ``--threads`` (default: 1 on the
  CPU), ``--out`` (default: ``study-<task>``), ``--no-progress``;
- ``--workers N``: local processes sharing the runs; or ``torchrun --nproc_per_node N -m
  symmetries.cli study ...``, with ``--ddp`` to train each run over all the ranks;
- ``--import MODULE``: a module (looked up in the current folder first) or ``.py`` file that
  registers more tasks (repeatable).

Errors are printed on one line, with exit status 2. Imports stay inside the commands, so
``symmetries --help`` answers without loading the study machinery or matplotlib.
"""

from __future__ import annotations

import argparse
import sys

#: what ``symmetries study`` runs with no task named: the O(5)-invariant regression of
#: Finzi et al. (2021) with a shortened budget, about 3 minutes on 2 CPU cores; MLP,
#: MLP + augmentation and EMLP differ by orders of magnitude at 30 samples.
DEFAULT_STUDY = {
    "task": "o5-invariant", "sizes": [30, 100, 300], "methods": ["plain", "augment", "equivariant"],
    "seeds": [0, 1], "config": {"min_steps": 300, "max_steps": 600}, "out": "study-o5-invariant-quick",
}


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def _names(text: str) -> list[str]:
    return [v for v in text.replace(" ", "").split(",") if v]


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.replace("-", "_"), value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="symmetries", description="Symmetry-aware machine learning on PyTorch.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    s = sub.add_parser(
        "study", help="does the symmetry pay? compare training strategies on a task",
        description="Train a task's models by several methods (plain, augment, average, canonicalize, soft, "
                    "equivariant) at several training-set sizes and seeds; write results (CSV, JSON), plots and "
                    "report.html to --out. An interrupted study resumes where it stopped. With no task, runs a "
                    f"short study of {DEFAULT_STUDY['task']} (a few minutes on 2 CPU cores). Spread the runs over "
                    "processes with --workers N or torchrun --nproc_per_node N -m symmetries.cli study ...; "
                    "train each run with DistributedDataParallel over the torchrun ranks with --ddp.")
    s.add_argument("task", nargs="?", default=None, help="task name (see --list)")
    s.add_argument("--list", action="store_true", help="print the registered tasks, one per line, and exit")
    s.add_argument("--sizes", type=_ints, help="training-set sizes, e.g. 30,100,300 (default: the task's)")
    s.add_argument("--methods", type=_names, help="comma-separated methods (default: the task's)")
    s.add_argument("--seeds", type=_ints, help="comma-separated seeds (default: 0,1,2)")
    s.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    s.add_argument("--out", default=None, help="results folder (default: study-<task>)")
    s.add_argument("--set", dest="settings", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of the task's configuration (repeatable)")
    s.add_argument("--workers", type=int, default=1, help="local processes sharing the runs (default 1)")
    s.add_argument("--threads", type=int, default=None,
                   help="torch threads per process (default: 1 on the CPU, where small models train fastest so)")
    s.add_argument("--ddp", action="store_true", help="train each run with DistributedDataParallel (torchrun)")
    s.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="import a module (looked up in the current folder first) or a .py file that registers "
                        "more tasks (repeatable)")
    s.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.command == "study":
        return _study(args)
    parser().print_help()
    return 0


def _study(args) -> int:
    from symmetries.studies import get_task, import_tasks, task_names

    try:
        for source in args.imports:
            import_tasks(source)
        if args.list:
            for name in task_names():
                print(f"{name}\t{get_task(name).description}")
            return 0
        return _run(_resolve(args), args)
    except (ImportError, KeyError, ValueError, TypeError, RuntimeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"symmetries study: error: {msg}", file=sys.stderr)
        return 2


def _resolve(args) -> dict:
    """The study to run: the arguments given, on top of :data:`DEFAULT_STUDY` when no task is named."""
    import dataclasses

    from symmetries.studies import get_task

    preset = DEFAULT_STUDY if args.task is None else {"task": args.task, "config": {}}
    name = preset["task"]
    cls = type(get_task(name))
    fields = {f.name for f in dataclasses.fields(cls)}
    config = dict(preset["config"])
    for key, text in args.settings:
        if key not in fields:
            raise ValueError(f"task {name!r} has no field {key!r}; its fields are: {', '.join(sorted(fields))}")
        config[key] = _parse_value(text, type(getattr(cls(), key)), key)
    get_task(name, **config)  # validate
    return {"task": name, "sizes": args.sizes or preset.get("sizes"), "methods": args.methods or preset.get("methods"),
            "seeds": args.seeds or preset.get("seeds"), "out": args.out or preset.get("out") or f"study-{name}",
            **config}


def _parse_value(text: str, kind: type, key: str):
    try:
        if kind is bool:
            return {"true": True, "1": True, "false": False, "0": False}[text.lower()]
        return kind(text)
    except (ValueError, KeyError):
        raise ValueError(f"cannot read {key}={text!r} as {kind.__name__}") from None


def _run(study: dict, args) -> int:
    import os

    import torch

    from symmetries.studies import check_device, get_task
    from symmetries.studies import init_from_env, rank_device, run_workers
    from symmetries.studies import StudyFolderError, load_results, plan, run_study
    from symmetries.studies import format_table

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    check_device(device)  # a one-line error before any work or progress bar
    threads = args.threads or (1 if device == "cpu" else None)
    task = get_task(study["task"], **{k: v for k, v in study.items() if k not in _STUDY_KEYS})
    plan(task, study["sizes"], study["methods"], study["seeds"])  # unknown methods fail here, before any work
    options = dict(study, device=device, progress=not args.no_progress, ddp=args.ddp, threads=threads)
    try:
        if args.workers > 1:
            if args.ddp:
                raise ValueError("--ddp trains one run over all ranks; use it under torchrun, not with --workers")
            run_workers(args.workers, options, tuple(args.imports))
            rows = load_results(study["out"])
        else:
            created = init_from_env(device, args.ddp)
            try:
                rows = run_study(**dict(options, device=rank_device(device) if created else device))
            finally:
                if created:
                    torch.distributed.destroy_process_group()
    except StudyFolderError as e:
        raise ValueError(str(e)) from None
    if int(os.environ.get("RANK", 0)) == 0:
        print(format_table(rows, task.metric_name))
        print(f"\nresults, plots and report: {os.path.join(study['out'], 'report.html')}")
    return 0


_STUDY_KEYS = ("task", "sizes", "methods", "seeds", "out")


if __name__ == "__main__":
    sys.exit(main())
