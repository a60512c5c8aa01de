"""Atomic writes: a reader sees the old file or the whole new one, never a part."""

import json

import pytest
import torch

from symmetries._internal.atomic import atomic_path, save_atomic, write_json_atomic, write_text_atomic
from symmetries._internal.extras import require


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    write_text_atomic("old", path)
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp, open(tmp, "w") as f:
            f.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_round_trips_and_missing_folders(tmp_path):
    write_json_atomic({"b": 1, "a": [1, 2]}, tmp_path / "x" / "r.json")
    assert json.loads((tmp_path / "x" / "r.json").read_text()) == {"a": [1, 2], "b": 1}
    save_atomic({"w": torch.arange(3.0)}, tmp_path / "y" / "c.pt")
    assert torch.equal(torch.load(tmp_path / "y" / "c.pt", weights_only=True)["w"], torch.arange(3.0))


def test_a_missing_optional_dependency_names_its_extra():
    require("torch", extra="study", feature="anything")
    with pytest.raises(ImportError, match=r"no_such_package_xyz.*pip install 'symmetries\[study\]'"):
        require("torch", "no_such_package_xyz", extra="study", feature="this feature")
