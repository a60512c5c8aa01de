"""symmetries: symmetry-aware machine learning on PyTorch.

Build models that respect a symmetry exactly, check how symmetric any model or data set
is, and train with symmetry (augmentation, averaging, canonicalization, soft penalties)::

    import symmetries as sym
    G = sym.groups.O3()
    V = sym.reps.standard(G)
    model = sym.nn.EMLP(V + V**2, sym.reps.trivial(G) + V, hidden=128, depth=3)
    print(sym.check_equivariance(model, V + V**2, sym.reps.trivial(G) + V, x))
"""

import importlib

from symmetries import actions, groups, reps, testing
from symmetries.reps import equivariant_basis
from symmetries.testing import assert_equivariant, check_equivariance

__version__ = "0.1.0"

_LAZY = ("o3", "nn", "symmetrize", "data", "models", "studies")


def __getattr__(name):
    # heavier subpackages load on first use, so `import symmetries` stays fast
    if name in _LAZY:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'symmetries' has no attribute {name!r}")


def __dir__():
    # a lazy subpackage is in globals() too once loaded: list each name once
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["groups", "reps", "actions", "testing", "equivariant_basis", "check_equivariance",
           "assert_equivariant", *_LAZY]
