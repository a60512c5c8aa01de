"""Aggregate study runs over seeds, and print them as a table."""

from __future__ import annotations

import math

from symmetries.studies._task import METHODS


def finished(row: dict) -> bool:
    """Whether a run trained to the end with a finite metric (status ``"ok"``)."""
    return row.get("status", "ok") == "ok" and _finite(row.get("metric"))


def summarize(rows: list[dict]) -> list[dict]:
    """One row per (method, size) over the seeds.

    Args:
        rows: runs, as :func:`~symmetries.studies.load_results` returns them.

    Returns:
        Dicts with ``method``, ``size``, ``seeds`` (runs that finished), ``failed`` (runs that
        diverged or failed), the ``metric_mean``, ``metric_min`` and ``metric_max`` over the
        finished runs, ``metric_std`` (``None`` with fewer than two: no spread to show), and
        the largest and median equivariance error (``None`` where no run finished).
    """
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["method"], r["size"]), []).append(r)
    out = []
    for (method, size), rs in sorted(groups.items(), key=lambda kv: (method_rank(kv[0][0]), kv[0][1])):
        done = [r for r in rs if finished(r)]
        m = [r["metric"] for r in done]
        e = sorted(r["equivariance_max_rel"] for r in done if _finite(r.get("equivariance_max_rel")))
        mean = sum(m) / len(m) if m else None
        std = math.sqrt(sum((v - mean) ** 2 for v in m) / (len(m) - 1)) if len(m) > 1 else None
        out.append({"method": method, "size": size, "seeds": len(done), "failed": len(rs) - len(done),
                    "metric_mean": mean, "metric_std": std, "metric_min": min(m, default=None),
                    "metric_max": max(m, default=None), "equivariance_max": e[-1] if e else None,
                    "equivariance_median": e[len(e) // 2] if e else None})
    return out


def method_rank(method: str) -> int:
    """Position of ``method`` in :data:`~symmetries.studies.METHODS` (unknown methods last)."""
    return METHODS.index(method) if method in METHODS else len(METHODS)


def metric_cell(s: dict) -> str:
    """A summary row's metric as text: ``mean ± std`` (no spread with one seed), ``failed``
    when no run finished, with the number of runs that did not finish."""
    if s["metric_mean"] is None:
        return "failed"
    text = f"{s['metric_mean']:.3g}" + ("" if s["metric_std"] is None else f" ± {s['metric_std']:.2g}")
    return text + (f" ({s['failed']} failed)" if s["failed"] else "")


def spread_label(summary: list[dict]) -> str:
    """How cells are aggregated: ``"mean ± std over seeds"``, or ``""`` when every cell has one run."""
    return "mean ± std over seeds" if any(s["seeds"] > 1 for s in summary) else ""


def failures(rows: list[dict]) -> list[str]:
    """One line per run that did not finish: ``plain n=16 seed=0: diverged: loss nan at step 12``."""
    return [f"{r['method']} n={r['size']} seed={r['seed']}: {r.get('status')}" for r in rows if not finished(r)]


def format_table(rows: list[dict], metric_name: str = "metric") -> str:
    """The results as a plain-text table: methods as rows, sizes as columns, the metric
    (``mean ± std`` over seeds when there are several), then the largest equivariance error;
    runs that did not finish are listed below.

    Args:
        rows: runs, as :func:`~symmetries.studies.load_results` returns them.
        metric_name: the header of the first column (default: ``"metric"``).

    Returns:
        The table, lines joined by newlines; ``"(no finished runs)"`` when ``rows`` is empty.
    """
    summary = summarize(rows)
    if not summary:
        return "(no finished runs)"
    sizes = sorted({s["size"] for s in summary})
    methods = sorted({s["method"] for s in summary}, key=method_rank)
    cell = {(s["method"], s["size"]): s for s in summary}
    spread = spread_label(summary)
    head = [f"{metric_name} ({spread})" if spread else metric_name] + [f"n={n}" for n in sizes] + \
        ["equivariance error"]
    body = []
    for m in methods:
        line = [m] + ["-" if (m, n) not in cell else metric_cell(cell[(m, n)]) for n in sizes]
        errors = [cell[(m, n)]["equivariance_max"] for n in sizes if (m, n) in cell]
        errors = [e for e in errors if e is not None]
        line.append(f"{max(errors):.2g}" if errors else "-")
        body.append(line)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    lines = [fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body]
    failed = failures(rows)
    if failed:
        lines += ["", f"{len(failed)} of {len(rows)} runs did not finish:"] + [f"  {line}" for line in failed]
    return "\n".join(lines)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
