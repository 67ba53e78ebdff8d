"""Scores of token classification: entity-level precision/recall/F1 (seqeval, overall and
per type) for BIO tags, token accuracy always, and what the report shows beside them: the
most confused tags and sample sentences, gold vs predicted.

Entities are read like CoNLL's ``conlleval`` (seqeval's default mode): a prediction's
``I-X`` that starts an entity counts as starting one, so an ill-formed prediction is
scored, not dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

TOP_CONFUSIONS = 10
SAMPLES = 5


def headline_key(scheme: str) -> str:
    """The score that picks the best epoch and is compared with the CRF: entity F1 (BIO),
    token accuracy (plain tags such as part-of-speech)."""
    return "f1" if scheme == "bio" else "accuracy"


def score_tags(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str,
               tokens: Sequence[Sequence[str]] | None = None) -> dict[str, Any]:
    """metrics.json's ``test`` of a token run. ``n`` is what the headline score counts:
    gold entities (BIO) or tokens (plain tags)."""
    pairs = [(g, p) for gs, ps in zip(gold, predicted, strict=True)
             for g, p in zip(gs, ps, strict=True)]
    n_tokens = len(pairs)
    correct = sum(g == p for g, p in pairs)
    out: dict[str, Any] = {"scheme": scheme, "sentences": len(gold), "tokens": n_tokens,
                           "accuracy": correct / n_tokens if n_tokens else 0.0}
    if scheme == "bio":
        out.update(_entity_scores(gold, predicted))
        out["n"] = out["entities"]
    else:
        out.update(_tag_scores(pairs))
        out["n"] = n_tokens
    confusions = Counter((g, p) for g, p in pairs if g != p)
    out["confused"] = [{"gold": g, "predicted": p, "count": c}
                       for (g, p), c in confusions.most_common(TOP_CONFUSIONS)]
    if tokens is not None:
        out["samples"] = _samples(tokens, gold, predicted, scheme)
    return out


def _entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, Any]:
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score

    gold_l, pred_l = [list(s) for s in gold], [list(s) for s in predicted]
    report = classification_report(gold_l, pred_l, output_dict=True, zero_division=0)
    per_type = {kind: {"precision": float(r["precision"]), "recall": float(r["recall"]),
                       "f1": float(r["f1-score"]), "support": int(r["support"])}
                for kind, r in report.items() if not kind.endswith(" avg")}
    macro = report.get("macro avg", {})
    return {
        "precision": float(precision_score(gold_l, pred_l, zero_division=0)),
        "recall": float(recall_score(gold_l, pred_l, zero_division=0)),
        "f1": float(f1_score(gold_l, pred_l, zero_division=0)),
        "macro_f1": float(macro.get("f1-score", 0.0)),
        "entities": sum(r["support"] for r in per_type.values()),
        "per_type": per_type,
    }


def _tag_scores(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    gold_count = Counter(g for g, _ in pairs)
    pred_count = Counter(p for _, p in pairs)
    hits = Counter(g for g, p in pairs if g == p)
    per_type = {}
    for tag in sorted(gold_count):
        precision = hits[tag] / pred_count[tag] if pred_count[tag] else 0.0
        recall = hits[tag] / gold_count[tag]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_type[tag] = {"precision": precision, "recall": recall, "f1": f1,
                         "support": gold_count[tag]}
    macro = sum(r["f1"] for r in per_type.values()) / len(per_type) if per_type else 0.0
    return {"macro_f1": macro, "per_type": per_type}


def _samples(tokens: Sequence[Sequence[str]], gold: Sequence[Sequence[str]],
             predicted: Sequence[Sequence[str]], scheme: str) -> list[dict[str, Any]]:
    """The first few sentences the model got wrong (then right ones), gold vs predicted."""
    wrong = [i for i in range(len(gold)) if list(gold[i]) != list(predicted[i])]
    right = [i for i in range(len(gold)) if list(gold[i]) == list(predicted[i])]
    return [{"tokens": list(tokens[i]), "gold": list(gold[i]), "predicted": list(predicted[i]),
             "correct": list(gold[i]) == list(predicted[i])}
            for i in (wrong + right)[:SAMPLES]]
