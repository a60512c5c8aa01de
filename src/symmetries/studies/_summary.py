"""Aggregate study runs over seeds, and print them as a table."""

from __future__ import annotations

import math

from symmetries.studies._task import METHODS


def summarize(rows: list[dict]) -> list[dict]:
    """One row per (method, size): mean, std, min and max of the metric over seeds, and the
    largest and median equivariance error."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["method"], r["size"]), []).append(r)
    out = []
    for (method, size), rs in sorted(groups.items(), key=lambda kv: (method_rank(kv[0][0]), kv[0][1])):
        m = [r["metric"] for r in rs]
        e = sorted(r["equivariance_max_rel"] for r in rs)
        mean = sum(m) / len(m)
        std = math.sqrt(sum((v - mean) ** 2 for v in m) / (len(m) - 1)) if len(m) > 1 else 0.0
        out.append({"method": method, "size": size, "seeds": len(rs), "metric_mean": mean, "metric_std": std,
                    "metric_min": min(m), "metric_max": max(m), "equivariance_max": e[-1],
                    "equivariance_median": e[len(e) // 2]})
    return out


def method_rank(method: str) -> int:
    return METHODS.index(method) if method in METHODS else len(METHODS)


def format_table(rows: list[dict], metric_name: str = "metric") -> str:
    """Methods as rows, sizes as columns, ``mean ± std`` of the metric, then the equivariance error."""
    summary = summarize(rows)
    if not summary:
        return "(no finished runs)"
    sizes = sorted({s["size"] for s in summary})
    methods = sorted({s["method"] for s in summary}, key=method_rank)
    cell = {(s["method"], s["size"]): s for s in summary}
    head = [f"{metric_name} (mean ± std over seeds)"] + [f"n={n}" for n in sizes] + ["equivariance error"]
    body = []
    for m in methods:
        line = [m]
        for n in sizes:
            s = cell.get((m, n))
            line.append("-" if s is None else f"{s['metric_mean']:.3g} ± {s['metric_std']:.2g}")
        line.append(f"{max(cell[(m, n)]['equivariance_max'] for n in sizes if (m, n) in cell):.2g}")
        body.append(line)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([fmt(head), "  ".join("-" * w for w in widths)] + [fmt(r) for r in body])
