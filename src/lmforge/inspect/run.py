"""``inspect_data``: read the file(s) as ``train`` would, run every check, return one dict.

Rows are read with the data stage's own reader, column/task detection and text
cleaning, and keep their numbers in the file (``lmforge.data.read.file_rows``),
so every example names a row the user can find. Nothing is dropped before the
checks: duplicates, conflicts and empty rows are what they look for.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lmforge.inspect.checks import Finding, Row, length_summary
from lmforge.inspect.config import InspectConfig

log = logging.getLogger(__name__)

ROW_WORDS = {
    "row": "row numbers count like a spreadsheet: the header is row 1, the first data row is row 2",
    "line": "row numbers are line numbers of the file, from 1",
}


@dataclass
class InspectResult:
    """``report``: the JSON-able findings; ``lengths``: token count of each non-empty text
    (for the histogram; empty when no tokenizer was used)."""

    report: dict[str, Any]
    lengths: list[int] = field(default_factory=list)


def read_rows(path: str | os.PathLike[str], cfg: InspectConfig,
              columns: Any = None) -> tuple[list[Row], Any, Any, str]:
    """Every row of ``path`` cleaned, with its file row number and target (None: missing).

    Returns (rows, columns, task choice, row word). ``columns`` given: read with them
    (a second file must have the first one's columns)."""
    from lmforge.data.cells import is_missing, plain
    from lmforge.data.clean import _target, clean_text, joined_inputs
    from lmforge.data.columns import detect_columns
    from lmforge.data.read import file_rows, read_table
    from lmforge.data.task import detect_task
    from lmforge.errors import DataError

    df = read_table(path)
    if columns is None:
        columns = detect_columns(df, path, cfg.text_col, cfg.label_col, pair=cfg.pair)
    else:
        missing = [c for c in (*columns.text_columns, *columns.labels)
                   if c not in [str(x) for x in df.columns]]
        if missing:
            raise DataError(f"{path}: has no column {', '.join(repr(c) for c in missing)} (the "
                            f"columns of {cfg.data}); its columns are: "
                            f"{', '.join(str(c) for c in df.columns)}. Give both files the same "
                            "column names.")
    choice = detect_task(df, columns, path, cfg.task, cfg.label_sep)

    numbers = file_rows(df)
    texts = list(df[columns.text]) if len(columns.text_columns) == 1 else [
        text or "" for text in joined_inputs(df, columns, path)]  # several columns: data.pairs
    label_values = [list(df[c]) for c in columns.labels]
    rows = []
    for i, raw in enumerate(texts):
        text = "" if is_missing(raw) else clean_text(str(plain(raw)))
        target = _target(choice.task, [values[i] for values in label_values], columns,
                         cfg.label_sep, path, df, i)
        rows.append(Row(numbers[i], text, target))
    return rows, columns, choice, str(df.attrs.get("row_word", "row"))


def inspect_data(config: InspectConfig | None = None, **overrides: Any) -> InspectResult:
    """Findings about ``data`` (and ``test``); see ``lmforge inspect``. Keyword arguments
    are InspectConfig fields and override ``config``."""
    from lmforge.config.base import from_mapping, to_mapping
    from lmforge.inspect import checks
    from lmforge.labels import labels_of

    base = to_mapping(config) if config is not None else {}
    base.update(overrides)
    cfg = from_mapping(InspectConfig, base, source="inspect config")
    cfg.validate()
    detected = None
    if cfg.task == "auto":
        from lmforge.data.conll import token_file_reason

        detected = token_file_reason(cfg.data)
    if cfg.task == "tokens" or detected:  # CoNLL / JSONL tokens: sentences, tags, entities
        from lmforge.inspect.tokens import inspect_tokens

        return inspect_tokens(cfg, detected)
    # a wrong --model fails before reading; 'default' depends on the data (as in train)
    auto = cfg.model.lower() == "default"
    tokenizer, tokenizer_name = (None, "") if auto else _tokenizer(cfg.model)

    rows, columns, choice, row_word = read_rows(cfg.data, cfg)
    task = choice.task
    labelled = [r for r in rows if r.text and r.target is not None]
    labels = labels_of(task, [r.target for r in labelled])
    findings: list[Finding | None] = [checks.check_size(rows, task)]
    findings += checks.check_empty(rows, labelled=True)
    findings.append(checks.check_suspicious(rows))
    findings += checks.check_duplicates(rows)
    findings.append(checks.check_class_balance(task, labelled, labels))

    texts = [r.text for r in rows if r.text]
    with_text = [r for r in rows if r.text]
    model_reason = None
    if auto:
        from lmforge.models.build import load_tokenizer
        from lmforge.models.registry import resolve_default_encoder

        entry, model_reason, path = resolve_default_encoder(texts)
        tokenizer, tokenizer_name = load_tokenizer(path), entry.name
    from lmforge.data.scripts import main_script

    scripts = [main_script(t) for t in texts]
    findings.append(checks.check_scripts(with_text, scripts))
    script_counts: dict[str, int] = {}
    for s in scripts:
        script_counts[s or "none"] = script_counts.get(s or "none", 0) + 1

    report: dict[str, Any] = {
        "data": str(cfg.data), "test": cfg.test, "rows": len(rows), "row_numbers": ROW_WORDS.get(
            row_word, ROW_WORDS["row"]),
        "columns": columns.reason, "task": choice.reason, "labels": labels,
        "scripts": dict(sorted(script_counts.items(), key=lambda kv: -kv[1])),
    }
    if model_reason:
        report["model"] = {"name": tokenizer_name, "reason": model_reason}
    if task != "regression":
        report["class_counts"] = checks.class_counts(task, [r.target for r in labelled], labels)
    else:
        values = [float(r.target) for r in labelled]
        report["targets"] = ({"min": min(values), "max": max(values),
                              "mean": sum(values) / len(values)} if values else {})

    lengths: list[int] = []
    if tokenizer is not None:
        lengths, unknown = _token_stats(tokenizer, texts)
        report["length"] = {"tokenizer": tokenizer_name, "max_length": cfg.max_length,
                            **length_summary(lengths),
                            "over_max_length": sum(1 for n in lengths if n > cfg.max_length)}
        report["unknown_tokens"] = unknown["report"]
        findings.append(checks.check_lengths(with_text, lengths, cfg.max_length, tokenizer_name))
        findings.append(checks.check_unknown_tokens(with_text, unknown["shares"],
                                                    unknown["report"], tokenizer_name))
    else:
        report["length"] = {"tokenizer": None, "note": "--model tfidf has no tokenizer and no "
                            "token limit; the token checks were skipped"}

    if cfg.test:
        test_rows, _, _, _ = read_rows(cfg.test, cfg, columns)
        findings.append(checks.check_leakage(rows, test_rows, str(cfg.test)))
        report["test_rows"] = len(test_rows)

    found = [f for f in findings if f is not None]
    found.sort(key=lambda f: f.severity != "warning")  # warnings first, each group in check order
    report["findings"] = [f.as_dict() for f in found]
    return InspectResult(report, lengths)


def _tokenizer(model: str) -> tuple[Any, str]:
    if model.lower() == "tfidf":
        return None, "tfidf"
    from lmforge.models.build import load_tokenizer
    from lmforge.models.registry import REGISTRY, resolve_model_dir

    path = resolve_model_dir(model)
    entry = REGISTRY.get(model.lower())
    return load_tokenizer(path), entry.name if entry else Path(model).name


def _token_stats(tokenizer: Any, texts: list[str]) -> tuple[list[int], dict[str, Any]]:
    """Token count of each text (special tokens included, as max_length counts them) and
    its share of unknown tokens; ``unknown_token_report`` as train computes it."""
    from lmforge.data.pairs import with_separator
    from lmforge.data.tokenize import special_token_frame, unknown_token_report

    prefix, suffix = special_token_frame(tokenizer)
    # several columns or a pair: counted with the separator token between the texts
    separator = tokenizer.sep_token or tokenizer.eos_token or "|"
    texts = [with_separator(t, separator) for t in texts]
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    lengths = [len(r) + len(prefix) + len(suffix) for r in ids]
    unk = tokenizer.unk_token_id
    shares = [(sum(1 for t in r if t == unk) / len(r)) if r and unk is not None else 0.0
              for r in ids]
    report = unknown_token_report(tokenizer, SimpleNamespace(input_ids=ids))
    return lengths, {"report": report, "shares": shares}


