"""The API reference: one page per public package, its names read from ``__all__``.

``.. public-api:: symmetries.nn.linear`` documents the package (its docstring) and every
name of its ``__all__``. A name is documented once, on the page of its home: the deepest
listed package that exports it and holds the module that defines it (``EMLP`` lives on the
``symmetries.nn.linear`` page; ``symmetries.nn`` links to it). Other pages that export the
name list it under "Also exported here", and subpackages under "Subpackages". Nothing is
listed by hand, so a name added to an ``__all__`` shows up in the reference on the next
build (and ``tests/test_docs.py`` fails if one does not).
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

#: the documented packages, in the order of the reference's table of contents
PACKAGES = (
    "symmetries",
    "symmetries.groups",
    "symmetries.reps",
    "symmetries.actions",
    "symmetries.testing",
    "symmetries.o3",
    "symmetries.nn",
    "symmetries.nn.linear",
    "symmetries.nn.o3",
    "symmetries.nn.o3.tensor_product",
    "symmetries.nn.o3.tensor_product.kernels",
    "symmetries.nn.sets",
    "symmetries.nn.graphs",
    "symmetries.nn.images",
    "symmetries.nn.gauge",
    "symmetries.symmetrize",
    "symmetries.data",
    "symmetries.models",
    "symmetries.studies",
)


def public_names(package: str) -> list[str]:
    """The names of ``package.__all__``, in order."""
    return list(getattr(importlib.import_module(package), "__all__", ()))


def _defined_in(obj) -> str | None:
    if inspect.isclass(obj) or inspect.isroutine(obj):
        return getattr(obj, "__module__", None)
    wrapped = getattr(obj, "__wrapped__", None)  # functools.lru_cache and friends
    if wrapped is not None and inspect.isroutine(wrapped):
        return getattr(wrapped, "__module__", None)
    return None  # data: known only by the packages that export it


def home(package: str, name: str) -> str:
    """The package whose page documents ``package.name``."""
    obj = getattr(importlib.import_module(package), name)
    holders = [p for p in PACKAGES
               if name in public_names(p) and getattr(importlib.import_module(p), name, None) is obj]
    where = _defined_in(obj)
    if where is not None:
        inside = [p for p in holders if where == p or where.startswith(p + ".")]
        holders = inside or holders
    return max(holders, key=lambda p: p.count("."))  # the first of the deepest


def _data_comment(package: str, name: str) -> list[str]:
    """The ``#:`` comment above ``name = ...`` in the module of ``package`` that defines it
    (autodoc reads only the package's own ``__init__``)."""
    obj = getattr(importlib.import_module(package), name)
    for module_name in sorted(m for m in sys.modules if m == package or m.startswith(package + ".")):
        module = sys.modules[module_name]
        if getattr(module, name, None) is not obj:
            continue
        try:
            comments = ModuleAnalyzer.for_module(module_name).find_attr_docs()
        except PycodeError:
            continue
        if ("", name) in comments:
            return list(comments["", name])
    return []


def _directive(package: str, name: str, obj) -> list[str]:
    full_name = f"{package}.{name}"
    if inspect.isclass(obj):
        kind = "autoexception" if issubclass(obj, BaseException) else "autoclass"
        return [f".. {kind}:: {full_name}", "   :members:", "   :show-inheritance:", ""]
    if inspect.isroutine(obj) or callable(getattr(obj, "__wrapped__", None)):
        return [f".. autofunction:: {full_name}", ""]
    comment = _data_comment(package, name)
    return [f".. autodata:: {full_name}", ""] + [f"   {line}" for line in comment] + [""]


def page_lines(package: str) -> list[str]:
    """The reST of one package's page (without its title)."""
    module = importlib.import_module(package)
    lines = [f".. automodule:: {package}", ""]
    reexported, subpackages = [], []
    for name in public_names(package):
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            subpackages.append(obj.__name__)
        elif home(package, name) == package:
            lines += _directive(package, name, obj)
        else:
            reexported.append(f"{home(package, name)}.{name}")
    if subpackages:
        lines += [".. rubric:: Subpackages", ""]
        lines += [f"* :py:mod:`{sub}`" for sub in subpackages] + [""]
    if reexported:
        lines += [".. rubric:: Also exported here", "",
                  f"Importable as ``{package}.NAME``; documented in their own package.", ""]
        lines += [f"* :py:obj:`{target}`" for target in reexported] + [""]
    return lines


class PublicAPI(SphinxDirective):
    """``.. public-api:: package``: the package's docstring and its ``__all__``."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        package = self.arguments[0]
        if package not in PACKAGES:
            raise self.error(f"public-api: {package!r} is not in PACKAGES ({__file__})")
        container = nodes.container()
        source = self.get_source_info()[0]
        content = StringList(page_lines(package), source=source)
        nested_parse_with_titles(self.state, content, container)
        return container.children


def _public_bases(app, name, obj, options, bases):
    """Show public base classes only: a private base is replaced by its own bases."""
    def public(classes):
        out = []
        for cls in classes:
            # a public class from a private module links through autodoc's :canonical:
            for base in (public(cls.__bases__) if cls.__name__.startswith("_") else [cls]):
                if base not in out and base is not object:
                    out.append(base)
        return out
    bases[:] = public(list(bases)) or [object]


def _no_type_docstring(app, what, name, obj, options, lines):
    """Data (a dict, a tuple) is documented by its ``#:`` comment, not its type's docstring."""
    doc = type(obj).__doc__
    if what == "data" and doc and "\n".join(lines).strip() == inspect.cleandoc(doc).strip():
        lines[:] = []


def _skip_tuple_aliases(app, what, name, obj, skip, options):
    """A NamedTuple's fields are documented by its class docstring, not as "Alias for field
    number 0" members (which would describe each field twice)."""
    if what in ("class", "exception") and (getattr(obj, "__doc__", None) or "").startswith("Alias for field number"):
        return True
    return None


def _attribute_docstrings_as_written(app):
    """Napoleon reads an attribute's or property's first line ``"X: Y"`` as type ``X``,
    description ``Y`` (Google style); this project writes prose there ("The direct sum of
    all fields: how ...") and gives types as annotations, so the docstring stays as written."""
    from sphinx.ext.napoleon.docstring import GoogleDocstring

    if hasattr(GoogleDocstring, "_parse_attribute_docstring") and hasattr(GoogleDocstring, "_consume_to_end"):
        def _parse_attribute_docstring(self):
            return type(self)(self._consume_to_end(), self._config).lines()

        GoogleDocstring._parse_attribute_docstring = _parse_attribute_docstring


def setup(app):
    app.add_directive("public-api", PublicAPI)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-process-docstring", _no_type_docstring)
    app.connect("autodoc-skip-member", _skip_tuple_aliases)
    app.connect("builder-inited", _attribute_docstrings_as_written)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
