"""The report of a token-classification run: headline scores beside the CRF baseline with
the "worth it" sentence, per-type scores, the most confused tags, and sample sentences with
gold vs predicted entities (or tags)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lmforge.data.conll import entities_of


def _f(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, int | float) else "—"


def format_token_scores(test: dict[str, Any], title: str = "Test") -> str:
    """The plain-text block ``train`` and ``evaluate`` print."""
    lines = [f"{title}: {test.get('sentences', 0)} sentences, {test.get('tokens', 0)} tokens"]
    if test.get("scheme") == "bio":
        lines.append(f"  entity precision {_f(test['precision'])}  recall {_f(test['recall'])}  "
                     f"F1 {_f(test['f1'])}  ({test['entities']} gold entities)")
    lines.append(f"  token accuracy {_f(test['accuracy'])}")
    per_type = test.get("per_type") or {}
    shown = sorted(per_type.items(), key=lambda kv: -kv[1]["support"])[:15]
    if shown:
        width = max(len(k) for k, _ in shown)
        lines.append(f"  {'type':<{width}}  precision  recall  F1      support")
        for kind, row in shown:
            lines.append(f"  {kind:<{width}}  {_f(row['precision'])}     {_f(row['recall'])}  "
                         f"{_f(row['f1'])}  {row['support']}")
    return "\n".join(lines)


def format_token_baseline(baseline: dict[str, Any]) -> str:
    test = baseline.get("test") or {}
    key = "f1" if test.get("scheme") == "bio" else "accuracy"
    line = (f"Baseline {baseline['model']} ({baseline['seconds']:.1f} s): test "
            f"{'entity F1' if key == 'f1' else 'token accuracy'} {_f(test.get(key))}")
    verdict = (baseline.get("verdict") or {}).get("sentence")
    return line + (f"\n{verdict}" if verdict else "")


def _marked(tokens: Sequence[str], tags: Sequence[str], scheme: str, sep: str) -> str:
    """Tokens with entities bracketed, ``[Paris]LOC`` (BIO), or ``word/TAG`` (plain tags)."""
    if scheme != "bio":
        return " ".join(f"{t}/{g}" for t, g in zip(tokens, tags, strict=True))
    pieces = list(tokens)
    for kind, start, end in reversed(entities_of(tags)):
        pieces[start:end] = [f"[{sep.join(tokens[start:end])}]{kind}"]
    return sep.join(pieces)


def render_token_report(metrics: dict[str, Any], title: str) -> str:
    test = metrics.get("test") or {}
    scheme = test.get("scheme", "bio")
    data = metrics.get("data") or {}
    sep = "" if data.get("unit") == "char" else " "
    baseline = metrics.get("baseline") or {}
    out = [f"# {title}: token classification ({'named entities, BIO' if scheme == 'bio' else 'tags'})",
           ""]
    if data.get("warnings"):
        out += ["## Warnings", ""] + [f"- {w}" for w in data["warnings"]] + [""]
    if test:
        out += ["## Test scores", "", "| model | entity P | entity R | entity F1 | token accuracy |",
                "|---|---:|---:|---:|---:|"]
        rows = [("fine-tuned " + str((data.get("model") or {}).get("name", "model")), test)]
        if baseline.get("test"):
            rows.append((baseline["model"], baseline["test"]))
        for name, row in rows:
            out.append(f"| {name} | {_f(row.get('precision'))} | {_f(row.get('recall'))} | "
                       f"{_f(row.get('f1'))} | {_f(row.get('accuracy'))} |")
        out.append("")
        if baseline.get("verdict"):
            out += [baseline["verdict"]["sentence"], "",
                    f"_Rule: {baseline['verdict']['rule']}._", ""]
        per_type = test.get("per_type") or {}
        if per_type:
            out += ["## Per type" if scheme == "bio" else "## Per tag", "",
                    "| type | precision | recall | F1 | support | CRF F1 |", "|---|---:|---:|---:|---:|---:|"]
            crf = (baseline.get("test") or {}).get("per_type") or {}
            for kind, row in sorted(per_type.items(), key=lambda kv: -kv[1]["support"]):
                out.append(f"| {kind} | {_f(row['precision'])} | {_f(row['recall'])} | "
                           f"{_f(row['f1'])} | {row['support']} | "
                           f"{_f((crf.get(kind) or {}).get('f1'))} |")
            out.append("")
        if test.get("confused"):
            out += ["## Most confused tags", "", "| gold | predicted | tokens |", "|---|---|---:|"]
            out += [f"| {c['gold']} | {c['predicted']} | {c['count']} |" for c in test["confused"]]
            out.append("")
        if test.get("samples"):
            out += ["## Sample sentences (gold vs predicted)", ""]
            for sample in test["samples"]:
                mark = "correct" if sample["correct"] else "differs"
                out += [f"- gold ({mark}): {_marked(sample['tokens'], sample['gold'], scheme, sep)}",
                        f"  predicted: {_marked(sample['tokens'], sample['predicted'], scheme, sep)}"]
            out.append("")
    out += ["## Data", ""]
    out.append(f"- {data.get('source')}: {data.get('sentences')} sentences, {data.get('tokens')} "
               f"tokens ({data.get('format')}, {data.get('unit')} level)")
    out.append(f"- splits: {data.get('splits')} from {data.get('split_from')}")
    kinds = data.get("bio_repair_kinds") or {}
    out.append(f"- BIO tags repaired (I- starting an entity -> B-): {data.get('bio_repaired', 0)}"
               + (" (" + ", ".join(f"{k} {v}" for k, v in kinds.items()) + ")" if kinds else ""))
    for example in data.get("bio_repair_examples") or []:
        out.append(f"  - {example}")
    for name, enc in (data.get("encoding") or {}).items():
        if enc.get("windowed") or enc.get("tokens_cut"):
            out.append(f"- {name}: {enc['windowed']} sentences read as windows (longest "
                       f"{enc['longest_subwords']} sub-words); {enc['tokens_cut']} tokens longer "
                       "than a window kept their first sub-words")
    model = data.get("model") or {}
    if model:
        out.append(f"- base model: {model.get('name')} ({model.get('licence')}): "
                   f"{model.get('reason')}")
    train = metrics.get("train") or {}
    if train:
        out.append(f"- training: {train.get('epochs')} epochs (best {train.get('best_epoch')}), "
                   f"{train.get('seconds', 0):.1f} s")
    return "\n".join(out) + "\n"


def render_token_card(name: str, base_model: str, labels: list[str], scheme: str, unit: str,
                      metrics: dict[str, Any], usage_dir: str) -> str:
    test = metrics.get("test") or {}
    what = "named-entity recognition (BIO)" if scheme == "bio" else "token tagging"
    score = (f"entity F1 {_f(test.get('f1'))}, " if scheme == "bio" else "") + (
        f"token accuracy {_f(test.get('accuracy'))}")
    return "\n".join([
        f"# {name}", "",
        f"A {what} model ({unit}-level tokens) fine-tuned from {base_model} with lmforge. "
        f"Tags: {', '.join(labels)}.", "",
        f"Test: {score}. See report.md.", "",
        "```bash",
        f"lmforge predict {usage_dir} --data texts.txt            # entities with offsets (JSONL)",
        f"lmforge predict {usage_dir} --data texts.txt --format conll",
        "```", "",
        "Loadable with plain transformers: `AutoModelForTokenClassification.from_pretrained"
        "('model')` (id2label in config.json).", ""])


def print_token_result(metrics: dict[str, Any], run_dir: Any, stream: Any) -> int:
    """What ``lmforge train --task tokens`` prints: test scores, the CRF and its verdict."""
    if "test" in metrics:
        stream.write(format_token_scores(metrics["test"]) + "\n")
    if "test" in (metrics.get("baseline") or {}):
        stream.write(format_token_baseline(metrics["baseline"]) + "\n")
    stream.write(f"run directory: {run_dir}\n")
    return 0
