"""Studies over several processes: torchrun with gloo on the CPU, and local workers."""

import os
import subprocess
import sys

import pytest

import tiny  # noqa: F401  (registers "tiny-o3")
from symmetries.studies._distributed import run_workers
from symmetries.studies._study import load_results, run_study

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", "..", "src"))
MEASURED = ("metric", "equivariance_max_rel", "train_loss")
STUDY = dict(sizes=(16,), methods=("plain", "equivariant"), seeds=(0, 1))


def torchrun(*args, timeout=300):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "symmetries.cli", "study", "tiny-o3", "--import", "tiny", "--no-progress", *args]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, HERE]), OMP_NUM_THREADS="1")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def key(rows):
    return {(r["method"], r["size"], r["seed"]): tuple(r[k] for k in MEASURED) for r in rows}


@pytest.mark.slow
def test_torchrun_spreads_runs_over_ranks_with_the_same_results(tmp_path):
    reference = run_study("tiny-o3", out=str(tmp_path / "ref"), progress=False, **STUDY)
    out = tmp_path / "dist"
    stdout = torchrun("--sizes", "16", "--methods", "plain,equivariant", "--seeds", "0,1", "--out", str(out))
    assert stdout.count("n=16") == 1  # only rank 0 prints the table
    assert key(load_results(str(out))) == key(reference)
    assert (out / "report.html").exists()


@pytest.mark.slow
def test_ddp_trains_one_run_over_two_ranks_like_one_process(tmp_path):
    reference = run_study("tiny-o3", out=str(tmp_path / "ref"), progress=False, sizes=(16,), methods=("augment",),
                          seeds=(0,))
    out = tmp_path / "ddp"
    torchrun("--ddp", "--sizes", "16", "--methods", "augment", "--seeds", "0", "--out", str(out))
    (row,) = load_results(str(out))
    (ref,) = reference
    assert row["steps"] == ref["steps"]
    # each rank sees half of every batch; all-reduced gradients equal the whole batch's up to rounding
    assert abs(row["metric"] - ref["metric"]) <= 1e-3 * abs(ref["metric"])
    assert abs(row["train_loss"] - ref["train_loss"]) <= 1e-3 * abs(ref["train_loss"])


@pytest.mark.slow
def test_local_workers(tmp_path):
    reference = run_study("tiny-o3", out=str(tmp_path / "ref"), progress=False, **STUDY)
    out = str(tmp_path / "workers")
    run_workers(2, dict(task="tiny-o3", out=out, progress=False, **STUDY), imports=("tiny",))
    assert key(load_results(out)) == key(reference)
