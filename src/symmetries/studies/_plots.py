"""Plots of a study: learning curves (log-log, seed spread) and equivariance error per method."""

from __future__ import annotations

import math

from symmetries.studies._summary import finished, method_rank, summarize

#: errors below this are drawn at this value on log axes (an exact zero has no logarithm)
FLOOR = 1e-17


def _colors(methods):
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {m: cmap(method_rank(m) % 10) for m in methods}


def learning_curves(rows: list[dict], path: str, title: str = "", metric_name: str = "test error") -> bool:
    """Test metric against training-set size on log-log axes: the mean over seeds per method
    (line), each seed (dots) and the min-max spread over seeds (band).

    Only runs that finished are drawn (see :func:`~symmetries.studies.summarize`).

    Returns:
        Whether the plot was written: ``False`` (and nothing written) when no run finished.
    """
    rows = [r for r in rows if finished(r)]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    summary = summarize(rows)
    methods = sorted({s["method"] for s in summary}, key=method_rank)
    color = _colors(methods)
    fig, ax = plt.subplots(figsize=(7, 4.6), dpi=110)
    for m in methods:
        ss = [s for s in summary if s["method"] == m]
        n = [s["size"] for s in ss]
        ax.fill_between(n, [max(s["metric_min"], FLOOR) for s in ss], [max(s["metric_max"], FLOOR) for s in ss],
                        color=color[m], alpha=0.18, linewidth=0)
        ax.plot(n, [max(s["metric_mean"], FLOOR) for s in ss], "-o", color=color[m], label=m, linewidth=2,
                markersize=5)
        pts = [r for r in rows if r["method"] == m]
        ax.scatter([r["size"] for r in pts], [max(r["metric"], FLOOR) for r in pts], color=color[m], s=9,
                   alpha=0.6, zorder=3)
    ax.set_xscale("log")
    sizes = sorted({s["size"] for s in summary})
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if all(r["metric"] > 0 for r in rows):
        ax.set_yscale("log")
    ax.set_xlabel("training-set size")
    ax.set_ylabel(metric_name)
    ax.set_title(title or "learning curves (mean over seeds, band = min-max)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="method")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def equivariance_errors(rows: list[dict], path: str, title: str = "") -> bool:
    """Relative equivariance error of each trained model (log scale), one column per method,
    dots coloured by training-set size; zeros are drawn at :data:`FLOOR`.

    Only runs with a finite measured error are drawn.

    Returns:
        Whether the plot was written: ``False`` (and nothing written) when there is none.
    """
    rows = [r for r in rows if finished(r) and isinstance(r.get("equivariance_max_rel"), (int, float))
            and math.isfinite(r["equivariance_max_rel"])]
    if not rows:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = sorted({r["method"] for r in rows}, key=method_rank)
    sizes = sorted({r["size"] for r in rows})
    cmap = matplotlib.colormaps["viridis"]
    shade = {n: cmap(i / max(1, len(sizes) - 1) * 0.9) for i, n in enumerate(sizes)}
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for i, m in enumerate(methods):
        pts = [r for r in rows if r["method"] == m]
        for j, r in enumerate(pts):
            dx = (j / max(1, len(pts) - 1) - 0.5) * 0.5
            ax.scatter(i + dx, max(r["equivariance_max_rel"], FLOOR), color=shade[r["size"]], s=22,
                       edgecolor="k", linewidth=0.3, zorder=3)
    for n in sizes:
        ax.scatter([], [], color=shade[n], s=22, label=f"n={n}")
    ax.set_yscale("log")
    lo = min(max(r["equivariance_max_rel"], FLOOR) for r in rows)
    ax.set_ylim(min(lo / 3, 1e-8), max(3.0, max(r["equivariance_max_rel"] for r in rows) * 3))
    ax.axhspan(0.1, ax.get_ylim()[1], color="tab:red", alpha=0.07, linewidth=0)
    ax.axhspan(ax.get_ylim()[0], 1e-6, color="tab:green", alpha=0.07, linewidth=0)
    ax.set_xticks(range(len(methods)), methods)
    ax.set_xlim(-0.6, len(methods) - 0.4)
    ax.set_ylabel("max relative equivariance error")
    ax.set_title(title or "how symmetric is each trained model? (green: exact, red: absent)")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.legend(title="training size", fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True
