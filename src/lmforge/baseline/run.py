"""The TF-IDF baseline of every ``train``, its verdict, and TF-IDF run directories.

``fit_baseline`` fits on the run's training split and scores the same test and
validation examples as the transformer, with the same ``score_outputs``, so the
numbers sit side by side in metrics.json. ``compare_to_baseline`` turns the two
test scores and training times into the report's "is it worth it" sentence.
``write_tfidf_artifacts`` writes a ``--model tfidf`` run (``lmforge.runs.kinds`` loads it
as an ``inference.tfidf.TfidfClassifier``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.models.tfidf import ESTIMATORS, TfidfModel, fit_tfidf

log = logging.getLogger(__name__)

# The score compared for each task, and its name in sentences.
COMPARED = {"single": ("accuracy", "accuracy"), "multi": ("micro_f1", "micro-F1"),
            "regression": ("r2", "R2"),
            # token classification (``--task tokens``): BIO entities, or plain tags such as POS
            "tokens-bio": ("f1", "entity F1"), "tokens-tags": ("accuracy", "token accuracy")}
POINTS_PER_TENFOLD = 1.0  # gain (points) asked of the transformer per 10x its training time
NOISE_STANDARD_ERRORS = 2.0  # a gain within 2 standard errors of the test estimate is noise
RULE = ("worth it when the {model}'s test {name} beats the baseline's by more than two "
        "standard errors of the test estimate and by at least one point (0.01) per tenfold of "
        "training time: 10x the baseline's time asks 1 point, 100x 2 points, 1000x 3 points")


def baseline_name(task: str) -> str:
    return f"TF-IDF + {ESTIMATORS[task]}"


def fit_baseline(task: str, parts: dict[str, Any], labels: Sequence[str],
                 class_weight: str | None = None) -> tuple[TfidfModel, dict[str, Any]]:
    """Fit on ``parts["train"]``; score ``test`` and ``validation`` like the transformer.
    ``seconds`` is the fit alone, like the transformer's (importing sklearn is not counted)."""
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    started = time.perf_counter()
    model = fit_tfidf(task, parts["train"].texts, parts["train"].targets, labels, class_weight)
    seconds = time.perf_counter() - started
    name = (f"TF-IDF of both texts + their overlap + {ESTIMATORS[task]}" if model.pair
            else baseline_name(task))
    summary: dict[str, Any] = {"model": name, "seconds": seconds,
                               "examples": len(parts["train"]), "features": model.describe()}
    summary.update(score_splits(model, parts, labels))
    return model, summary


def score_splits(model: TfidfModel, parts: dict[str, Any], labels: Sequence[str]) -> dict[str, Any]:
    from lmforge.scoring import score_outputs

    return {name: score_outputs(model.task, model.scores(parts[name].texts), parts[name].targets,
                                labels)
            for name in ("test", "validation") if name in parts and len(parts[name])}


def compare_to_baseline(task: str, model_test: dict[str, Any], baseline_test: dict[str, Any],
                        model_seconds: float | None, baseline_seconds: float | None,
                        model_name: str = "transformer",
                        baseline_label: str = "TF-IDF baseline") -> dict[str, Any]:
    """The "is the transformer worth its cost" verdict, with the numbers behind it.
    ``model_name`` names the model in the sentences ("ensemble" for a blend with the
    baseline, whose training time is both parts').

    Gain is in points (hundredths) of accuracy (single), micro-F1 (multi) or R2
    (regression); the time ratio is the transformer's training seconds over the
    baseline's. The noise is two standard errors of the test estimate: binomial
    sqrt(p(1-p)/n) for the shares, Olkin-Finn 2 sqrt(R2)(1-R2)/sqrt(n) for R2.
    """
    key, name = COMPARED[task]
    rule = RULE.format(name=name, model=model_name)
    m, b, n = model_test.get(key), baseline_test.get(key), int(model_test.get("n") or 0)
    if m is None or b is None or not n or not model_seconds or not baseline_seconds:
        return {"metric": key, "worth_it": None, "rule": rule,
                "sentence": f"The {model_name} and the baseline could not be compared (no test "
                            "score or no training time)."}
    gain = 100.0 * (m - b)
    ratio = model_seconds / baseline_seconds
    required = POINTS_PER_TENFOLD * max(0.0, math.log10(ratio))
    if task == "regression":
        r2 = min(max(m, 0.0), 1.0)
        se = 2.0 * math.sqrt(r2) * (1.0 - r2) / math.sqrt(n)
    else:
        p = min(max((m + b) / 2.0, 0.0), 1.0)
        se = math.sqrt(p * (1.0 - p) / n)
    noise = 100.0 * NOISE_STANDARD_ERRORS * se
    times = f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x"
    scores = f"{m:.3f} vs {b:.3f}"
    if gain <= 0:
        worth, sentence = False, (
            f"Not worth its cost here: the {baseline_label}'s test {name} matches or beats the "
            f"{model_name}'s ({b:.3f} vs {m:.3f}), and the {model_name} took {times} its training "
            "time.")
    elif gain <= noise:
        worth, sentence = False, (
            f"Not clearly worth its cost here: the {model_name}'s test {name} is {gain:.1f} points "
            f"higher ({scores}), which is within the noise of {n} test examples (±{noise:.1f} "
            f"points), for {times} the training time.")
    elif gain < required:
        worth, sentence = False, (
            f"Probably not worth its cost here: {gain:.1f} points more test {name} ({scores}) for "
            f"{times} the training time, where the rule asks {required:.1f} points.")
    else:
        worth, sentence = True, (
            f"Worth its cost here: {gain:.1f} points more test {name} ({scores}) for {times} the "
            f"training time (the rule asks {required:.1f} points, noise ±{noise:.1f}).")
    return {"metric": key, "model": m, "baseline": b, "gain_points": gain, "time_ratio": ratio,
            "required_points": required, "noise_points": noise, "worth_it": worth,
            "sentence": sentence, "rule": rule}


# ------------------------------------------------------------------ --model tfidf runs


def tfidf_metrics(summary: dict[str, Any], data_summary: dict[str, Any]) -> dict[str, Any]:
    """metrics.json of a ``--model tfidf`` run: the usual shape, the baseline as the model."""
    metrics: dict[str, Any] = {s: summary[s] for s in ("test", "validation") if s in summary}
    seconds = summary["seconds"]
    metrics["train"] = {
        "model": summary["model"], "seconds": seconds, "examples": summary["examples"],
        "samples_per_second": summary["examples"] / seconds if seconds else None,
        "features": summary["features"], "history": [],
    }
    metrics["data"] = data_summary
    return metrics


def write_tfidf_artifacts(tmp: Path, model: TfidfModel, metrics: dict[str, Any],
                          config: dict[str, Any], out: Path, test_part: Any = None) -> None:
    """model/, metrics.json, confusion_matrix.png, report.md and README.md of a tfidf run
    (config.yaml is written by the caller, like for every run); with the test split,
    mistakes.csv and the reliability diagram too."""
    from lmforge.eval.details import write_test_details
    from lmforge.eval.diagnostics import model_warnings
    from lmforge.eval.plots import save_confusion_matrix_png
    from lmforge.eval.report import render_model_card, render_report_md
    from lmforge.models.tfidf import save_tfidf
    from lmforge.rundir import TFIDF, write_json, write_manifest, write_text_atomic
    from lmforge.scoring import mistakes as find_mistakes

    task, labels = model.task, model.labels
    save_tfidf(model, tmp / "model")
    write_manifest(tmp, TFIDF)
    metrics["warnings"] = model_warnings(metrics)
    for message in metrics["warnings"]:
        log.warning("%s", message)
    write_json(tmp / "metrics.json", metrics)
    mistakes = None
    if task == "single" and test_part is not None and len(test_part):
        mistakes = find_mistakes(model.scores(test_part.texts), test_part.targets, labels,
                                 test_part.texts)
    details = write_test_details(tmp, metrics, mistakes,
                                 test_part.rows if test_part is not None else ())
    confusion = None
    if task == "single" and "test" in metrics:
        confusion = "confusion_matrix.png"
        save_confusion_matrix_png(metrics["test"]["confusion_matrix"], labels, tmp / confusion,
                                  title=f"Confusion matrix (test, n={metrics['test']['n']})")
    write_text_atomic(tmp / "report.md", render_report_md(
        metrics, task, data_summary=metrics["data"], train_summary=metrics["train"],
        confusion_png=confusion, mistakes=mistakes, details=details))
    write_text_atomic(tmp / "README.md", render_model_card(
        model_name=out.name, base_model=baseline_name(task), task=task, labels=labels,
        metrics=metrics, config=config, usage_dir=str(out), backend="tfidf"))
