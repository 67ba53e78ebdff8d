"""Why the model decided: per-word attributions of one output of a loaded run.

Two methods, one result shape (``Explanation``):

``ig`` — Integrated Gradients (Sundararajan et al. 2017) with Captum's
``LayerIntegratedGradients`` on the model's input (word) embeddings layer. The
baseline is the same sequence with every text token replaced by ``[PAD]`` and the
special tokens (``[CLS]``, ``[SEP]``) kept: the standard choice for transformers
(Captum's BERT tutorial), so the baseline is "the frame with no words in it" and
the special tokens, identical in both, get exactly zero. Attributions explain the
target's *logit* (pre-softmax/sigmoid score, or the regression value).
IG's completeness axiom says they sum to ``logit(target | input) -
logit(target | baseline)``; the integral is approximated with ``steps`` points
(Gauss-Legendre), so we measure the gap and double the steps until it is within
``tolerance`` (relative to ``max(1, |logit difference|)``), up to ``max_steps``.

``occlusion`` — leave-one-word-out, model-agnostic (it only calls
``clf.logits(texts)``, so it works on ONNX and TF-IDF runs too): a word's attribution
is the drop in the target's *logit* when that word is removed from the text (same
units as IG, so the two can be compared side by side). Positive: the word pushed the
model towards the target.

``linear`` — TF-IDF runs only: the linear model's own per-word contributions
(coefficient x tf-idf weight), exact (``lmforge.explain.linear``). Single-label
TF-IDF runs are explained, by ``linear`` and ``occlusion`` alike, on the target's
logit minus the other labels' mean logit (the log-odds for two labels).

``auto`` (the default) picks ``ig`` for PyTorch runs, ``linear`` for TF-IDF runs and
``occlusion`` for ONNX runs, and logs which.

Ensemble runs (``--ensemble auto`` kept the TF-IDF baseline): a blend is explained by
``occlusion`` on its own output (the log-probability of the target, single-label); ``ig``
and ``linear`` would explain one part only and are refused. When the ensemble chose the
TF-IDF part alone, that part is what predicts, and it is explained like a TF-IDF run.

Texts longer than the model takes are explained on the part the model read (the
run's ``max_length`` and ``truncation``); the dropped words are listed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lmforge.errors import ConfigError, DataError
from lmforge.explain.words import WordPieces, align, without_spans

log = logging.getLogger(__name__)

METHODS = ("auto", "ig", "occlusion", "linear")
DEFAULT_STEPS = 50
DEFAULT_MAX_STEPS = 800
DEFAULT_TOLERANCE = 0.01
REGRESSION_TARGET = "value"


@dataclass
class Explanation:
    """Per-word attributions of one target for one text."""

    index: int
    """Position of the text in the input list (multi-label: one Explanation per target)."""
    text: str
    """The text as the model read it (cleaned: HTML, control characters and spaces normalised);
    ``spans`` index into it."""
    words: list[str]
    spans: list[tuple[int, int]]
    scores: list[float]
    """Attribution of each word to the target's logit; > 0 pushes towards the target."""
    target: str
    """The label explained (regression: "value")."""
    method: str
    task: str
    probabilities: dict[str, float] | None
    """Probability of each class (single: softmax, multi: sigmoid); None for regression."""
    predicted: Any
    """The prediction: a label, a list of labels (multi), or a number (regression)."""
    target_logit: float
    """logit(target | input) the scores explain (occlusion: of the text the model read)."""
    baseline_logit: float | None = None
    """IG: logit(target | all-[PAD] baseline); linear: the score of an empty text (intercept)."""
    completeness_gap: float | None = None
    """IG, linear: |sum(scores) - (target_logit - baseline_logit)|."""
    relative_gap: float | None = None
    """IG, linear: completeness_gap / max(1, |target_logit - baseline_logit|) (IG: compared with
    tolerance)."""
    steps: int | None = None
    """IG: integration steps used."""
    converged: bool | None = None
    """IG: relative_gap <= tolerance (False when max_steps was reached first)."""
    truncated: bool = False
    dropped_words: list[str] = field(default_factory=list)
    """Words the model did not read (truncation), in text order."""
    dropped_spans: list[tuple[int, int]] = field(default_factory=list)
    max_length: int = 0
    truncation: str = ""
    score_of: str = "logit"
    """What target_logit and the scores measure: "logit" (regression: "value"); single-label
    TF-IDF runs: "log-odds" (two labels) or the logit minus the other labels' mean logit."""
    versus: str | None = None
    """A "why not" view: the label the target is contrasted with; the scores then explain
    target_logit - logit(versus) (> 0: towards the target rather than ``versus``)."""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["spans"] = [list(s) for s in self.spans]
        out["dropped_spans"] = [list(s) for s in self.dropped_spans]
        return out


def check_settings(method: str, steps: int, max_steps: int, tolerance: float) -> list[str]:
    problems = []
    if method not in METHODS:
        problems.append(f"method: must be one of {', '.join(METHODS)}; got {method!r}")
    if steps < 1:
        problems.append(f"steps: must be >= 1, got {steps}")
    if max_steps < steps:
        problems.append(f"max_steps: must be >= steps ({steps}), got {max_steps}")
    if not tolerance > 0:
        problems.append(f"tolerance: must be > 0, got {tolerance}")
    return problems


def explain(run_or_classifier: Any, texts: Sequence[str], method: str = "auto",
            target: str | Sequence[str] | None = None, steps: int = DEFAULT_STEPS,
            max_steps: int = DEFAULT_MAX_STEPS,
            tolerance: float = DEFAULT_TOLERANCE,
            why_not: str | None = None, word: int | None = None) -> list[Any]:
    """Explain the predictions of a run (a run directory or a loaded classifier) on texts.

    ``target``: a label (or list of labels) to explain; default: the predicted class
    (single-label), each label predicted positive or else the top one (multi-label), the
    predicted value (regression). One ``Explanation`` per text and target, in text order.

    ``why_not`` (single-label): a label to contrast with; each explanation is then followed
    by a "why not" one (``versus`` set) whose scores are the difference of the two labels'
    attributions, which explains the difference of their logits (every method here is
    linear in the output explained). Texts whose explained label is ``why_not`` get none.

    A token run (``--task tokens``) returns ``explain.tokens.TokenExplanation``s instead: one
    per entity the model found, or for the word numbered ``word`` (from 0), by occlusion.
    """
    from lmforge.data.clean import clean_text
    from lmforge.inference.surface import as_texts

    problems = check_settings(method, steps, max_steps, tolerance)
    if problems:
        raise ConfigError("invalid explain settings: " + "; ".join(problems))
    loaded = _load(run_or_classifier)
    if getattr(loaded, "task", None) == "tokens":
        from lmforge.explain.tokens import explain_tokens

        return explain_tokens(loaded, texts, word=word, method=method, target=target,
                              why_not=why_not)
    if word is not None:
        raise ConfigError("word: --word picks one word of a token run (`lmforge train --task "
                          f"tokens`); this run classifies whole texts ({loaded.task}). Leave "
                          "--word out.")
    clf = _explained_part(loaded)
    if (getattr(clf, "settings", None) or {}).get("pair"):
        raise DataError("explanations are for models that read one text; this run reads "
                        "sentence pairs (config.yaml 'pair'). Use predict.")
    texts = as_texts(texts)
    if not texts:
        raise DataError("no texts to explain: pass at least one text")
    requested = _requested_targets(clf, target)
    versus = _why_not_index(clf, why_not)
    method = _resolve_method(clf, method)
    cleaned = [clean_text(t) for t in texts]
    aligned: list[WordPieces] = []
    for i, (raw, text) in enumerate(zip(texts, cleaned, strict=True)):
        if _is_tfidf(clf):
            from lmforge.explain.linear import tfidf_words

            pieces = tfidf_words(text, clf.model.spec.analyzer)
        else:
            pieces = align(clf.tokenizer, text, clf.max_length, clf.truncation)
        if not pieces.words:
            why = (" after cleaning (HTML tags, control characters and spaces are removed)"
                   if raw.strip() else "")
            raise DataError(f"text #{i} is empty{why}: there is nothing to explain. Give a text "
                            "with at least one word.")
        aligned.append(pieces)
    logits = clf.logits(cleaned)
    results: list[Explanation] = []
    for i, pieces in enumerate(aligned):
        row = logits[i]
        probabilities, predicted = _prediction(clf, row)
        for t_index, t_name in _targets_for(clf, row, requested):
            common = dict(index=i, text=pieces.text, words=list(pieces.words),
                          spans=list(pieces.spans), target=t_name, method=method, task=clf.task,
                          probabilities=probabilities, predicted=predicted,
                          truncated=pieces.truncated, dropped_words=list(pieces.dropped),
                          dropped_spans=list(pieces.dropped_spans),
                          max_length=clf.max_length or 0, truncation=clf.truncation or "")
            settings = (method, steps, max_steps, tolerance)
            explained = _explain_one(clf, pieces, t_index, settings, common)
            results.append(explained)
            if versus is not None and versus != t_index:
                other = _explain_one(clf, pieces, versus, settings,
                                     {**common, "target": clf.labels[versus]})
                results.append(contrast(explained, other))
    return results


def _explain_one(clf: Any, pieces: WordPieces, index: int, settings: tuple[str, int, int, float],
                 common: dict[str, Any]) -> Explanation:
    method, steps, max_steps, tolerance = settings
    if method == "ig":
        return _integrated_gradients(clf, pieces, index, steps, max_steps, tolerance, common)
    if method == "linear":
        from lmforge.explain.linear import word_contributions

        return Explanation(**word_contributions(clf.model, pieces, index), **common)
    return _occlusion(clf, pieces, index, common)


def contrast(explained: Explanation, other: Explanation) -> Explanation:
    """"Why ``explained.target`` and not ``other.target``": the difference of two
    explanations of the same text (scores, logits and baselines subtracted)."""
    import dataclasses

    def minus(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else a - b

    scores = [a - b for a, b in zip(explained.scores, other.scores, strict=True)]
    target_logit = explained.target_logit - other.target_logit
    baseline = minus(explained.baseline_logit, other.baseline_logit)
    gap = relative = None
    if baseline is not None:
        gap = abs(sum(scores) - (target_logit - baseline))
        relative = gap / max(1.0, abs(target_logit - baseline))
    converged = (None if explained.converged is None or other.converged is None
                 else explained.converged and other.converged)
    steps = (None if explained.steps is None or other.steps is None
             else max(explained.steps, other.steps))
    return dataclasses.replace(explained, scores=scores, target_logit=target_logit,
                               baseline_logit=baseline, completeness_gap=gap,
                               relative_gap=relative, converged=converged, steps=steps,
                               versus=other.target)


def _why_not_index(clf: Any, why_not: str | None) -> int | None:
    if why_not is None or not why_not.strip():
        return None
    if clf.task != "single":
        raise ConfigError("why_not: only single-label runs have another class to contrast "
                          f"with; this run is {clf.task}. Leave --why-not out.")
    name = why_not.strip()
    if name not in clf.labels:
        raise ConfigError(f"why_not: {name!r} is not a label of this run; choose one of "
                          f"{', '.join(map(repr, clf.labels))}")
    return clf.labels.index(name)


def _explained_part(clf: Any) -> Any:
    """An ensemble that predicts with its TF-IDF part alone is that part; anything else as is."""
    if _is_ensemble(clf) and clf.choice == "baseline":
        log.info("ensemble run '%s' predicts with its TF-IDF part alone (validation chose the "
                 "baseline): explaining that part", clf.run_dir)
        return clf.baseline
    return clf


def _is_ensemble(clf: Any) -> bool:
    return getattr(clf, "backend", None) == "ensemble"


def _resolve_method(clf: Any, method: str) -> str:
    """``auto`` -> the best method this run allows; a method the run cannot take -> ConfigError."""
    if _is_ensemble(clf):
        if method in ("ig", "linear"):
            part = "transformer" if method == "ig" else "TF-IDF"
            raise ConfigError(
                f"--method {method} would explain the {part} part only, and the run "
                f"'{clf.run_dir}' is an ensemble: it predicts with {clf.describe()}. Use --method "
                "occlusion (leave-one-word-out on the ensemble's own output), or leave --method "
                "out.")
        if method == "auto":
            log.info("ensemble run: explaining by occlusion (--method occlusion) on the blended "
                     "output; Integrated Gradients and the linear weights would explain one part "
                     "only")
            return "occlusion"
        return method
    if method == "auto":
        if _is_tfidf(clf):
            log.info("TF-IDF run: explaining with the linear model's own per-word contributions "
                     "(--method linear, exact); Integrated Gradients needs embeddings it does not "
                     "have, and --method occlusion works too")
            return "linear"
        if not _has_torch_model(clf):
            log.info("ONNX run: explaining by occlusion (--method occlusion); Integrated Gradients "
                     "needs the PyTorch model's gradients")
            return "occlusion"
        return "ig"
    if method == "ig" and _is_tfidf(clf):
        raise ConfigError(
            f"--method ig needs a neural network's input embeddings, and the run '{clf.run_dir}' is "
            "a TF-IDF run (`lmforge train --model tfidf`: n-gram weights and a linear model, no "
            "embeddings). Use --method occlusion (leave-one-word-out), or leave --method out for "
            "the linear model's exact per-word contributions (--method linear).")
    if method == "ig" and not _has_torch_model(clf):
        raise ConfigError(
            f"--method ig needs the PyTorch model's gradients, and the run '{clf.run_dir}' holds an "
            "ONNX model (no gradients). Use --method occlusion (leave-one-word-out, works on any "
            "run), or explain the PyTorch run it was exported from.")
    if method == "linear" and not _is_tfidf(clf):
        raise ConfigError(
            f"--method linear reads the coefficients of a TF-IDF run's linear model, and the run "
            f"'{clf.run_dir}' is a {getattr(clf, 'backend', 'PyTorch')} run. Use --method ig or "
            "occlusion (or leave --method out).")
    return method


def _is_tfidf(clf: Any) -> bool:
    return getattr(clf, "backend", None) == "tfidf"


def _load(run_or_classifier: Any) -> Any:
    if isinstance(run_or_classifier, (str, os.PathLike, Path)):
        from lmforge.runs.load import load_run

        return load_run(run_or_classifier)
    return run_or_classifier


def _has_torch_model(clf: Any) -> bool:
    return getattr(clf, "backend", "torch") != "onnx" and hasattr(
        getattr(clf, "model", None), "get_input_embeddings")


def _requested_targets(clf: Any, target: str | Sequence[str] | None) -> list[str] | None:
    if target is None or (isinstance(target, str) and not target.strip()):
        return None
    names = [t.strip() for t in target.split(",")] if isinstance(target, str) else list(target)
    if clf.task == "regression":
        if any(n != REGRESSION_TARGET for n in names):
            raise ConfigError(f"target: this run is a regression model with one output; leave "
                              f"--target out (or use --target {REGRESSION_TARGET})")
        return [REGRESSION_TARGET]
    unknown = [n for n in names if n not in clf.labels]
    if unknown:
        raise ConfigError(f"target: {', '.join(map(repr, unknown))} "
                          f"{'is' if len(unknown) == 1 else 'are'} not a label of this run; the "
                          f"labels are: {', '.join(clf.labels)}")
    return list(dict.fromkeys(names))


def _prediction(clf: Any, row: Any) -> tuple[dict[str, float] | None, Any]:
    from lmforge.inference.surface import logits_to_outputs

    outputs = logits_to_outputs(clf.task, row[None, :])
    predicted = clf.decode(outputs)[0]
    if clf.task == "regression":
        return None, float(predicted)
    probs = {name: float(p) for name, p in zip(clf.labels, outputs[0], strict=True)}
    return probs, (list(predicted) if clf.task == "multi" else predicted)


def _targets_for(clf: Any, row: Any, requested: list[str] | None) -> list[tuple[int, str]]:
    if clf.task == "regression":
        return [(0, REGRESSION_TARGET)]
    if requested is not None:
        return [(clf.labels.index(n), n) for n in requested]
    if clf.task == "single":
        top = int(row.argmax())
        return [(top, clf.labels[top])]
    positive = [j for j in range(len(clf.labels)) if row[j] >= 0.0]  # sigmoid >= 0.5
    chosen = positive or [int(row.argmax())]
    return [(j, clf.labels[j]) for j in chosen]


def _integrated_gradients(clf: Any, pieces: WordPieces, target: int, steps: int, max_steps: int,
                          tolerance: float, common: dict[str, Any]) -> Explanation:
    import torch
    from captum.attr import LayerIntegratedGradients

    from lmforge.inference.torch import pad_id

    model = clf.model
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ids = torch.tensor([pieces.ids], dtype=torch.long, device=device)
    baseline = ids.clone()
    baseline[0, pieces.n_prefix:len(pieces.ids) - pieces.n_suffix] = pad_id(clf.tokenizer)
    mask = torch.ones_like(ids)

    def forward(input_ids: Any, attention_mask: Any) -> Any:
        return model(input_ids=input_ids, attention_mask=attention_mask).logits

    try:
        with torch.no_grad():
            f_input = float(forward(ids, mask)[0, target])
            f_base = float(forward(baseline, mask)[0, target])
        difference = f_input - f_base
        lig = LayerIntegratedGradients(forward, model.get_input_embeddings())
        used = steps
        while True:
            attributions = lig.attribute(inputs=ids, baselines=baseline,
                                         additional_forward_args=(mask,), target=target,
                                         n_steps=used, internal_batch_size=min(used, 64))
            token_scores = attributions.sum(dim=-1)[0].detach().float().cpu().tolist()
            gap = abs(sum(token_scores) - difference)
            relative = gap / max(1.0, abs(difference))
            if relative <= tolerance or used >= max_steps:
                break
            used = min(used * 2, max_steps)
    finally:
        model.train(was_training)
    converged = relative <= tolerance
    if not converged:
        log.warning("text #%d, target %s: completeness gap %.4g (%.2g of the logit difference) is "
                    "over the tolerance %.2g after max_steps=%d; the attributions are approximate",
                    common["index"], common["target"], gap, relative, tolerance, used)
    scores = [sum(token_scores[p] for p in where) for where in pieces.positions]
    return Explanation(scores=scores, target_logit=f_input, baseline_logit=f_base,
                       completeness_gap=gap, relative_gap=relative, steps=used,
                       converged=converged, **common)


def _occlusion(clf: Any, pieces: WordPieces, target: int, common: dict[str, Any]) -> Explanation:
    # The reference is the text the model read (truncation's dropped words removed), so that
    # removing one word does not pull a dropped one back in.
    read = without_spans(pieces.text, pieces.dropped_spans)
    variants = [without_spans(pieces.text, [*pieces.dropped_spans, span]) for span in pieces.spans]
    logits = clf.logits([read, *variants])
    score_of = "logit"
    if _is_ensemble(clf) and clf.task == "single":  # the blend's logits are log-probabilities
        score_of = "log-probability"
    if _is_tfidf(clf):  # the score the linear method explains (see lmforge.explain.linear)
        from lmforge.explain.linear import contrast_logits, explained_weights

        column = contrast_logits(clf.model, logits, target)
        score_of = explained_weights(clf.model, target)[2]
    else:
        column = logits[:, target]
    reference = float(column[0])
    scores = [reference - float(v) for v in column[1:]]
    return Explanation(scores=scores, target_logit=reference, score_of=score_of, **common)
