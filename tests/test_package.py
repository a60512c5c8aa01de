"""The package root: what ``import symmetries`` shows."""

import symmetries as sym


def test_dir_lists_every_name_once_after_lazy_subpackages_load():
    sym.nn, sym.data, sym.studies  # noqa: B018  (loaded: now in the module's globals too)
    names = dir(sym)
    assert len(names) == len(set(names)), sorted(n for n in set(names) if names.count(n) > 1)
    assert {"nn", "data", "studies", "groups", "check_equivariance"} <= set(names)
    assert names == sorted(names)
