"""EDA: Easy Data Augmentation (Wei & Zou 2019, "EDA: Easy Data Augmentation
Techniques for Boosting Performance on Text Classification Tasks").

Four word-level operations, each changing about ``ALPHA`` of a text's words
(at least one): synonym replacement (SR), random insertion of a synonym (RI),
random swap (RS) and random deletion (RD, each word dropped with probability
``ALPHA``, at least one). Each augmented copy applies one operation, taken in turn, so N
copies per text spread evenly over the four, as in the paper's reference code.
Copies identical to their source text (e.g. no word has a synonym) are not added.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

from lmforge.augment.synonyms import Synonyms
from lmforge.augment.words import STOP_WORDS, is_cjk, join_words, split_words
from lmforge.config.train import AUGMENT_SPEC as SPEC
from lmforge.config.train import spec_problems
from lmforge.errors import ConfigError, DataError

log = logging.getLogger(__name__)

ALPHA = 0.1  # the paper's recommended share of words changed per operation
OPERATIONS = ("synonym_replacement", "random_insertion", "random_swap", "random_deletion")


@dataclass(frozen=True)
class AugmentSpec:
    method: str
    copies: int


def parse_spec(spec: str) -> AugmentSpec:
    problems = spec_problems(spec)
    if problems:
        raise ConfigError(problems[0])
    match = SPEC.match(spec.strip().lower())
    assert match is not None
    return AugmentSpec("eda", int(match.group(1) or 1))


def _changes(n_words: int) -> int:
    return max(1, int(ALPHA * n_words))


def synonym_replacement(words: list[str], synonyms: Synonyms, rng: random.Random) -> list[str]:
    out = list(words)
    positions = [i for i, w in enumerate(words) if w.lower() not in STOP_WORDS
                 and synonyms.get(w.lower())]
    rng.shuffle(positions)
    for i in positions[: _changes(len(words))]:
        out[i] = _same_case(rng.choice(synonyms[words[i].lower()]), words[i])
    return out


def random_insertion(words: list[str], synonyms: Synonyms, rng: random.Random) -> list[str]:
    out = list(words)
    sources = [w for w in words if w.lower() not in STOP_WORDS and synonyms.get(w.lower())]
    if not sources:
        return out
    for _ in range(_changes(len(words))):
        new = rng.choice(synonyms[rng.choice(sources).lower()])
        out.insert(rng.randint(0, len(out)), new)
    return out


def random_swap(words: list[str], rng: random.Random) -> list[str]:
    out = list(words)
    if len(out) < 2:
        return out
    for _ in range(_changes(len(words))):
        i, j = rng.sample(range(len(out)), 2)
        out[i], out[j] = out[j], out[i]
    return out


def random_deletion(words: list[str], rng: random.Random) -> list[str]:
    if len(words) < 2:
        return list(words)
    kept = [w for w in words if rng.random() > ALPHA]
    if len(kept) == len(words):  # short texts often lose nothing: drop one word so the copy differs
        del kept[rng.randrange(len(kept))]
    return kept or [rng.choice(words)]  # never an empty text


def _same_case(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() and like[1:].islower() else word


def augment_text(text: str, operation: str, synonyms: Synonyms, rng: random.Random) -> str:
    words = split_words(text)
    if operation == "synonym_replacement":
        new = synonym_replacement(words, synonyms, rng)
    elif operation == "random_insertion":
        new = random_insertion(words, synonyms, rng)
    elif operation == "random_swap":
        new = random_swap(words, rng)
    elif operation == "random_deletion":
        new = random_deletion(words, rng)
    else:
        raise ValueError(f"unknown EDA operation {operation!r}")
    return join_words(new, is_cjk(text))


def training_words(texts: list[str]) -> set[str]:
    return {w.lower() for t in texts for w in split_words(t)}


def augment_examples(examples: Any, spec: AugmentSpec, synonyms: Synonyms,
                     seed: int) -> tuple[Any, dict[str, Any]]:
    """The training examples followed by their augmented copies, and the counts.

    Pass the training split only: validation and test must stay real text.
    """
    from lmforge.data.clean import Examples

    if not len(examples):
        raise DataError("augment: the training split is empty, so there is nothing to augment. "
                        "Add training rows, or lower --validation-fraction/--test-fraction.")
    rng = random.Random(seed)
    texts, targets, rows = list(examples.texts), list(examples.targets), list(examples.rows)
    added: Counter[str] = Counter()
    unchanged = 0
    turn = 0
    for i, text in enumerate(examples.texts):
        for _ in range(spec.copies):
            operation = OPERATIONS[turn % len(OPERATIONS)]
            turn += 1
            new = augment_text(text, operation, synonyms, rng)
            if new == text or not new.strip():
                unchanged += 1
                continue
            texts.append(new)
            targets.append(examples.targets[i])
            if examples.rows:
                rows.append(examples.rows[i])
            added[operation] += 1
    summary = {
        "method": spec.method, "copies_per_text": spec.copies, "alpha": ALPHA,
        "original_texts": len(examples), "texts_added": sum(added.values()),
        "per_operation": {op: added[op] for op in OPERATIONS},
        "skipped_unchanged": unchanged, "seed": seed,
    }
    log.info("augmentation (eda:%d): %d training texts -> %d (%s; %d copies equal to their "
             "source skipped)", spec.copies, len(examples), len(texts),
             ", ".join(f"{op.replace('_', ' ')} {n}" for op, n in summary["per_operation"].items()),
             unchanged)
    augmented = Examples(texts=texts, targets=targets, task=examples.task, source=examples.source,
                         rows=rows)
    return augmented, summary


def augmentation_lines(summary: dict[str, Any]) -> list[str]:
    """report.md lines for metrics.json's ``data.augmentation``."""
    per_op = ", ".join(f"{op.replace('_', ' ')} {n}" for op, n in summary["per_operation"].items())
    lines = [f"- method: EDA (Wei & Zou 2019), {summary['copies_per_text']} augmented "
             f"cop{'y' if summary['copies_per_text'] == 1 else 'ies'} per training text, "
             f"alpha {summary['alpha']}, seed {summary['seed']}; training split only",
             f"- training texts: {summary['original_texts']} original + {summary['texts_added']} "
             f"added ({per_op})",
             f"- copies equal to their source, not added: {summary['skipped_unchanged']}"]
    if summary.get("synonyms"):
        lines.append(f"- synonyms: {summary['synonyms']}")
    return lines


def build_synonyms(synonym_file: str | None, model_dir: Any, texts: list[str]) -> tuple[Synonyms, str]:
    """The synonym table for these training texts, and where it came from (for the report)."""
    from lmforge.augment.synonyms import embedding_synonyms, read_synonym_file

    if synonym_file:
        table = read_synonym_file(synonym_file)
        return table, f"file {synonym_file} ({len(table)} words)"
    table = embedding_synonyms(model_dir, training_words(texts))
    return table, (f"nearest neighbours in {model_dir.name}'s input embeddings "
                   f"({len(table)} training words have one)")


def augment_training_split(cfg: Any, train_part: Any,
                           model_dir: Any) -> tuple[Any, dict[str, Any]]:
    """``lmforge train --augment``: the augmented training split, and its counts (metrics.json
    ``data.augmentation``)."""
    from lmforge.models.registry import resolve_model_dir

    spec = parse_spec(cfg.augment)
    if not len(train_part):
        augment_examples(train_part, spec, {}, cfg.seed)  # raises the empty-split DataError
    # --model tfidf has no embeddings of its own: the default encoder's stand in
    source_dir = model_dir if model_dir is not None else resolve_model_dir("default")
    synonyms, where = build_synonyms(cfg.synonyms, source_dir, train_part.texts)
    augmented, summary = augment_examples(train_part, spec, synonyms, cfg.seed)
    summary["synonyms"] = where
    return augmented, summary
