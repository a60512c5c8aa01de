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
from symmetries.studies._summary import summarize
from symmetries.studies._task import METHOD_DESCRIPTIONS

COLUMNS = ["task", "method", "size", "seed", "metric", "metric_name", "equivariance_max_rel",
           "equivariance_mean_rel", "equivariance_verdict", "train_loss", "steps", "seconds", "n_params", "device"]


def write_report(out: str, task, rows: list[dict]) -> str:
    """Write ``results.csv``, ``results.json``, ``learning_curves.png``, ``equivariance.png``
    and ``report.html`` (images embedded) to ``out``; return the report's path."""
    with atomic_path(os.path.join(out, "results.csv")) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    write_json_atomic({"format": STUDY_FORMAT, "task": task.config(), "runs": rows, "summary": summarize(rows)},
                      os.path.join(out, "results.json"))
    if not rows:
        return ""
    curves, equiv = os.path.join(out, "learning_curves.png"), os.path.join(out, "equivariance.png")
    learning_curves(rows, curves, f"{task.name}: {task.metric_name} vs training-set size", task.metric_name)
    equivariance_errors(rows, equiv, f"{task.name}: equivariance error of the trained models")
    path = os.path.join(out, "report.html")
    write_text_atomic(_html(task, rows, curves, equiv), path)
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
    best = {n: min((s["metric_mean"] for s in summary if s["size"] == n), default=None) for n in sizes}
    head = "".join(f"<th>n = {n}</th>" for n in sizes)
    lines = [f"<tr><th>method</th>{head}<th>equivariance error (max)</th></tr>"]
    for m in methods:
        tds = []
        for n in sizes:
            s = cell.get((m, n))
            if s is None:
                tds.append("<td>-</td>")
                continue
            cls = ' class="best"' if s["metric_mean"] == best[n] else ""
            tds.append(f"<td{cls}>{s['metric_mean']:.3g} <small>± {s['metric_std']:.2g}</small></td>")
        eq = max(cell[(m, n)]["equivariance_max"] for n in sizes if (m, n) in cell)
        desc = html.escape(METHOD_DESCRIPTIONS.get(m, ""))
        lines.append(f'<tr><td title="{desc}"><b>{html.escape(m)}</b></td>{"".join(tds)}<td>{eq:.2g}</td></tr>')
    return "<table>" + "".join(lines) + "</table>"


def _findings(rows) -> str:
    """One sentence per size: the best method, and how it compares with the plain model."""
    summary = summarize(rows)
    items = []
    for n in sorted({s["size"] for s in summary}):
        at = {s["method"]: s["metric_mean"] for s in summary if s["size"] == n}
        best = min(at, key=at.get)
        text = f"n = {n}: <b>{html.escape(best)}</b> is best"
        if "plain" in at and best != "plain" and at[best] > 0:
            text += f", {at['plain'] / at[best]:.3g}x lower than plain"
        items.append(f"<li>{text}</li>")
    return f"<ul class='findings'>{''.join(items)}</ul>"


def _runs_table(rows) -> str:
    cols = ["method", "size", "seed", "metric", "equivariance_max_rel", "equivariance_verdict", "train_loss",
            "steps", "seconds"]
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in cols)
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))  # noqa: E731
    body = "".join("<tr>" + "".join(f"<td>{fmt(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table class='runs'><tr>{head}</tr>{body}</table>"


def _html(task, rows, curves, equiv) -> str:
    config = html.escape(json.dumps(task.config(), indent=1))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    legend = "".join(f"<li><b>{html.escape(m)}</b>: {html.escape(METHOD_DESCRIPTIONS.get(m, ''))}</li>"
                     for m in methods)
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
table.runs {{ font-size: 0.8em; }} img {{ max-width: 100%; border: 1px solid #eee; margin: 0.4em 0; }}
pre {{ background: #f7f7f7; padding: 0.6em; font-size: 0.8em; overflow-x: auto; }}
.sub {{ color: #555; }}
</style></head><body>
<h1>Does the symmetry pay? <span class="sub">task <code>{html.escape(task.name)}</code></span></h1>
<p class="sub">{html.escape(task.description)}. {len(rows)} runs; metric: {html.escape(task.metric_name)}
(lower is better), mean ± standard deviation over seeds; best per size highlighted.</p>
<h2>Summary</h2>
{_findings(rows)}
{_summary_table(task, rows)}
<ul>{legend}</ul>
<h2>Learning curves</h2>
{_img(curves, "learning curves")}
<h2>Equivariance of the trained models</h2>
<p>Largest relative error of f(g·x) against g·f(x) over {task.equivariance_samples} group elements
(all of them for a small finite group) on test inputs, measured by <code>symmetries.check_equivariance</code>.</p>
{_img(equiv, "equivariance error per method")}
<h2>All runs</h2>
{_runs_table(rows)}
<h2>Task configuration</h2>
<pre>{config}</pre>
</body></html>
"""
