import json
import os
import subprocess
import sys


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
