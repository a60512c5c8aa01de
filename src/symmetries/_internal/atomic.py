"""Atomic writes: a file is written beside its destination, then renamed into place, so a
reader (or a resumed run after a kill) sees either the old file or the whole new one."""

from __future__ import annotations

import json
import os
import uuid
from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def atomic_path(path) -> Iterator[str]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` when the block ends
    without error and is removed when it raises. Missing parent folders are created."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_text_atomic(text: str, path) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        f.write(text)


def write_json_atomic(obj, path) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    write_text_atomic(json.dumps(obj, indent=1, sort_keys=True) + "\n", path)


def save_atomic(obj, path) -> None:
    """``torch.save(obj, path)`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
