"""Where the library caches what it generates (data sets, compiled kernels)."""

from __future__ import annotations

import os


def cache_root() -> str:
    """``$SYMMETRIES_CACHE``, else ``$XDG_CACHE_HOME/symmetries``, else ``~/.cache/symmetries``."""
    if os.environ.get("SYMMETRIES_CACHE"):
        return os.environ["SYMMETRIES_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "symmetries")
