"""What ``lmforge inspect`` writes: a terminal summary, inspect.md and two PNG histograms.

Only formatting and drawing; the findings come from ``lmforge.inspect.run``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LENGTH_PNG = "length_histogram.png"
BALANCE_PNG = "class_balance.png"
TAGS_PNG = "tag_counts.png"  # token data: tokens per tag
MAX_BARS = 40  # class-balance bars drawn; more classes are summed into "other"


def format_summary(report: dict[str, Any]) -> str:
    """Plain text for a terminal: the data at a glance, then one block per finding."""
    if report.get("kind") == "tokens":
        return _format_token_summary(report)
    lines = [f"{report['data']}: {report['rows']} rows; {report['columns']}; {report['task']}"]
    counts = report.get("class_counts")
    if counts:
        lines.append("  classes: " + ", ".join(f"{k} {v}" for k, v in list(counts.items())[:12])
                     + (" ..." if len(counts) > 12 else ""))
    length = report.get("length") or {}
    if length.get("tokenizer"):
        lines.append(f"  tokens ({length['tokenizer']}): median {length['median']}, 95th "
                     f"percentile {length['p95']}, longest {length['max']}; over "
                     f"{length['max_length']}: {length['over_max_length']}")
    if report.get("scripts"):
        lines.append("  main script of the texts: "
                     + ", ".join(f"{k} {v}" for k, v in report["scripts"].items()))
    if report.get("model"):
        lines.append(f"  model: {report['model']['name']} ({report['model']['reason']})")
    lines += _finding_lines(report.get("findings") or [], "row")
    lines.append("")
    lines.append(f"({report['row_numbers']})")
    return "\n".join(lines)


def _finding_lines(findings: Sequence[dict[str, Any]], row_word: str) -> list[str]:
    lines = [""]
    if not findings:
        lines.append("No problems found.")
    for f in findings:
        lines.append(f"[{f['severity']}] {f['check']}: {f['summary']}")
        for ex in f["examples"][:3]:
            where = f"{row_word} {ex['row']}" + (f" (data {row_word} {ex['data_row']})"
                                                 if "data_row" in ex else "")
            label = f" [{ex['label']}]" if ex.get("label") else ""
            lines.append(f"    {where}{label}: {ex['text']!r}")
        lines.append(f"    -> {f['suggestion']}")
    return lines


def _counts(counts: dict[str, int], limit: int = 12) -> str:
    return (", ".join(f"{k} {v}" for k, v in list(counts.items())[:limit])
            + (" ..." if len(counts) > limit else ""))


def _token_facts(report: dict[str, Any]) -> list[str]:
    """The token data at a glance, one fact per line (terminal and inspect.md alike)."""
    scheme = "BIO tags" if report["scheme"] == "bio" else "plain tags (no B-/I- prefixes)"
    facts = [f"{report['format']} file, {scheme}, {report['unit']}-level tokens; task "
             f"{report['task']}"]
    if report.get("entity_counts") is not None:
        facts.append(f"entities: {_counts(report['entity_counts']) or 'none'} "
                     f"({report['sentences_without_entities']} sentences have none)")
        errors = report.get("bio_errors") or {}
        facts.append(f"BIO errors train would repair: {errors.get('total', 0)} ("
                     + ", ".join(f"{k} {v}" for k, v in errors.items() if k != "total") + ")")
    facts.append(f"tags (tokens): {_counts(report['tag_counts'])}")
    words = report["words_per_sentence"]
    facts.append(f"words per sentence: median {words['median']}, 95th percentile {words['p95']}, "
                 f"longest {words['max']}")
    length = report["length"]
    facts.append(f"sub-word tokens per sentence ({length['tokenizer']}, special tokens "
                 f"included): median {length['median']}, 95th percentile {length['p95']}, "
                 f"longest {length['max']}; {length['over_max_length']} over --max-length "
                 f"{length['max_length']}, read as {length['windows']} windows (never cut)")
    unknown = report["unknown_tokens"]
    facts.append(f"unknown tokens: {unknown['tokens']} tokens ({unknown['share_of_tokens']:.2%}) "
                 f"have an [UNK] sub-word; {unknown['share_of_subwords']:.2%} of sub-words")
    if report.get("model"):
        facts.append(f"model: {report['model']['name']} ({report['model']['reason']})")
    return facts


def _format_token_summary(report: dict[str, Any]) -> str:
    lines = [f"{report['data']}: {report['sentences']} sentences, {report['tokens']} tokens"]
    lines += [f"  {fact}" for fact in _token_facts(report)]
    lines += _finding_lines(report.get("findings") or [], "line")
    lines += ["", f"({report['row_numbers']})"]
    return "\n".join(lines)


def _md_escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_inspect_md(report: dict[str, Any], length_png: str | None = LENGTH_PNG,
                      balance_png: str | None = BALANCE_PNG) -> str:
    if report.get("kind") == "tokens":
        return _render_token_md(report, length_png, TAGS_PNG if balance_png else None)
    lines = [f"# Data inspection: {Path(report['data']).name}", "",
             f"- file: `{report['data']}`, {report['rows']} rows"
             + (f"; compared with `{report['test']}` ({report.get('test_rows')} rows)"
                if report.get("test") else ""),
             f"- {report['columns']}", f"- task: {report['task']}",
             f"- {report['row_numbers']}"]
    if report.get("scripts"):
        lines.append("- main script of the texts: "
                     + ", ".join(f"{k} {v}" for k, v in report["scripts"].items()))
    if report.get("model"):
        lines.append(f"- model: {report['model']['name']} ({report['model']['reason']})")
    length = report.get("length") or {}
    if length.get("tokenizer"):
        lines.append(f"- length in tokens ({length['tokenizer']} tokenizer, special tokens "
                     f"included): median {length['median']}, 95th percentile {length['p95']}, "
                     f"longest {length['max']}; {length['over_max_length']} over "
                     f"--max-length {length['max_length']}")
    elif length.get("note"):
        lines.append(f"- {length['note']}")
    unknown = report.get("unknown_tokens")
    if unknown:
        lines.append(f"- unknown tokens: {unknown['share_of_tokens']:.2%} of all tokens; "
                     f"{unknown['texts']} texts mostly unknown")
    lines += _finding_md(report.get("findings") or [], "row")
    if report.get("class_counts"):
        lines += ["## Class balance", ""]
        if balance_png:
            lines += [f"![class balance]({balance_png})", ""]
        lines += ["| class | examples |", "| --- | ---: |"]
        lines += [f"| {_md_escape(k)} | {v} |" for k, v in report["class_counts"].items()]
        lines.append("")
    if length_png and length.get("tokenizer"):
        lines += ["## Length", "", f"![length histogram]({length_png})", ""]
    return "\n".join(lines)


def _finding_md(findings: Sequence[dict[str, Any]], row_word: str) -> list[str]:
    lines = ["", "## Findings", ""]
    if not findings:
        lines.append("No problems found.")
    for f in findings:
        lines += [f"### {f['check'].replace('_', ' ')} ({f['severity']})", "", f["summary"], "",
                  f"**What to do:** {f['suggestion']}", ""]
        if f["examples"]:
            extra = [k for k in f["examples"][0] if k not in ("row", "text", "label")]
            header = ["row", *extra, "label", "text"]
            shown = [row_word if k == "row" else f"data {row_word}" if k == "data_row" else k
                     for k in header]
            lines += ["| " + " | ".join(shown) + " |",
                      "| " + " | ".join("---" for _ in header) + " |"]
            lines += ["| " + " | ".join(_md_escape(ex.get(k, "")) for k in header) + " |"
                      for ex in f["examples"]]
            lines.append("")
    return lines


def _render_token_md(report: dict[str, Any], length_png: str | None,
                     balance_png: str | None) -> str:
    lines = [f"# Data inspection: {Path(report['data']).name}", "",
             f"- file: `{report['data']}`, {report['sentences']} sentences, {report['tokens']} "
             "tokens" + (f"; compared with `{report['test']}` ({report.get('test_sentences')} "
                         "sentences)" if report.get("test") else "")]
    lines += [f"- {fact}" for fact in _token_facts(report)]
    lines.append(f"- {report['row_numbers']}")
    lines += _finding_md(report.get("findings") or [], "line")
    if report.get("entity_counts"):
        lines += ["## Entities", "", "| type | entities |", "| --- | ---: |"]
        lines += [f"| {_md_escape(k)} | {v} |" for k, v in report["entity_counts"].items()]
        lines.append("")
    lines += ["## Tags", ""]
    if balance_png:
        lines += [f"![tag counts]({balance_png})", ""]
    lines += ["| tag | tokens |", "| --- | ---: |"]
    lines += [f"| {_md_escape(k)} | {v} |" for k, v in report["tag_counts"].items()]
    lines.append("")
    if length_png:
        lines += ["## Length", "", f"![length histogram]({length_png})", ""]
    return "\n".join(lines)


def save_length_histogram_png(lengths: Sequence[int], max_length: int,
                              path: str | os.PathLike[str], tokenizer: str,
                              items: str = "texts") -> Path:
    """``items``: what is counted ("texts", or "sentences" of token data, whose longer ones
    are read as windows rather than cut)."""
    from matplotlib.figure import Figure

    from lmforge.eval.plots import _save_atomic

    fig = Figure(figsize=(7.0, 4.0))
    ax = fig.add_subplot()
    ordered = sorted(lengths) or [1]
    # a few very long texts would squash the rest into one bar: the axis stops at the
    # 99th percentile (at least 1.5x max_length) and longer texts pile into the last bar
    top = max(int(1.5 * max_length), ordered[int(0.99 * (len(ordered) - 1))], 10)
    clipped = [min(n, top) for n in lengths]
    bins = min(60, max(10, top // 4))
    ax.hist(clipped, bins=bins, range=(0, top), color="tab:blue", alpha=0.8)
    if ordered[-1] > top:
        ax.annotate(f"last bar: {top}+ (longest {ordered[-1]})", xy=(1.0, 1.01),
                    xycoords="axes fraction", ha="right", va="bottom", fontsize=8)
    over = sum(1 for n in lengths if n > max_length)
    ax.axvline(max_length, color="tab:red", linestyle="--",
               label=f"--max-length {max_length} ({over} {items} over)")
    ax.set_xlabel(f"tokens per {items.rstrip('s')} ({tokenizer})")
    ax.set_ylabel(items)
    ax.set_title(f"{items.rstrip('s').capitalize()} length (n={len(lengths)})")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return _save_atomic(fig, path)


def save_class_balance_png(counts: dict[str, int], path: str | os.PathLike[str],
                           title: str = "Class balance", unit: str = "examples") -> Path:
    from matplotlib.figure import Figure

    from lmforge.eval.plots import _save_atomic, tick_names

    items = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(items) > MAX_BARS:
        rest = sum(v for _, v in items[MAX_BARS - 1:])
        items = [*items[: MAX_BARS - 1], (f"other ({len(items) - MAX_BARS + 1})", rest)]
    names = tick_names([k for k, _ in items])
    fig = Figure(figsize=(7.0, max(2.5, 0.3 * len(items) + 1.2)))
    ax = fig.add_subplot()
    ax.barh(range(len(items)), [v for _, v in items], color="tab:blue")
    ax.set_yticks(range(len(items)), labels=names)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    ax.set_title(title)
    for i, (_, v) in enumerate(items):
        ax.text(v, i, f" {v}", va="center", fontsize=8)
    return _save_atomic(fig, path)


def write_outputs(result: Any, out: str | os.PathLike[str] | None,
                  json_path: str | os.PathLike[str] | None) -> list[Path]:
    """inspect.md + PNGs in ``out``, the report as JSON at ``json_path``; the paths written."""
    from lmforge.rundir import write_json, write_text_atomic

    report = result.report
    written = []
    if out:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            from lmforge.errors import ConfigError

            raise ConfigError(f"--out {folder}: is a file; pass a folder for inspect.md and the "
                              "PNG histograms (it is created if needed).")
        folder.mkdir(parents=True, exist_ok=True)
        length_png = balance_png = None
        tokens = report.get("kind") == "tokens"
        if result.lengths:
            length_png = LENGTH_PNG
            written.append(save_length_histogram_png(
                result.lengths, report["length"]["max_length"], folder / LENGTH_PNG,
                report["length"]["tokenizer"], "sentences" if tokens else "texts"))
        if report.get("class_counts"):
            balance_png = BALANCE_PNG
            written.append(save_class_balance_png(report["class_counts"], folder / BALANCE_PNG))
        elif report.get("tag_counts"):
            balance_png = TAGS_PNG
            written.append(save_class_balance_png(report["tag_counts"], folder / TAGS_PNG,
                                                  title="Tags", unit="tokens"))
        write_text_atomic(folder / "inspect.md", render_inspect_md(report, length_png, balance_png))
        written.append(folder / "inspect.md")
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        write_json(Path(json_path), report)
        written.append(Path(json_path))
    return written
