"""Studies: does the symmetry pay? Compare training strategies across training-set sizes.

A :class:`Task` bundles data, models, loss, metric and the actions of its symmetry; the
registry maps names to tasks (``register_task``, ``get_task``, ``task_names``;
``import_tasks`` imports a module or ``.py`` file that registers more). :class:`Standardized`
scales a model's inputs and targets by scalars, as the built-in EMLP tasks do.
:func:`run_study` trains every (method, size, seed), resumably, and writes results, plots
and an HTML report; :func:`train_run` is one such run, with a ``status`` (``"ok"``, or why it
stopped). The command line is ``symmetries study``.
"""

from symmetries.studies._distributed import init_from_env, rank_device, run_workers
from symmetries.studies._registry import get_task, import_tasks, register_task, task_names, unregister_task
from symmetries.studies._report import write_report
from symmetries.studies._scaling import Standardized
from symmetries.studies._study import STUDY_FORMAT, StudyFolderError, load_results, plan, run_study
from symmetries.studies._summary import format_table, summarize
from symmetries.studies._task import METHOD_DESCRIPTIONS, METHODS, Task, check_data, check_method
from symmetries.studies._train import check_device, train_run

__all__ = ["Task", "METHODS", "METHOD_DESCRIPTIONS", "check_method", "check_data", "register_task",
           "unregister_task", "get_task", "task_names", "import_tasks", "Standardized", "run_study", "train_run",
           "check_device", "load_results", "StudyFolderError", "STUDY_FORMAT", "write_report", "summarize",
           "format_table", "run_workers", "init_from_env", "rank_device", "plan"]
