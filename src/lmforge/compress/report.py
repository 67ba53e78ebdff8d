"""Before/after reports: one Markdown table and one PNG chart, the first row the baseline."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.compress.measure import BenchSettings, Measurement, size_text

log = logging.getLogger(__name__)

COLUMNS = ("Model", "Backend", "Parameters", "Size (MB)", "p50 ms (batch 1)",
           "p95 ms (batch 1)", "Texts/s (batch 32)", "Speed-up", "Accuracy", "Macro-F1",
           "Δ accuracy (points)")


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def table_rows(rows: Sequence[Measurement]) -> list[list[str]]:
    """Cells of the report table; ratios and deltas are against ``rows[0]``."""
    base = rows[0]
    out = []
    for row in rows:
        speedup = row.throughput / base.throughput if base.throughput else None
        delta = (None if row.accuracy is None or base.accuracy is None
                 else 100.0 * (row.accuracy - base.accuracy))
        out.append([
            row.name, row.backend, f"{row.parameters:,}", size_text(row.size_mb, unit=False),
            _spread(row.latency_p50_ms, row.latency_p50_min_ms, row.latency_p50_max_ms, row, ".1f"),
            f"{row.latency_p95_ms:.1f}",
            _spread(row.throughput, row.throughput_min, row.throughput_max, row, ".0f"),
            _fmt(speedup, ".2f") + ("×" if speedup is not None else ""),
            _fmt(row.accuracy, ".4f"), _fmt(row.macro_f1, ".4f"), _fmt(delta, "+.2f"),
        ])
    return out


def _spread(median: float, low: float | None, high: float | None, row: Measurement,
            spec: str) -> str:
    """The median, and over several timing rounds the lowest and highest round."""
    if row.rounds < 2 or low is None or high is None:
        return format(median, spec)
    return f"{format(median, spec)} ({format(low, spec)}–{format(high, spec)})"


def per_class_table(rows: Sequence[Measurement]) -> str:
    """Test F1 per class, one column per run (single- and multi-label); "" when no run
    was scored per class."""
    labels: list[str] = []
    for row in rows:
        for label in (row.test_metrics.get("per_class") or {}):
            if label not in labels:
                labels.append(label)
    if not labels:
        return ""
    support = {}
    for row in rows:
        for label, m in (row.test_metrics.get("per_class") or {}).items():
            support.setdefault(label, m.get("support"))
    header = ["Class", "Support", *(f"{r.name} F1" for r in rows)]
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    for label in labels:
        cells = [label.replace("|", "\\|"), str(support.get(label, ""))]
        cells += [_fmt(((r.test_metrics.get("per_class") or {}).get(label) or {}).get("f1"),
                       ".4f") for r in rows]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(rows: Sequence[Measurement]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in table_rows(rows)]
    return "\n".join(lines)


def render_report_md(title: str, rows: Sequence[Measurement], bench: BenchSettings,
                     notes: Sequence[str] = (), chart: str | None = None) -> str:
    sources = sorted({r.test_source for r in rows if r.test_source})
    test_line = (f"Test data: {', '.join(sources)} (n={rows[0].test_n})." if sources
                 else "No test data was available: accuracy is not reported.")
    rounds = max(r.rounds for r in rows) if rows else 1
    spread = (f" Each model was timed in {rounds} rounds, interleaved with the others: p50 and "
              "texts/s are the median, with the slowest and fastest round in brackets."
              if rounds > 1 else "")
    per_class = per_class_table(rows)
    parts = [
        f"# {title}", "",
        markdown_table(rows), "",
        f"Speed on CPU with {bench.threads} threads: latency of single-text calls "
        f"({bench.latency_runs} timed, p50/p95, tokenization included) and throughput in "
        f"batches of {bench.throughput_batch} ({bench.throughput_texts} texts).{spread} "
        "Speed-up and "
        f"Δ accuracy are against the first row. Size is the weight file(s) only"
        + (" (a TF-IDF model: its n-gram vocabulary and weights; its parameters are the linear "
           "model's coefficients and intercepts)." if any("tfidf" in r.backend for r in rows)
           else "."),
        "", test_line,
    ]
    if per_class:
        parts += ["", "## Per class (test F1)", "", per_class]
    if notes:
        parts += ["", *[f"- {n}" for n in notes]]
    if chart:
        parts += ["", f"![comparison]({chart})"]
    return "\n".join(parts) + "\n"


def save_chart_png(rows: Sequence[Measurement], path: Path, title: str) -> None:
    """Four bar panels: size, latency p50, throughput, accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r.name for r in rows]
    panels: list[tuple[str, str, list[float | None]]] = [
        ("Size (MB), lower is better", ".1f", [r.size_mb for r in rows]),
        ("Latency p50 at batch 1 (ms), lower is better", ".2f",
         [r.latency_p50_ms for r in rows]),
        ("Throughput at batch 32 (texts/s), higher is better", ".0f",
         [r.throughput for r in rows]),
        ("Test accuracy, higher is better", ".3f", [r.accuracy for r in rows]),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(4 + 1.6 * len(rows), 7))
    colors = [f"C{i % 10}" for i in range(len(rows))]
    for ax, (label, spec, values) in zip(axes.flat, panels, strict=True):
        heights = [v if v is not None else 0.0 for v in values]
        bars = ax.bar(range(len(rows)), heights, color=colors)
        for bar, value in zip(bars, values, strict=True):
            ax.annotate("n/a" if value is None else format(value, spec),
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(names, rotation=15, ha="right", fontsize=8)
        ax.margins(y=0.15)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(out_dir: Path, title: str, rows: Sequence[Measurement], bench: BenchSettings,
                 notes: Sequence[str] = (), stem: str = "report") -> Path:
    """``out_dir/<stem>.md`` and ``out_dir/<stem>.png``; returns the Markdown path."""
    from lmforge.rundir import write_text_atomic

    out_dir.mkdir(parents=True, exist_ok=True)
    chart = f"{stem}.png"
    save_chart_png(rows, out_dir / chart, title)
    md = out_dir / f"{stem}.md"
    write_text_atomic(md, render_report_md(title, rows, bench, notes, chart))
    return md


def comparison_json(rows: Sequence[Measurement], bench: BenchSettings) -> dict[str, Any]:
    return {"bench": {"threads": bench.threads, "latency_runs": bench.latency_runs,
                      "throughput_batch": bench.throughput_batch,
                      "throughput_texts": bench.throughput_texts},
            "rows": [r.as_dict() for r in rows]}
