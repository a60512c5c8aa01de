"""Bad data and diverging runs: a clear error for data that are not finite, a status for a run
whose loss stops being finite, and a report of whatever finished."""

import csv
import json
import math

import pytest
import torch

import tiny  # registers the test task "tiny-o3"
from symmetries.studies import check_data, format_table, get_task, load_results, run_study, summarize, train_run
from symmetries.studies._plots import equivariance_errors, learning_curves

NAN, INF = float("nan"), float("inf")


class NonFiniteInputs(tiny.TinyInvariant):
    """tiny-o3 with NaN and infinity in training rows 4, 17 and 90."""

    def make_data(self, n_train, seed):
        (x, y), test = super().make_data(n_train, seed)
        x = x.clone()
        x[4, 0], x[17, 2], x[17, 3], x[90, 5] = NAN, INF, NAN, -INF
        return (x, y), test


class DivergesAt(tiny.TinyInvariant):
    """tiny-o3 whose loss becomes NaN at optimizer step ``at`` of every run (``at=1``: at once)."""

    at = 12

    def make_model(self):
        self.calls = 0
        return super().make_model()

    def make_equivariant_model(self):
        self.calls = 0
        return super().make_equivariant_model()

    def loss(self, pred, target):
        self.calls += 1
        loss = super().loss(pred, target)
        return loss * NAN if self.calls >= self.at else loss


def strict_json(text):
    def refuse(name):
        raise AssertionError(f"results.json holds {name}, which is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_data_are_named_with_their_rows():
    with pytest.raises(ValueError, match=r"task 'tiny-o3': make_data\(100, seed=0\) returned training inputs "
                                         r"with 4 non-finite values in 3 rows \[4, 17, 90\]"):
        train_run(NonFiniteInputs(), "plain", 100, 0)
    task = get_task("tiny-o3")
    x, y = torch.zeros(3, 2), torch.zeros(3, 1)
    bad_y = torch.tensor([[0.0], [NAN], [1.0]])
    with pytest.raises(ValueError, match=r"returned test targets with 1 non-finite value in 1 row \[1\]"):
        check_data(task, ((x, y), (x, bad_y)), 3, 0)
    cloud = {"pos": torch.zeros(3, 4, 3), "charge": torch.zeros(3, 4, 1)}
    cloud["charge"][2, 1, 0] = INF
    with pytest.raises(ValueError, match=r"training inputs\['charge'\] with 1 non-finite value in 1 row \[2\]"):
        check_data(task, ((cloud, y), (x, y)), 3, 0)
    many = torch.full((30, 2), NAN)
    with pytest.raises(ValueError, match=r"60 non-finite values in 30 rows \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, \.\.\.\]"):
        check_data(task, ((many, torch.zeros(30, 1)), (x, y)), 30, 0)
    labels = torch.tensor([1, 2, 3])  # integer targets are always finite
    check_data(task, ((x, labels), (x, labels)), 3, 0)


def test_data_of_the_wrong_layout_or_size_are_refused():
    task = get_task("tiny-o3")
    x, y = torch.zeros(3, 2), torch.zeros(3, 1)
    with pytest.raises(ValueError, match=r"returned a tuple; expected \(\(x_train, y_train\), \(x_test, y_test\)\)"):
        check_data(task, (x, y), 3, 0)
    with pytest.raises(ValueError, match="returned 3 training samples, asked for 4"):
        check_data(task, ((x, y), (x, y)), 4, 0)
    with pytest.raises(ValueError, match="returned 3 test inputs but 2 test targets"):
        check_data(task, ((x, y), (x, y[:2])), 3, 0)
    with pytest.raises(ValueError, match="returned training targets of type str"):
        check_data(task, ((x, "y"), (x, y)), 3, 0)


def test_a_run_whose_loss_becomes_nan_stops_with_a_status():
    row = train_run(DivergesAt(), "plain", 16, 0)
    assert row["status"] == "diverged: loss nan at step 12"
    assert row["steps"] == 11 and math.isfinite(row["train_loss"])
    assert row["metric"] is None and row["equivariance_verdict"] is None  # no symmetry verdict on a NaN model
    ok = train_run(get_task("tiny-o3"), "plain", 16, 0)
    assert ok["status"] == "ok" and ok["steps"] == 40 and ok["equivariance_verdict"] == "absent"


def test_a_run_whose_metric_is_not_finite_fails_with_a_status():
    class InfiniteMetric(tiny.TinyInvariant):
        def metric(self, pred, target):
            return INF

    row = train_run(InfiniteMetric(), "equivariant", 16, 0)
    assert row["status"] == "failed: test metric inf" and row["metric"] is None


def test_study_with_diverged_runs_reports_the_others(tmp_path):
    class PlainDiverges(DivergesAt):
        def make_equivariant_model(self):
            self.calls = -10 ** 9  # the equivariant runs never reach the step
            return tiny.GramMLP(self.hidden)

    rows = run_study(PlainDiverges(), sizes=(16, 32), methods=("plain", "equivariant"), seeds=(0, 1),
                     out=str(tmp_path), progress=False)
    assert {r["status"] for r in rows if r["method"] == "plain"} == {"diverged: loss nan at step 12"}
    assert {r["status"] for r in rows if r["method"] == "equivariant"} == {"ok"}
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert [t["status"] for t in table].count("diverged: loss nan at step 12") == 4
    assert all(t["metric"] == "" for t in table if t["method"] == "plain")
    saved = strict_json((tmp_path / "results.json").read_text())
    plain = [s for s in saved["summary"] if s["method"] == "plain"]
    assert all(s["metric_mean"] is None and s["failed"] == 2 and s["seeds"] == 0 for s in plain)
    for png in ("learning_curves.png", "equivariance.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "report.html").read_text()
    assert "4 of 8 runs did not finish" in html and "plain n=16 seed=0: diverged: loss nan at step 12" in html
    assert "n = 16: <b>equivariant</b> is best" in html
    text = format_table(rows, "test MSE")
    assert "4 of 8 runs did not finish" in text and "plain n=32 seed=1: diverged: loss nan at step 12" in text
    assert text.splitlines()[2].split()[:3] == ["plain", "failed", "failed"]


def test_study_where_every_run_diverges_still_writes_a_report_saying_so(tmp_path):
    class AtOnce(DivergesAt):
        at = 1

    (tmp_path / "learning_curves.png").write_bytes(b"stale")  # a plot of earlier runs would mislead
    rows = run_study(AtOnce(), sizes=(16,), methods=("plain", "equivariant"), seeds=(0,), out=str(tmp_path),
                     progress=False)
    assert [r["status"] for r in rows] == ["diverged: loss nan at step 1"] * 2
    assert all(r["train_loss"] is None and r["steps"] == 0 for r in rows)
    html = (tmp_path / "report.html").read_text()
    assert "No run finished: all 2 runs diverged or failed" in html and "data:image/png" not in html
    assert not (tmp_path / "learning_curves.png").exists() and not (tmp_path / "equivariance.png").exists()
    assert len(strict_json((tmp_path / "results.json").read_text())["runs"]) == 2


def test_plots_skip_runs_without_a_finite_metric(tmp_path):
    ok = {"method": "plain", "size": 16, "seed": 0, "status": "ok", "metric": 0.5, "equivariance_max_rel": 0.3}
    bad = {"method": "plain", "size": 32, "seed": 0, "status": "diverged: loss nan at step 3", "metric": None,
           "equivariance_max_rel": None}
    old = {"method": "augment", "size": 16, "seed": 0, "metric": NAN, "equivariance_max_rel": NAN}
    assert learning_curves([ok, bad, old], str(tmp_path / "a.png"))  # once: log scale of NaN only
    assert equivariance_errors([ok, bad, old], str(tmp_path / "b.png"))
    assert not learning_curves([bad, old], str(tmp_path / "c.png")) and not (tmp_path / "c.png").exists()
    assert not equivariance_errors([bad], str(tmp_path / "d.png"))


def test_one_seed_shows_no_spread():
    rows = [{"method": "plain", "size": 16, "seed": 0, "status": "ok", "metric": 0.25, "equivariance_max_rel": 0.5}]
    (s,) = summarize(rows)
    assert s["metric_std"] is None and s["metric_mean"] == 0.25 and s["seeds"] == 1
    text = format_table(rows, "test MSE")
    assert "±" not in text and text.splitlines()[0].startswith("test MSE ")
    two = rows + [dict(rows[0], seed=1, metric=0.75)]
    assert summarize(two)[0]["metric_std"] == pytest.approx(math.sqrt(0.125))
    assert "0.5 ± 0.35" in format_table(two) and "(mean ± std over seeds)" in format_table(two)


def test_results_folders_from_before_run_status_load_and_resume(tmp_path):
    rows = run_study("tiny-o3", sizes=(16,), methods=("plain", "equivariant"), seeds=(0,), out=str(tmp_path),
                     progress=False)
    for path in (tmp_path / "runs").glob("*.json"):  # as the previous version wrote them
        row = json.loads(path.read_text())
        del row["status"]
        path.write_text(json.dumps(row))
    nan_run = dict(rows[0], seed=1, metric=NAN, equivariance_max_rel=NAN, equivariance_verdict="absent")
    del nan_run["status"]
    (tmp_path / "runs" / "plain-n16-s1.json").write_text(json.dumps(nan_run))  # the old NaN run: "absent"
    loaded = {(r["method"], r["seed"]): r for r in load_results(str(tmp_path))}
    assert loaded["plain", 0]["status"] == "ok" and loaded["plain", 0]["metric"] == rows[0]["metric"]
    assert loaded["plain", 1]["status"] == "failed: test metric nan"
    assert loaded["plain", 1]["metric"] is None and loaded["plain", 1]["equivariance_verdict"] is None
    again = run_study("tiny-o3", sizes=(16,), methods=("plain", "equivariant"), seeds=(0, 1), out=str(tmp_path),
                      progress=False)
    assert len(again) == 4 and [r["status"] for r in again].count("ok") == 3
    assert "1 of 4 runs did not finish" in (tmp_path / "report.html").read_text()
