"""Studies: does the symmetry pay? Compare training strategies across training-set sizes.

A :class:`Task` bundles data, models, loss, metric and the actions of its symmetry; the
registry maps names to tasks (``register_task``, ``get_task``, ``task_names``).
:func:`run_study` trains every (method, size, seed), resumably, and writes results, plots
and an HTML report; :func:`train_run` is one such run. The command line is
``symmetries study``.
"""

from symmetries.studies._distributed import init_from_env, rank_device, run_workers
from symmetries.studies._registry import get_task, register_task, task_names, unregister_task
from symmetries.studies._report import write_report
from symmetries.studies._study import STUDY_FORMAT, StudyFolderError, load_results, plan, run_study
from symmetries.studies._summary import format_table, summarize
from symmetries.studies._task import METHOD_DESCRIPTIONS, METHODS, Task, check_method
from symmetries.studies._train import train_run

__all__ = ["Task", "METHODS", "METHOD_DESCRIPTIONS", "check_method", "register_task", "unregister_task",
           "get_task", "task_names", "run_study", "train_run", "load_results", "StudyFolderError", "STUDY_FORMAT",
           "write_report", "summarize", "format_table", "run_workers", "init_from_env", "rank_device", "plan"]
