import json
import os
import subprocess
import sys

import pytest

from symmetries.cli import DEFAULT_STUDY, main

HERE = os.path.dirname(__file__)
SRC = os.path.join(HERE, "..", "src")
sys.path.insert(0, os.path.join(HERE, "studies"))
import tiny  # noqa: E402,F401  (registers the test task "tiny-o3")


def test_help_does_not_load_the_study_machinery():
    code = ("import sys\nfrom symmetries.cli import main\n"
            "try:\n    main(['study', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('symmetries.studies', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=SRC), capture_output=True,
                         text=True, timeout=120)
    assert "--sizes" in out.stdout and out.stdout.strip().endswith("[]"), out.stdout + out.stderr


def test_list_prints_one_task_per_line_starting_with_its_name(capsys):
    assert main(["study", "--list"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    names = [line.split()[0] for line in lines]
    assert {"o5-invariant", "o3-inertia", "lorentz-scattering", "tiny-o3"} <= set(names)
    assert len(names) == len(set(names))
    assert any(line.startswith("tiny-o3") and "O(3)-invariant" in line for line in lines)


def test_unknown_task_lists_the_registered_ones(capsys):
    assert main(["study", "nope", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'nope'" in err and "o5-invariant" in err and "tiny-o3" in err
    assert not os.path.exists("unused")


def test_unknown_method_lists_the_methods(capsys, tmp_path):
    assert main(["study", "tiny-o3", "--methods", "plain,magic", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'magic'" in err and "plain, augment, average, canonicalize, soft, equivariant" in err
    assert not (tmp_path / "x").exists()


def test_bad_settings(capsys, tmp_path):
    assert main(["study", "tiny-o3", "--set", "colour=red", "--out", str(tmp_path)]) == 2
    assert "no field 'colour'" in capsys.readouterr().err
    assert main(["study", "tiny-o3", "--set", "steps=many", "--out", str(tmp_path)]) == 2
    assert "cannot read steps='many' as int" in capsys.readouterr().err


def test_study_end_to_end_and_folder_of_another_version_refused(capsys, tmp_path):
    out = tmp_path / "run"
    argv = ["study", "tiny-o3", "--sizes", "16", "--methods", "plain,average", "--seeds", "0,1", "--out", str(out),
            "--no-progress"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "plain" in table and "average" in table and "n=16" in table and "report.html" in table
    assert len(json.loads((out / "results.json").read_text())["runs"]) == 4
    manifest = json.loads((out / "study.json").read_text())
    manifest["format"] = 0
    (out / "study.json").write_text(json.dumps(manifest))
    assert main(argv) == 2
    assert "written by study format 0" in capsys.readouterr().err


def test_default_study_preset_is_valid():
    from symmetries.studies import get_task
    from symmetries.studies._study import plan

    task = get_task(DEFAULT_STUDY["task"], **DEFAULT_STUDY["config"])
    jobs = plan(task, DEFAULT_STUDY["sizes"], DEFAULT_STUDY["methods"], DEFAULT_STUDY["seeds"])
    assert {j.method for j in jobs} >= {"plain", "augment", "equivariant"} and len({j.seed for j in jobs}) >= 2


def test_default_run_end_to_end(tmp_path):
    """`symmetries study` with no task (a smaller size list): the symmetric models win at 30 samples."""
    out = tmp_path / "default"
    assert main(["study", "--sizes", "30", "--seeds", "0", "--out", str(out), "--no-progress"]) == 0
    runs = {r["method"]: r for r in json.loads((out / "results.json").read_text())["runs"]}
    assert set(runs) == set(DEFAULT_STUDY["methods"])
    assert runs["equivariant"]["metric"] < runs["plain"]["metric"] / 10
    assert runs["equivariant"]["equivariance_max_rel"] < 1e-4 < 1e-2 < runs["plain"]["equivariance_max_rel"]


TASK_MODULE = '''
from dataclasses import dataclass
from typing import ClassVar

import tiny
from symmetries.studies import register_task


@register_task
@dataclass
class {cls}(tiny.TinyInvariant):
    name: ClassVar[str] = "{name}"
    description: ClassVar[str] = "a user's task from {name}.py"
'''


@pytest.fixture
def user_folder(tmp_path, monkeypatch):
    """An empty current folder that is not on sys.path (as for the installed ``symmetries``
    command); the registry and sys.modules are restored afterwards."""
    from symmetries.studies import unregister_task

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    before = set(sys.modules)
    yield tmp_path
    for name in ("user-here", "user-file"):
        unregister_task(name)
    for name in set(sys.modules) - before:
        del sys.modules[name]


def test_import_finds_a_module_in_the_current_folder_or_a_py_file(user_folder, capsys):
    (user_folder / "user_here.py").write_text(TASK_MODULE.format(cls="Here", name="user-here"))
    (user_folder / "sub").mkdir()
    (user_folder / "sub" / "user_file.py").write_text(TASK_MODULE.format(cls="File", name="user-file"))
    assert main(["study", "--import", "user_here", "--import", os.path.join("sub", "user_file.py"), "--list"]) == 0
    names = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert "user-here" in names and "user-file" in names


def test_import_failures_are_one_line(user_folder, capsys):
    (user_folder / "broken.py").write_text("import torch\nx = 1\nundefined_name + x\n")
    for source, expected in [
        ("no_such_tasks", "cannot import 'no_such_tasks': no module named 'no_such_tasks' in the current folder"),
        ("missing.py", "cannot import 'missing.py': expected a module name or a path to a .py file"),
        ("broken", "cannot import 'broken': NameError: name 'undefined_name' is not defined (broken.py, line 3)"),
        ("broken.py", "cannot import 'broken.py': NameError: name 'undefined_name' is not defined (broken.py, line 3)"),
    ]:
        assert main(["study", "tiny-o3", "--import", source, "--out", "unused"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"symmetries study: error: {expected}") and err.count("\n") == 1, err
    assert not (user_folder / "unused").exists()


def test_unavailable_device_is_one_line_before_any_work(capsys, tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "x"
    assert main(["study", "tiny-o3", "--device", "cuda", "--sizes", "16", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symmetries study: error: device 'cuda' is not available: ") and err.count("\n") == 1, err
    assert not out.exists()
    assert main(["study", "tiny-o3", "--device", "gpu", "--out", str(out)]) == 2
    assert "device 'gpu' is not a torch device; expected e.g. 'cpu', 'cuda'" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert main(["study", "tiny-o3", "--device", "cuda:2", "--out", str(out)]) == 2
    assert "this machine has 2 CUDA devices (cuda:0 to cuda:1)" in capsys.readouterr().err


def test_unknown_names_suggest_the_closest(capsys):
    assert main(["study", "o5-invarient"]) == 2
    assert "unknown task 'o5-invarient' (did you mean 'o5-invariant'?)" in capsys.readouterr().err
    assert main(["study", "tiny-o3", "--methods", "equivariamt"]) == 2
    assert "unknown method 'equivariamt' (did you mean 'equivariant'?)" in capsys.readouterr().err


def test_one_seed_table_shows_no_spread(capsys, tmp_path):
    argv = ["study", "tiny-o3", "--sizes", "16", "--methods", "plain", "--out", str(tmp_path), "--no-progress"]
    assert main(argv + ["--seeds", "0"]) == 0
    table = capsys.readouterr().out
    assert "n=16" in table and "±" not in table
    assert main(argv + ["--seeds", "0,1"]) == 0
    assert "±" in capsys.readouterr().out
