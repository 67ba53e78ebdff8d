"""``--ensemble auto``: keep the TF-IDF baseline in the model when validation says it helps.

Every ``lmforge train`` fits a TF-IDF baseline on the same training split. Here the
transformer's and the baseline's probabilities are blended, ``p = w * p_transformer +
(1 - w) * p_baseline`` (``inference.ensemble.blend_logits``), for w = 0.00, 0.05, ..., 1.00,
and each blend is scored on the validation split by the task's headline metric
(``scoring.headline``: macro-F1, or the loss, i.e. the MSE, for regression), the
validation loss (log-loss, binary cross-entropy, MSE) breaking ties. The best blend is
kept when it beats both parts (w = 1 is the transformer alone, w = 0 the baseline
alone) in that order; otherwise the better part is the model. So on validation the
final model is never worse than either part.

Only the validation split's texts and labels enter the choice. The test split is
scored afterwards, for the report: the final model, and each part alone.

Why one weight and no stacker: a logistic regression on both parts' outputs would need
its own cross-validation inside a validation split of a few dozen to a few hundred
examples, and fits k x 2k numbers where one does the job; on small splits it
overfits the very examples that must judge it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

WEIGHT_GRID = tuple(i / 20 for i in range(21))  # 0.00, 0.05, ..., 1.00
# the scores kept per part in metrics.json's "ensemble" (full ones are in "test"/"baseline")
SUMMARY_KEYS = {"single": ("accuracy", "macro_f1", "loss"),
                "multi": ("micro_f1", "macro_f1", "loss"),
                "regression": ("mse", "r2", "loss")}
PART_NAMES = {"transformer": "transformer", "baseline": "TF-IDF baseline", "blend": "blend"}
ENSEMBLE_CARD = """
## This run is an ensemble

`lmforge.load("{run}")` (and predict, evaluate, serve, explain, export) predicts with {what}:
`model/` holds the transformer, `baseline/` the TF-IDF model and `ensemble.json` the weight
(chosen on the validation split; report.md, section Ensemble, has the scores of each part).
Plain transformers loads `model/` alone, i.e. the transformer part without the blend.
"""


def rank(task: str, scores: dict[str, Any]) -> tuple[float, float]:
    """Higher is better: (headline metric, minus the loss); loss-headlined tasks use -loss."""
    from lmforge.scoring import headline

    key = headline(task)
    loss = float(scores["loss"])
    head = -loss if key == "loss" else float(scores[key])
    # scores computed two ways from the same predictions may differ in the last bits
    return round(head, 12), round(-loss, 12)


def summary(task: str, scores: dict[str, Any]) -> dict[str, Any]:
    return {k: scores.get(k) for k in ("n", *SUMMARY_KEYS[task])}


@dataclass(frozen=True)
class WeightChoice:
    """What validation decided. ``weight`` is the final model's weight on the transformer
    (1: the transformer alone, 0: the baseline alone); ``blend_weight`` the best of the
    grid, kept or not."""

    choice: str  # blend | transformer | baseline
    weight: float
    blend_weight: float
    validation: dict[str, dict[str, Any]]  # full scores of "transformer", "baseline", "blend"


def choose_weight(task: str, labels: Sequence[str], transformer: Any, baseline: Any,
                  targets: Sequence[Any], grid: Sequence[float] = WEIGHT_GRID) -> WeightChoice:
    """The blend weight and the choice, from validation logits and labels only."""
    from lmforge.inference.ensemble import blend_logits
    from lmforge.scoring import score_outputs

    def scored(w: float) -> dict[str, Any]:
        return score_outputs(task, blend_logits(task, transformer, baseline, w), targets, labels)

    parts = {"transformer": scored(1.0), "baseline": scored(0.0)}
    # max() keeps the first of equals: on an exact tie the smaller weight wins
    blend_weight, blend = max(((w, scored(w)) for w in grid), key=lambda ws: rank(task, ws[1]))
    validation = {**parts, "blend": blend}
    best = rank(task, blend)
    if best > rank(task, parts["transformer"]) and best > rank(task, parts["baseline"]):
        choice, weight = "blend", blend_weight
    elif rank(task, parts["baseline"]) > rank(task, parts["transformer"]):
        choice, weight = "baseline", 0.0
    else:
        choice, weight = "transformer", 1.0
    return WeightChoice(choice, weight, blend_weight, validation)


@dataclass
class EnsembleDecision:
    """The choice, the final model's scores, and what the run directory must hold."""

    task: str
    labels: list[str]
    choice: str
    weight: float
    summary: dict[str, Any]  # metrics.json "ensemble"
    final: dict[str, dict[str, Any]] = field(default_factory=dict)  # "test"/"validation"
    baseline_model: Any = None
    final_test_logits: Any = None  # the final model's on the test split, when chosen

    def test_logits(self, transformer: Any) -> Any:
        """The final model's test logits: the blend's when chosen, else ``transformer``'s."""
        return self.final_test_logits if self.final_test_logits is not None else transformer

    @property
    def keeps_baseline(self) -> bool:
        return self.choice in ("blend", "baseline")

    def apply(self, metrics: dict[str, Any]) -> None:
        """metrics.json's "test" and "validation" become the final model's; "ensemble" added."""
        metrics.update(self.final)
        metrics["ensemble"] = self.summary

    def verdict(self, final_test: dict[str, Any], baseline: dict[str, Any],
                transformer_seconds: float | None) -> dict[str, Any]:
        """compare_to_baseline for the final model: the transformer, the blend (its training
        time is both parts'), or the baseline itself (not worth it: said so plainly)."""
        from lmforge.baseline.run import COMPARED, RULE, compare_to_baseline

        baseline_seconds = baseline.get("seconds")
        if self.choice == "transformer":
            return compare_to_baseline(self.task, final_test, baseline["test"],
                                       transformer_seconds, baseline_seconds)
        if self.choice == "blend":
            seconds = (transformer_seconds + baseline_seconds
                       if transformer_seconds and baseline_seconds else None)
            return compare_to_baseline(self.task, final_test, baseline["test"], seconds,
                                       baseline_seconds, model_name="ensemble")
        key, name = COMPARED[self.task]
        value = final_test.get(key)
        ratio = (transformer_seconds / baseline_seconds
                 if transformer_seconds and baseline_seconds else None)
        took = "" if ratio is None else f" took {ratio:.0f}x the baseline's training time and"
        val, metric = self.summary["validation"], self.summary["metric"]

        criterion = ("MSE" if metric == "loss"
                     else f"{_metric_name(metric)}, the loss breaking ties")

        def scores(part: str) -> str:
            shown = _fmt(val[part].get(metric))
            return shown if metric == "loss" else f"{shown}, loss {_fmt(val[part].get('loss'))}"

        return {"metric": key, "model": value, "baseline": baseline["test"].get(key),
                "gain_points": 0.0, "time_ratio": ratio, "worth_it": False,
                "rule": RULE.format(name=name, model="transformer"),
                "sentence": (
                    f"Not worth its cost here: on validation ({criterion}) neither the "
                    f"transformer ({scores('transformer')}) nor the best blend "
                    f"({scores('blend')}) beat the TF-IDF baseline "
                    f"({scores('baseline')}), so the final model is the baseline alone (test "
                    f"{name} {_fmt(value)}); the transformer{took} is kept in the run unused.")}


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _metric_name(key: str) -> str:
    from lmforge.eval.report import NAMES

    return "MSE" if key == "loss" else NAMES.get(key, key)


def _off(reason: str, task: str, labels: list[str]) -> EnsembleDecision:
    log.info("ensemble: off (%s); the model is the transformer alone", reason)
    return EnsembleDecision(task, labels, "transformer", 1.0,
                            {"choice": "transformer", "weight": 1.0, "off": reason})


def off_reason(mode: str, baseline_model: Any, baseline: dict[str, Any] | None,
               parts: dict[str, Any], transformer_logits: dict[str, Any]) -> str | None:
    if mode == "off":
        return "--ensemble off"
    if baseline is None:
        return "no TF-IDF baseline (--no-baseline)"
    if baseline_model is None:
        return f"the TF-IDF baseline was skipped: {baseline.get('skipped', 'not fitted')}"
    if not len(parts.get("validation") or ()) or transformer_logits.get("validation") is None:
        return ("no validation split to choose the blend weight on (validation_fraction 0 and "
                "no --validation file); the test split never chooses anything")
    return None


def decide_ensemble(mode: str, task: str, labels: list[str], parts: dict[str, Any],
                    transformer_logits: dict[str, Any], baseline_model: Any,
                    baseline: dict[str, Any] | None) -> EnsembleDecision:
    """Choose on validation, then score the test split: the whole of ``--ensemble``.

    ``transformer_logits``: ``{"validation": (n, k) array, "test": (m, k) array}`` (a
    split may be missing); ``baseline_model``: the fitted ``TfidfModel`` (None when there
    is none); ``baseline``: its summary from ``steps.fit_baseline`` (None when turned off).
    """
    from lmforge.inference.ensemble import blend_logits
    from lmforge.scoring import headline, score_outputs

    reason = off_reason(mode, baseline_model, baseline, parts, transformer_logits)
    if reason:
        return _off(reason, task, labels)
    val = parts["validation"]
    chosen = choose_weight(task, labels, transformer_logits["validation"],
                           baseline_model.scores(val.texts), val.targets)
    metric = headline(task)
    summary_: dict[str, Any] = {
        "choice": chosen.choice, "weight": chosen.weight, "blend_weight": chosen.blend_weight,
        "metric": metric, "tie_break": "loss", "grid": f"0.00..1.00 step {WEIGHT_GRID[1]:.2f}",
        "chosen_on": f"validation ({len(val)} examples)",
        "validation": {k: summary(task, v) for k, v in chosen.validation.items()},
    }
    final = {"validation": chosen.validation[chosen.choice]}
    # the choice is made: only now is the test split looked at, for the report
    test = parts.get("test")
    final_test_logits = None
    if test is not None and len(test) and transformer_logits.get("test") is not None:
        t_logits, b_logits = transformer_logits["test"], baseline_model.scores(test.texts)
        by_part = {"transformer": score_outputs(task, t_logits, test.targets, labels),
                   "baseline": score_outputs(task, b_logits, test.targets, labels)}
        final_test_logits = blend_logits(task, t_logits, b_logits, chosen.weight)
        final["test"] = score_outputs(task, final_test_logits, test.targets, labels)
        summary_["test"] = {**by_part, "final": summary(task, final["test"])}
    v = summary_["validation"]
    log.info("ensemble: %s (weight %.2f on the transformer); validation %s: transformer %s, "
             "baseline %s, blend %s (weight %.2f)", chosen.choice, chosen.weight,
             _metric_name(metric), _fmt(v["transformer"].get(metric)),
             _fmt(v["baseline"].get(metric)), _fmt(v["blend"].get(metric)), chosen.blend_weight)
    return EnsembleDecision(task, labels, chosen.choice, chosen.weight, summary_, final,
                            baseline_model, final_test_logits)


def write_ensemble_parts(run_dir: Path, decision: EnsembleDecision, usage_dir: str) -> None:
    """``baseline/``, ``ensemble.json`` and a model-card note when the baseline is part of the
    model; nothing when the transformer alone is (a plain run)."""
    from lmforge.rundir import write_text_atomic
    from lmforge.runs.ensemble import write_ensemble_files

    if not decision.keeps_baseline:
        return
    write_ensemble_files(run_dir, decision.baseline_model, decision.choice, decision.weight,
                         decision.task, decision.labels)
    what = ("the TF-IDF part alone (validation chose the baseline over the transformer)"
            if decision.choice == "baseline" else
            f"a blend of both parts' probabilities, {decision.weight:.2f} x transformer + "
            f"{1 - decision.weight:.2f} x TF-IDF")
    card = run_dir / "README.md"
    if card.is_file():
        write_text_atomic(card, card.read_text(encoding="utf-8")
                          + ENSEMBLE_CARD.format(run=usage_dir, what=what))


def report_lines(ensemble: dict[str, Any]) -> list[str]:
    """The "Ensemble" section of report.md."""
    from lmforge.eval.report import _md_table

    if ensemble.get("off"):
        return [f"- off: {ensemble['off']}. The model is the transformer alone."]
    metric = ensemble["metric"]
    choice, weight = ensemble["choice"], ensemble["weight"]
    kept = {"blend": f"the blend p = {weight:.2f} x transformer + {1 - weight:.2f} x TF-IDF "
                     "baseline: it beats both parts on validation",
            "transformer": "the transformer alone: no blend beat it on validation",
            "baseline": "the TF-IDF baseline alone: neither the transformer nor a blend beat it "
                        "on validation"}[choice]
    lines = [f"- choice: **{choice}**, {kept}.",
             f"- chosen on the {ensemble['chosen_on']} only, by {_metric_name(metric)} (validation "
             f"loss breaks ties) over weights {ensemble['grid']}; best blend weight "
             f"{ensemble['blend_weight']:.2f}. The test split played no part in the choice.", ""]
    val, test = ensemble["validation"], ensemble.get("test") or {}
    keys = [k for k in next(iter(val.values())) if k != "n"]
    rows = []
    for part in ("transformer", "baseline", "blend"):
        name = PART_NAMES[part] + (f" (w={ensemble['blend_weight']:.2f})" if part == "blend" else "")
        scores = test.get("final") if part == "blend" and choice == "blend" else test.get(part)
        rows.append([name, *(val[part].get(k) for k in keys),
                     *((scores or {}).get(k) for k in keys)])
    if test:
        rows.append([f"final model ({choice})", *(val[choice].get(k) for k in keys),
                     *(test["final"].get(k) for k in keys)])
    from lmforge.eval.report import _name

    lines += _md_table(["model", *(f"validation {_name(k)}" for k in keys),
                        *(f"test {_name(k)}" for k in keys)], rows)
    lines += ["", "metrics.json `test` (and the Results above) are the final model's scores; "
                  "`ensemble.test.transformer` keeps the transformer's alone."]
    return lines
