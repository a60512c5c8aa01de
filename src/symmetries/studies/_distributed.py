"""Spread a study over processes with torch.distributed: under torchrun, or local workers."""

from __future__ import annotations

import os
import socket


def init_from_env(device: str = "cpu", ddp: bool = False) -> bool:
    """Join the process group described by torchrun's environment (``WORLD_SIZE > 1``).

    Args:
        device: the device the study runs on (default: ``"cpu"``).
        ddp: whether runs are trained with DistributedDataParallel (default: ``False``):
            NCCL when this is set and ``device`` is CUDA; gloo otherwise (sharing out runs only
            needs barriers, and gloo allows several ranks on one GPU).

    Returns:
        ``True`` when this call created the group (the caller then destroys it); ``False``
        for a single process or a group that already exists.
    """
    import torch.distributed as dist

    if int(os.environ.get("WORLD_SIZE", 1)) <= 1 or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if ddp and str(device).startswith("cuda") else "gloo")
    return True


def rank_device(device: str) -> str:
    """The device of this process: ``cuda`` becomes ``cuda:<LOCAL_RANK>`` (one GPU per process,
    modulo the GPUs there are), which is made the current device; other devices are kept.

    Args:
        device: the study's device.

    Returns:
        The device's name.
    """
    import torch

    if str(device) == "cuda" and torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count()
        torch.cuda.set_device(local)
        return f"cuda:{local}"
    return str(device)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_workers(n_workers: int, study: dict, imports: tuple[str, ...] = ()) -> None:
    """Run ``run_study(**study)`` in ``n_workers`` local processes joined by a gloo
    process group: each takes ``jobs[rank::n_workers]``, rank 0 writes the report.

    Args:
        n_workers: the number of processes, >= 1.
        study: keyword arguments of :func:`~symmetries.studies.run_study`, picklable (a task
            *name* with config overrides, not a Task object); ``device`` becomes each rank's
            (:func:`rank_device`).
        imports: modules or ``.py`` files each worker imports first with
            :func:`~symmetries.studies.import_tasks` (where user tasks are registered)
            (default: none).
    """
    import torch.multiprocessing as mp

    if n_workers < 1:
        raise ValueError(f"need at least one worker, got {n_workers}")
    mp.spawn(_worker, args=(n_workers, free_port(), study, tuple(imports)), nprocs=n_workers, join=True)


def _worker(rank: int, world: int, port: int, study: dict, imports: tuple[str, ...]) -> None:
    import torch.distributed as dist

    from symmetries.studies._registry import import_tasks
    from symmetries.studies._study import run_study

    for source in imports:
        import_tasks(source)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    device = study.get("device", "cpu")
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        run_study(**{**study, "device": rank_device(device)})
    finally:
        dist.destroy_process_group()
