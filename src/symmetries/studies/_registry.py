"""The task registry: names to :class:`~symmetries.studies.Task` classes."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback

from symmetries.studies._task import METHODS, Task, did_you_mean

_TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Register a :class:`Task` subclass under its ``name`` (usable as a class decorator).

    Registering a second class under a taken name is an error (re-registering the same
    class is allowed, so a module can be imported twice).

    Args:
        cls: the :class:`Task` subclass, with a ``name`` and ``methods`` among :data:`METHODS`.

    Returns:
        ``cls``, unchanged.

    Raises:
        TypeError: if ``cls`` is not a :class:`Task` subclass.
        ValueError: for a missing name, unknown methods, or a name another class holds.
    """
    if not (isinstance(cls, type) and issubclass(cls, Task)):
        raise TypeError(f"register_task expects a Task subclass, got {cls!r}")
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name: set the class attribute name = '...'")
    bad = [m for m in cls.methods if m not in METHODS]
    if bad:
        raise ValueError(f"{cls.__name__} lists unknown methods {bad}; methods are: {', '.join(METHODS)}")
    old = _TASKS.get(cls.name)
    if old is not None and old.__qualname__ != cls.__qualname__:
        raise ValueError(f"a task named {cls.name!r} is already registered ({old.__module__}.{old.__qualname__})")
    _TASKS[cls.name] = cls
    return cls


def unregister_task(name: str) -> None:
    """Remove a task from the registry (for tests and interactive use).

    Args:
        name: the task's name; an unknown name is ignored.
    """
    _TASKS.pop(name, None)


def _load_builtin():
    from symmetries.studies import tasks  # noqa: F401  (registers the built-in tasks)


def task_names() -> list[str]:
    """The names of the registered tasks, the built-in ones included.

    Returns:
        The names, sorted.
    """
    _load_builtin()
    return sorted(_TASKS)


def get_task(name: str, **config) -> Task:
    """An instance of the task registered as ``name``, with config fields overridden.

    Args:
        name: a registered task's name (a :class:`Task` instance is returned as it is).
        **config: values of the task's dataclass fields (``steps=200``, ...).

    Returns:
        The :class:`Task`.

    Raises:
        KeyError: for an unknown name, listing the registered tasks.
        TypeError: for unknown config fields, listing the task's fields.
    """
    _load_builtin()
    if isinstance(name, Task):
        return name
    if name not in _TASKS:
        have = ", ".join(sorted(_TASKS)) or "(none)"
        raise KeyError(f"unknown task {name!r}{did_you_mean(name, _TASKS)}; registered tasks: {have}")
    cls = _TASKS[name]
    import dataclasses

    fields = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(config) - fields)
    if bad:
        raise TypeError(f"task {name!r} has no config fields {bad}; its fields are: {', '.join(sorted(fields))}")
    return cls(**config)


def import_tasks(source: str):
    """Import the module that registers a user's tasks: a module name or a ``.py`` file.

    A module name is looked up in the current folder first, then on ``sys.path`` (as
    ``python -m`` does; the folder is added to ``sys.path``). A path to a ``.py`` file is
    imported as the module named by the file's stem.

    Args:
        source: ``"mytask"``, ``"mypackage.tasks"`` or ``"path/to/mytask.py"``.

    Returns:
        The imported module.

    Raises:
        ImportError: in one line, naming ``source`` and what went wrong: no such module or
            file, or the exception the module raised and the line of the module it came from.
    """
    if source.endswith(".py") or os.sep in source or "/" in source:
        return _import_file(source)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(source)
    except ModuleNotFoundError as e:
        if e.name is not None and (source == e.name or source.startswith(e.name + ".")):
            raise ImportError(f"cannot import {source!r}: no module named {e.name!r} in the current folder "
                              f"({os.getcwd()}) or on sys.path; give a module name or a path to a .py file") from None
        raise ImportError(_failure(source, e)) from e
    except Exception as e:
        raise ImportError(_failure(source, e)) from e


def _import_file(path: str):
    """Import the file ``path`` as the module named by its stem."""
    full = os.path.abspath(path)
    if not (full.endswith(".py") and os.path.isfile(full)):
        raise ImportError(f"cannot import {path!r}: expected a module name or a path to a .py file, "
                          f"and there is no file {full}")
    name = os.path.splitext(os.path.basename(full))[0]
    old = sys.modules.get(name)
    if old is not None:
        if os.path.abspath(getattr(old, "__file__", None) or "") == full:
            return old
        raise ImportError(f"cannot import {path!r} as module {name!r}: a module of that name is already "
                          f"imported (from {getattr(old, '__file__', None) or 'built-in'}); rename the file")
    spec = importlib.util.spec_from_file_location(name, full)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        raise ImportError(_failure(path, e)) from e
    return module


def _failure(source: str, error: Exception) -> str:
    """``cannot import SOURCE: Error: message (file.py, line N)``: the line is the deepest one of
    the traceback in the imported module's own file."""
    where, message = "", str(error).splitlines()[0] if str(error) else ""
    if isinstance(error, SyntaxError) and error.filename:
        where, message = f" ({os.path.basename(error.filename)}, line {error.lineno})", error.msg
    else:
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if "importlib" not in f.filename and f.filename != __file__]
        if frames:  # the first frame outside the machinery runs the module's top level
            line = [f for f in frames if f.filename == frames[0].filename][-1]
            where = f" ({os.path.basename(line.filename)}, line {line.lineno})"
    return f"cannot import {source!r}: {type(error).__name__}: {message}{where}"
