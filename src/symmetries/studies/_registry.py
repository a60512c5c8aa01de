"""The task registry: names to :class:`~symmetries.studies.Task` classes."""

from __future__ import annotations

from symmetries.studies._task import METHODS, Task

_TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Register a :class:`Task` subclass under its ``name`` (usable as a class decorator).

    Registering a second class under a taken name is an error (re-registering the same
    class is allowed, so a module can be imported twice).
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
    """Remove a task from the registry (for tests and interactive use)."""
    _TASKS.pop(name, None)


def _load_builtin():
    from symmetries.studies import tasks  # noqa: F401  (registers the built-in tasks)


def task_names() -> list[str]:
    """Names of the registered tasks, sorted."""
    _load_builtin()
    return sorted(_TASKS)


def get_task(name: str, **config) -> Task:
    """An instance of the task registered as ``name``, with config fields overridden.

    Unknown names raise ``KeyError`` listing the registered tasks; unknown config fields
    raise ``TypeError`` listing the task's fields.
    """
    _load_builtin()
    if isinstance(name, Task):
        return name
    if name not in _TASKS:
        have = ", ".join(sorted(_TASKS)) or "(none)"
        raise KeyError(f"unknown task {name!r}; registered tasks: {have}")
    cls = _TASKS[name]
    import dataclasses

    fields = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(config) - fields)
    if bad:
        raise TypeError(f"task {name!r} has no config fields {bad}; its fields are: {', '.join(sorted(fields))}")
    return cls(**config)
