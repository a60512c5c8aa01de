import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

import tiny  # noqa: F401  (registers the test task "tiny-o3")
from symmetries.studies import get_task
from symmetries.studies._study import STUDY_FORMAT, StudyFolderError, load_results, plan, run_study
from symmetries.studies._train import train_run

HERE = os.path.dirname(__file__)
SRC = os.path.join(HERE, "..", "..", "src")
MEASURED = ("metric", "equivariance_max_rel", "equivariance_mean_rel", "train_loss")


def small(out, **kw):
    args = dict(sizes=(16,), methods=("plain", "equivariant"), seeds=(0, 1), out=str(out), progress=False)
    args.update(kw)
    return run_study("tiny-o3", **args)


def measured(rows):
    return [(r["method"], r["size"], r["seed"]) + tuple(r[k] for k in MEASURED) for r in rows]


def test_study_writes_results_plots_and_report(tmp_path):
    rows = small(tmp_path)
    assert [(r["method"], r["seed"]) for r in rows] == [("plain", 0), ("plain", 1), ("equivariant", 0),
                                                        ("equivariant", 1)]
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 4 and float(table[0]["metric"]) == rows[0]["metric"]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["format"] == STUDY_FORMAT and saved["task"]["task"] == "tiny-o3" and len(saved["summary"]) == 2
    for png in ("learning_curves.png", "equivariance.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "tiny-o3" in html and "<table>" in html
    assert "n = 16: <b>equivariant</b> is best" in html
    by = {r["method"]: r for r in rows}
    assert by["equivariant"]["equivariance_max_rel"] < 1e-5  # hard-wired invariance, float32
    assert by["plain"]["equivariance_max_rel"] > 1e-2
    snap = torch.load(tmp_path / "checkpoints" / "plain-n16-s0.pt", weights_only=True)
    assert snap["step"] == rows[0]["steps"] == 40 and "optimizer" in snap and "torch_rng" in snap


def test_same_seed_same_results(tmp_path):
    a, b = small(tmp_path / "a", seeds=(3,)), small(tmp_path / "b", seeds=(3,))
    assert measured(a) == measured(b)


def test_finished_runs_are_skipped_and_new_ones_added(tmp_path, monkeypatch):
    first = small(tmp_path, seeds=(0,))
    import symmetries.studies._study as study

    def fail(*args, **kw):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(study, "train_run", fail)
    assert measured(small(tmp_path, seeds=(0,))) == measured(first)
    monkeypatch.undo()
    both = small(tmp_path, seeds=(0, 1))
    assert len(both) == 4 and measured([r for r in both if r["seed"] == 0]) == measured(first)


def test_refuses_a_folder_of_another_version(tmp_path):
    small(tmp_path, seeds=(0,), methods=("plain",))
    manifest = json.loads((tmp_path / "study.json").read_text())
    manifest["format"] = STUDY_FORMAT + 1
    (tmp_path / "study.json").write_text(json.dumps(manifest))
    with pytest.raises(StudyFolderError, match=f"study format {STUDY_FORMAT + 1}.*use another --out"):
        small(tmp_path, seeds=(0,), methods=("plain",))


def test_refuses_a_folder_of_another_task_configuration(tmp_path):
    small(tmp_path, seeds=(0,), methods=("plain",))
    with pytest.raises(StudyFolderError, match="steps: folder has 40, now 20"):
        small(tmp_path, seeds=(0,), methods=("plain",), steps=20)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "study.json").write_text("{not json")
    with pytest.raises(StudyFolderError, match="unreadable"):
        small(tmp_path / "other")


def test_unknown_names_list_what_exists():
    with pytest.raises(KeyError, match="unknown task 'nope'; registered tasks: .*o5-invariant.*tiny-o3"):
        run_study("nope")
    task = get_task("tiny-o3")
    with pytest.raises(ValueError, match="unknown method 'fancy'; methods are: plain, augment, average"):
        plan(task, methods=("fancy",))
    with pytest.raises(ValueError, match="does not support method 'canonicalize'; it supports: plain, augment"):
        plan(get_task("lorentz-scattering"), methods=("canonicalize",))
    with pytest.raises(TypeError, match="no config fields \\['stepz'\\]"):
        get_task("tiny-o3", stepz=3)
    with pytest.raises(ValueError, match="sizes must be positive"):
        plan(task, sizes=(0,))


class Interrupt(Exception):
    pass


def test_train_run_resumes_from_its_checkpoint_bit_for_bit(tmp_path):
    task = get_task("tiny-o3")
    reference = train_run(task, "augment", 16, 0)
    calls = {"n": 0}

    class Stopping(type(task)):
        def loss(self, pred, target):
            calls["n"] += 1
            if calls["n"] == 27:
                raise Interrupt
            return super().loss(pred, target)

    ckpt = str(tmp_path / "run.pt")
    with pytest.raises(Interrupt):
        train_run(Stopping(), "augment", 16, 0, checkpoint=ckpt, checkpoint_every=5)
    assert torch.load(ckpt, weights_only=True)["step"] == 25
    resumed = train_run(task, "augment", 16, 0, checkpoint=ckpt)
    assert [resumed[k] for k in MEASURED] == [reference[k] for k in MEASURED]


def test_killed_study_resumes_with_the_same_results(tmp_path):
    args = dict(sizes=(16,), methods=("plain", "soft"), seeds=(0, 1), progress=False, checkpoint_every=4)
    reference = run_study("tiny-o3", out=str(tmp_path / "ref"), **args)
    out = tmp_path / "killed"
    script = (f"import sys; sys.path[:0] = [{HERE!r}, {SRC!r}]; import tiny\n"
              f"from symmetries.studies._study import run_study\n"
              f"run_study('tiny-o3', out={str(out)!r}, **{args!r})\n")
    env = dict(os.environ, TINY_TASK_SLOW="0.02")
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:  # kill inside the second run, after a checkpoint
            if (out / "runs" / "plain-n16-s0.json").exists() and (out / "checkpoints" / "plain-n16-s1.pt").exists():
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the study ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(load_results(str(out))) < 4
    snap = torch.load(out / "checkpoints" / "plain-n16-s1.pt", weights_only=True)
    assert 0 < snap["step"] < 40
    resumed = run_study("tiny-o3", out=str(out), **args)
    assert measured(resumed) == measured(reference)
