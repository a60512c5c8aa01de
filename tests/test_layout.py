"""The package's layout and dependencies: layers import only what layers need, every
public name has one home, and no module reaches into another package's private names."""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "symmetries"
PACKAGES = ["groups", "reps", "actions", "testing", "o3", "nn", "symmetrize", "data", "models", "studies"]


def test_core_dependencies_are_what_the_layers_need():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] for d in meta["dependencies"]}
    assert names == {"torch", "numpy", "scipy"}
    assert {"matplotlib", "tqdm", "scikit-learn"} <= {re.split(r"[<>=!~ ]", d, maxsplit=1)[0]
                                                       for d in meta["optional-dependencies"]["study"]}


def test_importing_the_layers_loads_no_plotting_or_study_packages():
    # (tqdm is left out: torch itself imports it when it is installed)
    code = ("import sys, symmetries as sym, symmetries.nn, symmetries.models, symmetries.symmetrize, symmetries.o3, "
            "symmetries.nn.o3.tensor_product, symmetries.data\n"
            "print(sorted(m for m in ('matplotlib', 'sklearn', 'ase') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_layout():
    import symmetries as sym
    import symmetries.nn.o3.tensor_product as tp

    assert isinstance(sym.groups.Euclidean(3), sym.groups.MatrixGroup)
    assert tp.TensorProduct is sym.nn.TensorProduct
    assert not [p.name for p in (SRC / "nn").glob("_o3_*")]
    assert not (SRC / "audit").exists() or any((SRC / "audit").glob("*.py"))


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("symmetries"):
            yield node.module, [a.name for a in node.names]


def test_no_private_names_cross_packages():
    offenders = []
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).parts
        own = parts[0] if len(parts) > 1 else None
        for module, names in _imports(path):
            target = module.split(".")
            if len(target) < 2 or target[1] in (own, "_internal"):
                continue
            if any(p.startswith("_") for p in target[2:]) or any(n.startswith("_") for n in names):
                offenders.append(f"{path.relative_to(SRC)}: from {module} import {', '.join(names)}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_is_exported_and_documented(package):
    import importlib

    module = importlib.import_module(f"symmetries.{package}")
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing
    undocumented = [n for n in module.__all__ if callable(getattr(module, n)) and not (getattr(module, n).__doc__ or "").strip()]
    assert not undocumented, f"symmetries.{package}: no docstring for {undocumented}"


def test_no_issue_or_session_numbers_in_the_project():
    pattern = re.compile(r"\((issue|session) \d+\)|\b(issue|session) \d+\b", re.I)
    files = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "benchmarks").glob("*.md"),
             *(ROOT / "benchmarks").glob("*.py"), *SRC.rglob("*.py")]
    hits = [f"{f.relative_to(ROOT)}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1)
            if pattern.search(line)]
    assert not hits, hits


def test_test_files_have_distinct_names():
    """The test folders are not packages, so two test files of one name would collide."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
