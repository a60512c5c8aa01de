"""Optional dependencies: whether one is installed, and a clear error naming the extra that
brings it when a feature needs it."""

from __future__ import annotations

import importlib.util
from functools import lru_cache


@lru_cache(maxsize=None)
def installed(package: str) -> bool:
    """Whether ``package`` can be imported, without importing it (numba takes ~0.3 s)."""
    return importlib.util.find_spec(package) is not None


def require(*packages: str, extra: str, feature: str) -> None:
    """Raise ``ImportError`` naming ``pip install 'symmetries[extra]'`` unless every package is installed."""
    missing = [p for p in packages if not installed(p)]
    if missing:
        raise ImportError(f"{feature} needs {', '.join(missing)}, which is not installed: "
                          f"pip install 'symmetries[{extra}]'")
