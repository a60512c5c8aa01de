"""The ``symmetries`` command line: ``symmetries study [TASK] ...``.

Imports stay inside the commands, so ``symmetries --help`` answers without loading torch.
"""

from __future__ import annotations

import argparse
import sys

DEFAULT_TASK = "o5-invariant"


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
    s = sub.add_parser("study", help="does the symmetry pay? compare training strategies on a task",
                       description="Train a task's models by several methods (plain, augment, average, "
                                   "canonicalize, soft, equivariant) at several training-set sizes and seeds; "
                                   "write results (CSV, JSON), plots and report.html to --out. An interrupted "
                                   "study resumes where it stopped. Under torchrun the runs are spread over "
                                   "the ranks (or, with --ddp, each run is trained by all of them).")
    s.add_argument("task", nargs="?", default=None, help=f"task name (default: {DEFAULT_TASK}); see --list")
    s.add_argument("--list", action="store_true", help="print the registered tasks, one per line, and exit")
    s.add_argument("--sizes", type=_ints, help="training-set sizes, e.g. 30,100,300 (default: the task's)")
    s.add_argument("--methods", type=_names, help="comma-separated methods (default: the task's)")
    s.add_argument("--seeds", type=_ints, help="comma-separated seeds (default: 0,1,2)")
    s.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    s.add_argument("--out", default=None, help="results folder (default: study-<task>)")
    s.add_argument("--steps", type=int, help="override the task's number of training steps")
    s.add_argument("--set", dest="settings", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                   help="override a task configuration field (repeatable)")
    s.add_argument("--ddp", action="store_true", help="train each run with DistributedDataParallel over all ranks")
    s.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.command == "study":
        return _study(args)
    parser().print_help()
    return 0


def _study(args) -> int:
    from .studies import get_task, task_names

    if args.list:
        for name in task_names():
            print(f"{name}\t{get_task(name).description}")
        return 0
    name = args.task or DEFAULT_TASK
    try:
        config = _config(name, args)
        task = get_task(name, **config)
        rows = _run(task, args)
    except (KeyError, ValueError, TypeError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"symmetries study: error: {msg}", file=sys.stderr)
        return 2
    return 0 if rows is not None else 1


def _config(name: str, args) -> dict:
    import dataclasses

    from .studies import get_task

    cls = type(get_task(name))
    fields = {f.name: f for f in dataclasses.fields(cls)}
    config = {}
    for key, text in args.settings:
        if key not in fields:
            raise ValueError(f"task {name!r} has no field {key!r}; its fields are: {', '.join(sorted(fields))}")
        config[key] = _parse_value(text, type(getattr(cls(), key)), key)
    if args.steps is not None:
        config["steps"] = args.steps
    return config


def _parse_value(text: str, kind: type, key: str):
    try:
        if kind is bool:
            return {"true": True, "1": True, "false": False, "0": False}[text.lower()]
        return kind(text)
    except (ValueError, KeyError):
        raise ValueError(f"cannot read {key}={text!r} as {kind.__name__}") from None


def _run(task, args):
    import os

    import torch

    from .studies._study import StudyFolderError, run_study
    from .studies._summary import format_table

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    distributed = _init_distributed(device)
    if distributed and device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        torch.cuda.set_device(device)
    out = args.out or f"study-{task.name}"
    try:
        rows = run_study(task, sizes=args.sizes, methods=args.methods, seeds=args.seeds, out=out, device=device,
                         progress=not args.no_progress, ddp=args.ddp)
    except StudyFolderError as e:
        raise ValueError(str(e)) from None
    finally:
        if distributed:
            torch.distributed.destroy_process_group()
    if int(os.environ.get("RANK", 0)) == 0:
        print(format_table(rows, task.metric_name))
        print(f"\nresults, plots and report: {os.path.join(out, 'report.html')}")
    return rows


def _init_distributed(device: str) -> bool:
    """Join the process group when started by torchrun (WORLD_SIZE > 1)."""
    import os

    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", 1)) <= 1 or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return True


if __name__ == "__main__":
    sys.exit(main())
