"""``inspect_tokens``: a token-classification file (``--task tokens``) read as ``train``
reads it, every check of ``inspect.token_checks`` run, one report dict.

The file is read by ``data.conll.read_token_file`` with the BIO repair held back (so the
errors it would fix are listed with their lines) and with empty JSONL sentences kept (so
all of them are listed, not only the first); the entity and tag counts are then taken on
the repaired tags, as ``train`` sees them. Lengths and unknown tokens come from the chosen
model's tokenizer, through the same sub-word split ``train`` uses (``data.token_windows``).
"""

from __future__ import annotations

import logging
from typing import Any

from lmforge.inspect.checks import Finding, length_summary
from lmforge.inspect.config import InspectConfig

log = logging.getLogger(__name__)

LINE_NUMBERS = "line numbers of the file, from 1: the token's line (CoNLL) or the sentence's"


def inspect_tokens(cfg: InspectConfig, detected: str | None = None) -> Any:
    """The ``InspectResult`` of a token file; ``detected``: why --task auto chose tokens."""
    from lmforge.data.conll import BIO, bio_errors, read_token_file, repair_bio, repair_kinds
    from lmforge.inspect import token_checks as checks
    from lmforge.inspect.run import InspectResult

    if cfg.model.lower() == "tfidf":
        from lmforge.errors import ConfigError

        raise ConfigError("model: tfidf classifies whole texts and has no tokenizer; token runs "
                          "fine-tune an encoder. Leave --model out (the encoder train would "
                          "pick), or name one.")
    auto = cfg.model.lower() == "default"
    tokenizer, tokenizer_name = (None, "") if auto else _tokenizer(cfg.model)

    data = read_token_file(cfg.data, repair=False, keep_empty=True)
    sentences, scheme, unit = data.sentences, data.scheme, data.unit
    errors = bio_errors(sentences) if scheme == BIO else []
    if scheme == BIO:
        repair_bio(sentences)  # counts as train sees them
    tags = checks.tag_counts(sentences)
    entities = checks.entity_counts(sentences) if scheme == BIO else {}
    n_entities = sum(entities.values())

    findings: list[Finding | None] = [checks.check_size(sentences),
                                      checks.check_empty(sentences, unit)]
    findings.append(checks.check_bio_errors(sentences, errors, unit, n_entities))
    findings += checks.check_duplicates(sentences, unit)
    findings.append(checks.check_rare_tags(sentences, tags, scheme, unit))

    model_reason = None
    if auto:
        from lmforge.models.build import load_tokenizer
        from lmforge.models.registry import resolve_default_encoder

        sep = "" if unit == "char" else " "
        entry, model_reason, path = resolve_default_encoder(
            [sep.join(s.tokens) for s in sentences[:2000] if s.tokens])  # as train picks
        tokenizer, tokenizer_name = load_tokenizer(path), entry.name
    with_tokens = [s for s in sentences if s.tokens]
    stats = _subword_stats(tokenizer, with_tokens, cfg.max_length)
    findings.append(checks.check_windows(with_tokens, stats["words"], stats["subwords"],
                                         stats["windows"], cfg.max_length, tokenizer_name, unit))
    findings.append(checks.check_cut_tokens(stats["cut"], stats["budget"], unit))
    n_tokens = sum(stats["words"])
    findings.append(checks.check_unknown(with_tokens, stats["unknown"], n_tokens,
                                         tokenizer_name, unit))

    kinds = repair_kinds(errors)
    report: dict[str, Any] = {
        "kind": "tokens", "data": str(cfg.data), "test": cfg.test,
        "task": "tokens (" + (f"detected: {detected}; train it with --task tokens" if detected
                              else "given with --task tokens") + ")",
        "format": data.format, "scheme": scheme, "unit": unit,
        "sentences": len(sentences), "tokens": n_tokens, "row_numbers": LINE_NUMBERS,
        "labels": list(tags), "tag_counts": tags,
    }
    if scheme == BIO:
        report["entity_counts"] = entities
        report["sentences_without_entities"] = sum(
            1 for s in with_tokens if not any(t != "O" for t in s.tags))
        report["bio_errors"] = {"total": len(errors), **kinds}
    if model_reason:
        report["model"] = {"name": tokenizer_name, "reason": model_reason}
    report["words_per_sentence"] = length_summary(stats["words"])
    report["length"] = {"tokenizer": tokenizer_name, "max_length": cfg.max_length,
                        **length_summary(stats["subwords"]),
                        "over_max_length": sum(k > 1 for k in stats["windows"]),
                        "windows": sum(k for k in stats["windows"] if k > 1),
                        "tokens_over_a_window": len(stats["cut"])}
    n_subwords = stats["n_subwords"]
    report["unknown_tokens"] = {
        "tokens": len(stats["unknown"]), "share_of_tokens": len(stats["unknown"]) / max(1, n_tokens),
        "share_of_subwords": stats["unknown_subwords"] / max(1, n_subwords)}

    if cfg.test:
        test = read_token_file(cfg.test, scheme=scheme)  # repaired, as train reads it
        findings.append(checks.check_leakage(with_tokens, test.sentences, str(cfg.test), unit))
        findings.append(checks.check_unseen_tags(tags, test.sentences, str(cfg.test), unit))
        report["test_sentences"] = len(test.sentences)

    found = [f for f in findings if f is not None]
    found.sort(key=lambda f: f.severity != "warning")  # warnings first, each group in check order
    report["findings"] = [f.as_dict() for f in found]
    return InspectResult(report, stats["subwords"])


def _tokenizer(model: str) -> tuple[Any, str]:
    from lmforge.inspect.run import _tokenizer as text_tokenizer

    return text_tokenizer(model)


def _subword_stats(tokenizer: Any, sentences: list[Any], max_length: int) -> dict[str, Any]:
    """Per sentence: words, sub-words (special tokens included, as --max-length counts them)
    and windows; the tokens cut to a window's budget and the unknown ones. The split, the
    budget and the windows are ``encode_sentences``'s own."""
    from lmforge.data.token_windows import is_unknown, special_frame, token_pieces, word_windows

    before, after = special_frame(tokenizer)
    budget = max(1, max_length - len(before) - len(after))
    unk = tokenizer.unk_token_id
    out: dict[str, Any] = {"words": [], "subwords": [], "windows": [], "cut": [], "unknown": [],
                           "budget": budget, "n_subwords": 0, "unknown_subwords": 0}
    for s, pieces in enumerate(token_pieces(tokenizer, [x.tokens for x in sentences])):
        lengths = [len(p) for p in pieces]
        out["words"].append(len(pieces))
        out["subwords"].append(sum(lengths) + len(before) + len(after))
        out["windows"].append(len(word_windows([min(n, budget) for n in lengths], budget)))
        out["cut"] += [(sentences[s], i, n) for i, n in enumerate(lengths) if n > budget]
        out["unknown"] += [(s, i) for i, p in enumerate(pieces) if is_unknown(p, unk)]
        out["n_subwords"] += sum(lengths)
        out["unknown_subwords"] += sum(1 for p in pieces for t in p if t == unk)
    return out
