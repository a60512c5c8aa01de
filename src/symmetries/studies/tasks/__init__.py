"""Built-in study tasks: each module here registers its tasks on import.

A domain module that is not there (not written yet, or removed) is skipped; a module that
is there but fails to import raises, so a broken task is never silently missing.
"""

import importlib
import importlib.util

#: the built-in task modules, by domain
BUILTIN = ("emlp", "digits", "nbody", "forces", "wilson")

for _name in BUILTIN:
    if importlib.util.find_spec(f"{__name__}.{_name}") is not None:
        importlib.import_module(f"{__name__}.{_name}")
