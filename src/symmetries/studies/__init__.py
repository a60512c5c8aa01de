"""Studies: does the symmetry pay? Compare training strategies across training-set sizes.

A :class:`Task` bundles data, models, loss, metric and the actions of its symmetry; the
registry maps names to tasks (``register_task``, ``get_task``, ``task_names``).
"""

from ._registry import get_task, register_task, task_names, unregister_task
from ._task import METHOD_DESCRIPTIONS, METHODS, Task, check_method

__all__ = ["Task", "METHODS", "METHOD_DESCRIPTIONS", "check_method", "register_task", "unregister_task",
           "get_task", "task_names"]
