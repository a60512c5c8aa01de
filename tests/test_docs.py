"""The documentation: every python block of the user guide runs as written, and the Sphinx
site (guide + API reference) builds offline without a single warning and documents every
public name."""

import importlib
import importlib.util
import pkgutil
import re
import subprocess
import sys
import types
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = DOCS / "guide.md"
BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_guide_block_runs(index):
    exec(compile(BLOCKS[index], f"docs/guide.md block {index}", "exec"), {})


# ---------------------------------------------------------------- the Sphinx site

def _public_modules():
    """Every module of the package with no private part in its name, imported."""
    import symmetries

    found, todo = [], [symmetries]
    while todo:
        module = todo.pop()
        found.append(module)
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            if not info.name.startswith("_"):
                todo.append(importlib.import_module(f"{module.__name__}.{info.name}"))
    return sorted(found, key=lambda m: m.__name__)


def _inventory(path):
    """``{name: role}`` of a Sphinx ``objects.inv``."""
    lines = path.read_bytes().split(b"\n", 4)
    assert lines[3].startswith(b"# The remainder of this file is compressed"), lines[:4]
    entries = {}
    for line in zlib.decompress(lines[4]).decode().splitlines():
        name, role, _ = line.split(" ", 2)
        entries[name] = role
    return entries


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if importlib.util.find_spec("sphinx") is None:
        pytest.skip("sphinx is not installed (pip install -e '.[test]' brings sphinx, myst-parser and furo)")
    out = tmp_path_factory.mktemp("docs")
    warnings = out / "warnings.txt"
    # the build the docs are published with: offline, every warning an error, serial
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(out / "doctrees"), "-w", str(warnings), str(DOCS), str(out / "html")]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    return proc, warnings.read_text() if warnings.exists() else "", out / "html"


def test_docs_build_without_warnings(site):
    proc, warnings, html = site
    if proc.returncode != 0 or warnings.strip():
        pytest.fail(f"sphinx-build exited {proc.returncode}; fix these (docs/conf.py says how to build):\n"
                    f"{warnings or proc.stderr}", pytrace=False)
    assert (html / "guide.html").exists() and (html / "api" / "index.html").exists()


def test_api_reference_documents_every_public_name(site):
    proc, _, html = site
    assert (html / "objects.inv").exists(), proc.stderr
    documented = _inventory(html / "objects.inv")

    # nothing private: no documented object has a name part that starts with "_" (the
    # inventory also holds private module paths as aliases, autodoc's :canonical: names,
    # which only make links from signatures resolve; the pages' anchors are the objects)
    anchors = {a for page in (html / "api").glob("*.html")
               for a in re.findall(r'<dt class="sig sig-object py" id="([^"]+)"', page.read_text())}
    assert len(anchors) > 100, sorted(anchors)
    private = sorted(a for a in anchors if any(p.startswith("_") for p in a.split(".")))
    assert not private, f"private names in the API reference: {private}"

    modules = {m.__name__: m for m in _public_modules()}
    packages = {n: m for n, m in modules.items() if hasattr(m, "__all__")}
    assert {"symmetries", "symmetries.nn.linear", "symmetries.studies"} <= set(packages)
    missing = []
    for name, module in packages.items():
        if documented.get(name) != "py:module":
            missing.append(f"{name} (a public package with __all__, no API page: add it to "
                           "docs/_ext/public_api.py PACKAGES and docs/api/)")
            continue
        for attr in module.__all__:
            obj = getattr(module, attr)
            if isinstance(obj, types.ModuleType):
                ok = documented.get(obj.__name__) == "py:module"
            else:  # documented here, or in another documented package that exports it
                ok = any(f"{holder}.{attr}" in documented and getattr(m, attr, None) is obj
                         for holder, m in packages.items())
            if not ok:
                missing.append(f"{name}.{attr}")
    assert not missing, f"public names missing from the API reference: {missing}"
