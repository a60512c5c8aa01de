"""Write a study's results: CSV, JSON, plots and a self-contained HTML report."""

from __future__ import annotations

import base64
import csv
import html
import json
import os

from symmetries.studies._plots import equivariance_errors, learning_curves
from symmetries._internal.atomic import atomic_path, write_json_atomic, write_text_atomic
from symmetries.studies._study import STUDY_FORMAT
from symmetries.studies._summary import failures, finished, metric_cell, spread_label, summarize
from symmetries.studies._task import METHOD_DESCRIPTIONS

COLUMNS = ["task", "method", "size", "seed", "status", "metric", "metric_name", "equivariance_max_rel",
           "equivariance_mean_rel", "equivariance_verdict", "train_loss", "steps", "seconds", "n_params", "device"]


def write_report(out: str, task, rows: list[dict]) -> str:
    """Write a study's results and report to ``out``.

    ``results.csv`` and ``results.json`` hold every run with its ``status``; the plots
    ``learning_curves.png`` and ``equivariance.png`` and the summary show the runs that
    finished, and ``report.html`` (images embedded) lists the ones that diverged or failed.
    A study where no run finished still gets a report saying so, without plots.

    Args:
        out: the results folder.
        task: the :class:`~symmetries.studies.Task` of the runs.
        rows: the runs, as :func:`~symmetries.studies.load_results` returns them.

    Returns:
        The path of ``report.html`` (``""`` when there are no runs at all).
    """
    with atomic_path(os.path.join(out, "results.csv")) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    write_json_atomic({"format": STUDY_FORMAT, "task": task.config(), "runs": rows, "summary": summarize(rows)},
                      os.path.join(out, "results.json"))
    if not rows:
        return ""
    curves, equiv = os.path.join(out, "learning_curves.png"), os.path.join(out, "equivariance.png")
    drawn = {curves: learning_curves(rows, curves, f"{task.name}: {task.metric_name} vs training-set size",
                                     task.metric_name),
             equiv: equivariance_errors(rows, equiv, f"{task.name}: equivariance error of the trained models")}
    for png, written in drawn.items():
        if not written and os.path.exists(png):  # a plot of earlier runs would contradict this report
            os.remove(png)
    path = os.path.join(out, "report.html")
    write_text_atomic(_html(task, rows, curves if drawn[curves] else None, equiv if drawn[equiv] else None), path)
    return path


def _img(path: str, alt: str) -> str:
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _summary_table(task, rows) -> str:
    summary = summarize(rows)
    sizes = sorted({s["size"] for s in summary})
    methods = list(dict.fromkeys(s["method"] for s in summary))
    cell = {(s["method"], s["size"]): s for s in summary}
    best = {n: min((s["metric_mean"] for s in summary if s["size"] == n and s["metric_mean"] is not None),
                   default=None) for n in sizes}
    head = "".join(f"<th>n = {n}</th>" for n in sizes)
    lines = [f"<tr><th>method</th>{head}<th>equivariance error (max)</th></tr>"]
    for m in methods:
        tds = []
        for n in sizes:
            s = cell.get((m, n))
            if s is None:
                tds.append("<td>-</td>")
                continue
            cls = ' class="best"' if s["metric_mean"] is not None and s["metric_mean"] == best[n] else ""
            cls = ' class="failed"' if s["metric_mean"] is None else cls
            value, _, rest = metric_cell(s).partition(" ")
            tds.append(f"<td{cls}>{html.escape(value)}" + (f" <small>{html.escape(rest)}</small>" if rest else "")
                       + "</td>")
        errors = [cell[(m, n)]["equivariance_max"] for n in sizes if (m, n) in cell]
        errors = [e for e in errors if e is not None]
        eq = f"{max(errors):.2g}" if errors else "-"
        desc = html.escape(METHOD_DESCRIPTIONS.get(m, ""))
        lines.append(f'<tr><td title="{desc}"><b>{html.escape(m)}</b></td>{"".join(tds)}<td>{eq}</td></tr>')
    return "<table>" + "".join(lines) + "</table>"


def _findings(rows) -> str:
    """One sentence per size: the best method, and how it compares with the plain model."""
    summary = [s for s in summarize(rows) if s["metric_mean"] is not None]
    items = []
    for n in sorted({s["size"] for s in summary}):
        at = {s["method"]: s["metric_mean"] for s in summary if s["size"] == n}
        best = min(at, key=at.get)
        text = f"n = {n}: <b>{html.escape(best)}</b> is best"
        if "plain" in at and best != "plain" and at[best] > 0:
            text += f", {at['plain'] / at[best]:.3g}x lower than plain"
        items.append(f"<li>{text}</li>")
    return f"<ul class='findings'>{''.join(items)}</ul>" if items else ""


def _runs_table(rows) -> str:
    cols = ["method", "size", "seed", "status", "metric", "equivariance_max_rel", "equivariance_verdict",
            "train_loss", "steps", "seconds"]
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in cols)
    fmt = lambda v: "-" if v is None else f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))  # noqa: E731
    row = lambda r: "".join(f"<td>{fmt(r.get(c))}</td>" for c in cols)  # noqa: E731
    body = "".join(("<tr>" if finished(r) else '<tr class="failed">') + row(r) + "</tr>" for r in rows)
    return f"<table class='runs'><tr>{head}</tr>{body}</table>"


def _status_note(rows) -> str:
    """A paragraph on the runs that did not finish (none: empty)."""
    failed = failures(rows)
    if not failed:
        return ""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in failed)
    if len(failed) == len(rows):
        head = (f"No run finished: all {len(rows)} runs diverged or failed, so there is nothing to compare or "
                "plot. Their status (below) says where they stopped; a loss that becomes NaN or infinite usually "
                "means a learning rate too large for the scale of the data, or data that are not finite.")
    else:
        head = (f"{len(failed)} of {len(rows)} runs did not finish; the summary and the plots show the other "
                f"{len(rows) - len(failed)}.")
    return f"<div class='failed'><p>{html.escape(head)}</p><ul>{items}</ul></div>"


def _figure(path, alt) -> str:
    return _img(path, alt) if path else "<p class='sub'>(no finished run to plot)</p>"


def _html(task, rows, curves, equiv) -> str:
    config = html.escape(json.dumps(task.config(), indent=1))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    legend = "".join(f"<li><b>{html.escape(m)}</b>: {html.escape(METHOD_DESCRIPTIONS.get(m, ''))}</li>"
                     for m in methods)
    spread = spread_label(summarize(rows))
    aggregate = f", {spread.replace('std', 'standard deviation')}" if spread else ""
    done = sum(finished(r) for r in rows)
    how = f"{aggregate}; best per size highlighted" if done else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>symmetries study: {html.escape(task.name)}</title>
<style>
body {{ font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 980px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.6em; margin-bottom: 0.2em; }} h2 {{ font-size: 1.2em; margin-top: 1.6em; }}
table {{ border-collapse: collapse; margin: 0.6em 0; font-size: 0.95em; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }}
th {{ background: #f2f2f2; }} td:first-child {{ text-align: left; }}
td.best {{ background: #e3f4e3; font-weight: 600; }} small {{ color: #666; }}
td.failed, tr.failed td {{ background: #fbe9e9; }} div.failed {{ border-left: 4px solid #c33; padding: 0 1em; }}
table.runs {{ font-size: 0.8em; }} img {{ max-width: 100%; border: 1px solid #eee; margin: 0.4em 0; }}
pre {{ background: #f7f7f7; padding: 0.6em; font-size: 0.8em; overflow-x: auto; }}
.sub {{ color: #555; }}
</style></head><body>
<h1>Does the symmetry pay? <span class="sub">task <code>{html.escape(task.name)}</code></span></h1>
<p class="sub">{html.escape(task.description)}. {len(rows)} runs, {done} finished; metric:
{html.escape(task.metric_name)} (lower is better){how}.</p>
{_status_note(rows)}
<h2>Summary</h2>
{_findings(rows)}
{_summary_table(task, rows)}
<ul>{legend}</ul>
<h2>Learning curves</h2>
{_figure(curves, "learning curves")}
<h2>Equivariance of the trained models</h2>
<p>Largest relative error of f(g·x) against g·f(x) over {task.equivariance_samples} group elements
(all of them for a small finite group) on test inputs, measured by <code>symmetries.check_equivariance</code>.</p>
{_figure(equiv, "equivariance error per method")}
<h2>All runs</h2>
{_runs_table(rows)}
<h2>Task configuration</h2>
<pre>{config}</pre>
</body></html>
"""
