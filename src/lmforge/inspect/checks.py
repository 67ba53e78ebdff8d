"""Findings about a labelled data set: pure functions over cleaned rows.

Each check returns a ``Finding`` (or None when all is well) with the rows that
show it and what to do. ``train_warnings`` is the quick part that ``lmforge
train`` runs on the numbers it has already computed (cleaning counts, token
lengths, unknown tokens), so nothing is counted twice.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from lmforge.data.split import find_leaks, near_duplicate_key
from lmforge.labels import IMBALANCE_RATIO_FOR_AUTO_WEIGHTS

IMBALANCE_RATIO = IMBALANCE_RATIO_FOR_AUTO_WEIGHTS  # the ratio at which train weighs classes
FEW_EXAMPLES = 10  # a class with fewer examples is hard to learn and its scores are noise
DUPLICATE_SHARE = 0.05  # warn in train when this share of rows were exact duplicates
TRUNCATED_SHARE = 0.10  # warn in train when this share of training texts is cut
UNKNOWN_TEXT_SHARE = 0.05  # warn when this share of texts is mostly unknown tokens
MIN_SCRIPT_SHARE = 0.01  # a script that is the main one of fewer texts is "mixed in"
VERY_SHORT_CHARS = 3  # texts shorter than this (after cleaning) say little
MAX_EXAMPLES = 5  # example rows shown per finding
EXAMPLE_CHARS = 120

URL_ONLY = re.compile(r"^(?:(?:https?://|www\.)\S+\s*)+$", re.IGNORECASE)
NUMBERS_ONLY = re.compile(r"^[\d\s.,:;+\-*/%()#$€£¥]+$")


@dataclass
class Row:
    """One data row: its number in the file, its cleaned text and its target (None:
    missing). ``label`` is the target as shown to a user."""

    row: int
    text: str
    target: Any

    @property
    def label(self) -> str:
        if self.target is None:
            return ""
        if isinstance(self.target, tuple):
            return "|".join(self.target)
        return str(self.target)


@dataclass
class Finding:
    check: str
    severity: str  # "warning" (likely hurts training or scores) or "info"
    count: int
    summary: str
    suggestion: str
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def example(row: Row, **extra: Any) -> dict[str, Any]:
    text = row.text if len(row.text) <= EXAMPLE_CHARS else row.text[: EXAMPLE_CHARS - 1] + "…"
    return {"row": row.row, "text": text, "label": row.label, **extra}


normalize_for_near_duplicates = near_duplicate_key  # one definition, in data.split


# ------------------------------------------------------------------ class balance


def class_counts(task: str, targets: Sequence[Any], labels: Sequence[str]) -> dict[str, int]:
    """Examples per class (multi-label: texts carrying each label), in ``labels`` order."""
    counts: Counter[str] = Counter()
    for t in targets:
        if t is None:
            continue
        counts.update(t if task == "multi" else [t])
    return {label: counts.get(label, 0) for label in labels}


def length_summary(lengths: Sequence[int]) -> dict[str, int | None]:
    """Median, 95th percentile and maximum of ``lengths`` (None each when empty)."""
    if not lengths:
        return {"median": None, "p95": None, "max": None}
    ordered = sorted(lengths)

    def at(q: float) -> int:
        return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]

    return {"median": at(0.5), "p95": at(0.95), "max": ordered[-1]}


def imbalance_summary(counts: dict[str, int]) -> str | None:
    present = {k: v for k, v in counts.items() if v}
    if len(present) < 2:
        return None
    big = max(present, key=lambda k: present[k])
    small = min(present, key=lambda k: present[k])
    ratio = present[big] / present[small]
    if ratio < IMBALANCE_RATIO:
        return None
    return (f"class imbalance: '{big}' has {present[big]} examples, '{small}' {present[small]} "
            f"({ratio:.1f}x)")


def few_examples(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v < FEW_EXAMPLES}


def check_class_balance(task: str, rows: Sequence[Row], labels: Sequence[str]) -> Finding | None:
    if task == "regression":
        return None
    counts = class_counts(task, [r.target for r in rows], labels)
    imbalance, few = imbalance_summary(counts), few_examples(counts)
    if not imbalance and not few:
        return None
    parts = [imbalance] if imbalance else []
    if few:
        parts.append(f"fewer than {FEW_EXAMPLES} examples for {_list_counts(few)}")
    rare = set(few) or {min(counts, key=lambda k: counts[k])}
    shown = [example(r) for r in rows if r.target is not None
             and (set(r.target) if task == "multi" else {r.target}) & rare][:MAX_EXAMPLES]
    return Finding(
        "class_balance", "warning", len(few) or 1, "; ".join(parts) + ".",
        "Judge the model by macro-F1, not accuracy; `lmforge train` weighs the classes "
        "(--class-weights auto) from a 3x imbalance. Add examples of the rare classes, or merge "
        "classes that have too few to learn.", shown)


def _list_counts(counts: dict[str, int], limit: int = 8) -> str:
    items = [f"'{k}' ({v})" for k, v in list(counts.items())[:limit]]
    more = len(counts) - limit
    return ", ".join(items) + (f" and {more} more" if more > 0 else "")


# ------------------------------------------------------------------ rows


def check_empty(rows: Sequence[Row], labelled: bool) -> list[Finding]:
    out = []
    empty = [r for r in rows if not r.text]
    if empty:
        out.append(Finding(
            "empty_text", "warning", len(empty),
            f"{len(empty)} rows have no text (empty, or only HTML/whitespace).",
            "Fill in the text or delete the rows; `lmforge train` drops them.",
            [example(r) for r in empty[:MAX_EXAMPLES]]))
    missing = [r for r in rows if r.text and r.target is None] if labelled else []
    if missing:
        out.append(Finding(
            "missing_label", "warning", len(missing),
            f"{len(missing)} rows with a text have no label.",
            "Label them, or delete them; `lmforge train` drops them.",
            [example(r) for r in missing[:MAX_EXAMPLES]]))
    return out


def check_suspicious(rows: Sequence[Row]) -> Finding | None:
    kinds: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if not r.text:
            continue
        if URL_ONLY.match(r.text):
            kinds["URL only"].append(r)
        elif NUMBERS_ONLY.match(r.text):
            kinds["numbers only"].append(r)
        elif len(r.text) < VERY_SHORT_CHARS:
            kinds[f"under {VERY_SHORT_CHARS} characters"].append(r)
    if not kinds:
        return None
    total = sum(len(v) for v in kinds.values())
    shown = [example(r, why=kind) for kind, found in kinds.items() for r in found[:2]]
    return Finding(
        "suspicious_text", "warning", total,
        f"{total} texts look like no real text: "
        + ", ".join(f"{kind} {len(found)}" for kind, found in kinds.items()) + ".",
        "Check the export (a wrong column, a scraped link instead of its page); delete rows "
        "that carry nothing to learn from.", shown[:MAX_EXAMPLES])


def check_duplicates(rows: Sequence[Row]) -> list[Finding]:
    """Exact duplicates (same text, same label), conflicts (same text, other labels), and
    near-duplicates (equal after ``normalize_for_near_duplicates``, different as written)."""
    by_text: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r.text:
            by_text[r.text].append(r)
    out = []
    conflicts = [g for g in by_text.values()
                 if len({r.label for r in g if r.target is not None}) > 1]
    if conflicts:
        n_rows = sum(len(g) for g in conflicts)
        shown = [example(r, group=i + 1) for i, g in enumerate(conflicts[:3]) for r in g[:3]]
        out.append(Finding(
            "conflicting_labels", "warning", n_rows,
            f"{len(conflicts)} texts appear with different labels ({n_rows} rows); "
            "`lmforge train` drops all of them.",
            "Decide the right label of each and keep one row; if both labels are right, the "
            "task may be multi-label (--task multi).", shown[:MAX_EXAMPLES + 1]))
    conflicting = {g[0].text for g in conflicts}
    dups = [g for g in by_text.values() if len(g) > 1 and g[0].text not in conflicting]
    if dups:
        extra = sum(len(g) - 1 for g in dups)
        shown = [example(r, group=i + 1) for i, g in enumerate(dups[:3]) for r in g[:2]]
        out.append(Finding(
            "exact_duplicates", "warning" if extra / max(1, len(rows)) >= DUPLICATE_SHARE
            else "info", extra,
            f"{extra} rows repeat an earlier row's text and label ({len(dups)} texts); "
            "`lmforge train` keeps one of each.",
            "Nothing to do for training; if the copies are an export error, they would "
            "inflate scores on a test split made elsewhere.", shown))
    by_key: dict[str, dict[str, Row]] = defaultdict(dict)
    for text, group in by_text.items():
        key = normalize_for_near_duplicates(text)
        if key:
            by_key[key].setdefault(text, group[0])
    near = [list(g.values()) for g in by_key.values() if len(g) > 1]
    if near:
        disagree = sum(1 for g in near if len({r.label for r in g}) > 1)
        shown = [example(r, group=i + 1) for i, g in enumerate(near[:3]) for r in g[:2]]
        out.append(Finding(
            "near_duplicates", "warning" if disagree else "info", len(near),
            f"{len(near)} groups of texts differ only in case, punctuation or spacing"
            + (f"; {disagree} of them carry different labels" if disagree else "") + ".",
            "They count as separate examples and can sit on both sides of a split (optimistic "
            "test scores). Keep one text per group; fix the labels of groups that disagree.",
            shown))
    return out


def check_leakage(data_rows: Sequence[Row], test_rows: Sequence[Row],
                  test_name: str) -> Finding | None:
    """Texts of ``test_rows`` also in ``data_rows``, identical or near-duplicate: the
    definition ``lmforge train`` uses (``lmforge.data.split.find_leaks``), so both count
    the same texts."""
    leaks = find_leaks([r.text for r in data_rows], [r.text for r in test_rows])
    if not leaks:
        return None
    exact = [x for x in leaks if x.kind == "identical"]
    near = [x for x in leaks if x.kind != "identical"]
    shown = [{**example(test_rows[x.second]), "data_row": data_rows[x.first].row, "kind": x.kind}
             for group in (exact, near) for x in group[:3]]
    return Finding(
        "leakage", "warning", len(leaks),
        f"{len(exact)} texts of {test_name} are identical to texts of the training data, and "
        f"{len(near)} more differ only in case, punctuation or spacing: scores on it will be "
        "optimistic.",
        "Remove them from one of the files (usually the training file) before training.",
        shown[:MAX_EXAMPLES])


# ------------------------------------------------------------------ tokens and scripts


def check_lengths(rows: Sequence[Row], lengths: Sequence[int], max_length: int,
                  tokenizer_name: str) -> Finding | None:
    over = [(n, r) for n, r in zip(lengths, rows, strict=True) if n > max_length]
    if not over:
        return None
    share = len(over) / max(1, len(rows))
    over.sort(key=lambda x: -x[0])
    return Finding(
        "over_max_length", "warning" if share >= TRUNCATED_SHARE else "info", len(over),
        f"{len(over)} of {len(rows)} texts ({share:.1%}) are longer than {max_length} tokens "
        f"({tokenizer_name}); training shortens them (--truncation head+tail keeps the start "
        "and the end).",
        (f"Most texts are cut: read them whole with --long-text window (overlapping windows "
         f"of --max-length tokens, logits pooled per text; the longest is {over[0][0]} tokens), "
         "as the news-topics recipe does." if share > 0.5 else
         f"Raise --max-length (the longest is {over[0][0]} tokens; time grows with it) or read "
         "long texts whole with --long-text window if what is cut matters, or leave it: "
         "head+tail keeps the parts that usually carry the verdict."),
        [example(r, tokens=n) for n, r in over[:MAX_EXAMPLES]])


def check_unknown_tokens(rows: Sequence[Row], unknown_shares: Sequence[float],
                         report: dict[str, Any], tokenizer_name: str) -> Finding | None:
    if not report.get("texts"):
        return None
    share = report["texts"] / max(1, len(rows))
    worst = sorted(((s, r) for s, r in zip(unknown_shares, rows, strict=True) if s > 0),
                   key=lambda x: -x[0])
    return Finding(
        "unknown_tokens", "warning" if share >= UNKNOWN_TEXT_SHARE else "info", report["texts"],
        f"{report['texts']} texts ({share:.1%}) are mostly unknown tokens (over "
        f"{report['threshold']:.0%} [UNK]) for the {tokenizer_name} vocabulary; "
        f"{report['share_of_tokens']:.1%} of all tokens are unknown. The model cannot read them.",
        "Use a model pre-trained on this language: `--model multilingual-e5-small` reads about "
        "100 (Chinese, Japanese and Korean included; `--model default` picks it when most "
        "letters are CJK), or --model DIR.",
        [example(r, unknown_share=round(s, 3)) for s, r in worst[:MAX_EXAMPLES]])


def check_scripts(rows: Sequence[Row], scripts: Sequence[str | None]) -> Finding | None:
    counts = Counter(s for s in scripts if s)
    if len(counts) < 2:
        return None
    main, _ = counts.most_common(1)[0]
    others = {s: n for s, n in counts.most_common() if s != main}
    shown = [example(r, script=s) for r, s in zip(rows, scripts, strict=True)
             if s and s != main][:MAX_EXAMPLES]
    share = sum(others.values()) / max(1, sum(counts.values()))
    return Finding(
        "mixed_scripts", "warning" if share >= MIN_SCRIPT_SHARE else "info",
        sum(others.values()),
        f"most texts are written in {main} letters, but "
        + ", ".join(f"{n} in {s}" for s, n in others.items()) + ".",
        "A model pre-trained on one language reads the others poorly: drop texts in other "
        "languages if they are strays, or choose a multilingual model if they belong.", shown)


def check_size(rows: Sequence[Row], task: str) -> Finding | None:
    usable = sum(1 for r in rows if r.text and r.target is not None)
    if usable >= 2 * FEW_EXAMPLES:
        return None
    return Finding(
        "too_few_rows", "warning", usable,
        f"only {usable} usable row{'s' if usable != 1 else ''} (text and label): too few to "
        "split into train/validation/test and to learn from.",
        "Add labelled rows: tens per class at the very least, hundreds for a useful model.",
        [])


# ------------------------------------------------------------------ quick checks in train


def train_warnings(data: dict[str, Any], n_train: int, task: str) -> list[str]:
    """Warnings from numbers ``lmforge train`` has computed: class counts, cleaning report,
    texts over max_length, leakage between the splits, mostly-unknown texts. Empty when all
    is well."""
    out = []
    counts = data.get("class_counts") or {}
    imbalance = imbalance_summary(counts)
    if imbalance:
        weighed = ("the loss weighs classes (balanced)" if data.get("class_weights")
                   else "classes are not weighed (--class-weights balanced would)")
        out.append(f"{imbalance} in the training split; {weighed}. Judge it by macro-F1.")
    few = few_examples(counts)
    if few:
        out.append(f"fewer than {FEW_EXAMPLES} training examples for {_list_counts(few)}: "
                   "their scores will be unreliable. Add examples or merge classes.")
    cleaning = data.get("cleaning") or {}
    conflicting = cleaning.get("dropped_conflicting_labels", 0)
    if conflicting:
        out.append(f"{conflicting} rows were dropped because their text also appears with "
                   "another label; `lmforge inspect --data FILE` lists them.")
    rows_in, dups = cleaning.get("rows_in") or 0, cleaning.get("dropped_duplicates", 0)
    if rows_in and dups / rows_in >= DUPLICATE_SHARE:
        out.append(f"{dups} of {rows_in} rows were exact duplicates and were dropped; "
                   "check the export.")
    over = (data.get("over_max_length") or {}).get("train", 0)
    if n_train and over / n_train >= TRUNCATED_SHARE and "windows" not in data:
        out.append(f"{over} of {n_train} training texts are longer than {data.get('max_length')} "
                   f"tokens and are shortened ({data.get('truncation')}); raise --max-length if "
                   "what is cut matters.")
    for pair, count in (data.get("leakage") or {}).items():
        first, _, second = pair.partition("/")
        out.append(f"leakage: {count} texts of the {second} split are also in the {first} split "
                   "(identical, or differing only in case, punctuation or spacing): scores on "
                   f"{second} will be optimistic. Remove them from one side; `lmforge inspect "
                   "--data FILE --test FILE` lists them.")
    unknown = data.get("mostly_unknown_tokens") or {}
    if unknown.get("texts") and unknown["texts"] / max(1, n_train) >= UNKNOWN_TEXT_SHARE:
        out.append(f"{unknown['texts']} of {n_train} training texts are mostly unknown tokens "
                   "for this model's vocabulary: the model cannot read them. Use a model "
                   "pre-trained on this language: --model multilingual-e5-small reads about 100, "
                   "or --model DIR.")
    return out
