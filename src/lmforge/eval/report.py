"""Human-readable reports: terminal text, report.md and the model card (README.md).

All three read the dicts that ``lmforge.eval.metrics`` builds (one per split) and
the ``train``/``data`` summaries that ``lmforge.api.train`` records in
metrics.json. They only format; nothing here computes a score.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

TASKS = ("single", "multi", "regression")

# the numbers shown first for each task, in this order
HEADLINES = {
    "single": ("accuracy", "macro_f1", "weighted_f1", "loss"),
    "multi": ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "loss"),
    "regression": ("mse", "rmse", "mae", "r2", "pearson", "loss"),
}
NAMES = {
    "accuracy": "accuracy", "macro_f1": "macro-F1", "weighted_f1": "weighted-F1",
    "micro_f1": "micro-F1", "subset_accuracy": "subset accuracy", "hamming_loss": "Hamming loss",
    "mse": "MSE", "rmse": "RMSE", "mae": "MAE", "r2": "R2", "pearson": "Pearson r",
    "loss": "loss", "macro_precision": "macro precision", "macro_recall": "macro recall",
}
TASK_WORDS = {"single": "single-label classification", "multi": "multi-label classification",
              "regression": "regression"}
SPLITS = ("test", "validation")


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _name(key: str) -> str:
    return NAMES.get(key, key.replace("_", " "))


# ---------------------------------------------------------------- terminal


def format_report(metrics: dict[str, Any], task: str, title: str = "Test") -> str:
    """Plain text for a terminal: headline numbers, per-class table, and the
    confusion matrix when there are at most 12 classes (wider does not fit)."""
    _check_task(task)
    lines = [f"{title} (n={metrics.get('n', '?')})"]
    lines += [f"  {_name(k):<16}{_fmt(metrics[k])}" for k in HEADLINES[task] if k in metrics]
    interval = metrics.get("accuracy_interval")
    if interval:
        lines.append(f"  {'':<16}{interval['level']:.0%} interval {interval['low']:.4f} to "
                     f"{interval['high']:.4f} ({interval['method']})")
    if metrics.get("calibration"):
        lines.append(f"  {'calibration':<16}ECE {metrics['calibration']['ece']:.4f}")

    per_class = metrics.get("per_class") or {}
    if per_class:
        from lmforge.tables import format_table  # the one table style of the terminal

        rows = [[label, _fmt(m["precision"]), _fmt(m["recall"]), _fmt(m["f1"]), m["support"]]
                for label, m in per_class.items()]
        if task == "single" and "macro_precision" in metrics:
            rows.append(["macro avg", _fmt(metrics["macro_precision"]),
                         _fmt(metrics["macro_recall"]), _fmt(metrics["macro_f1"]),
                         metrics.get("n", "")])
        lines += ["", format_table(["class", "precision", "recall", "f1", "support"], rows,
                                   indent=2)]

    matrix = metrics.get("confusion_matrix")
    labels = [str(label) for label in metrics.get("labels", [])]
    if matrix and 0 < len(labels) <= 12:
        lines += ["", *_text_confusion(matrix, labels)]
    return "\n".join(lines)


# the baseline's numbers shown beside the model's
BASELINE_KEYS = {"single": ("accuracy", "macro_f1"), "multi": ("micro_f1", "macro_f1"),
                 "regression": ("mse", "r2")}


def format_baseline(baseline: dict[str, Any], task: str) -> str:
    """Two lines for a terminal: the baseline's test scores and the verdict."""
    _check_task(task)
    test = baseline.get("test") or {}
    scores = ", ".join(f"{_name(k)} {_fmt(test.get(k))}" for k in BASELINE_KEYS[task])
    lines = [f"Baseline ({baseline.get('model', 'TF-IDF')}, {baseline.get('seconds', 0):.1f} s): "
             f"test {scores}"]
    verdict = baseline.get("verdict") or {}
    if verdict.get("sentence"):
        lines.append(f"  {verdict['sentence']}")
    return "\n".join(lines)


def _text_confusion(matrix: list[list[int]], labels: list[str]) -> list[str]:
    if max(len(label) for label in labels) <= 10:
        columns, rows = labels, labels
    else:  # long names: number the columns, name the rows "0 name"
        columns = [str(i) for i in range(len(labels))]
        rows = [f"{i} {label}" for i, label in enumerate(labels)]
    cell = max(*(len(c) for c in columns), *(len(str(v)) for r in matrix for v in r)) + 2
    row_w = max(len(r) for r in rows) + 2
    out = ["  confusion matrix (rows: true, columns: predicted)",
           "  " + " " * row_w + "".join(f"{c:>{cell}}" for c in columns)]
    out += [f"  {name:<{row_w}}" + "".join(f"{v:>{cell}}" for v in row)
            for name, row in zip(rows, matrix, strict=True)]
    return out


# ---------------------------------------------------------------- markdown


def _cell(value: Any) -> str:
    # a "|" inside a label would end the table cell
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[Any]], numeric_from: int = 1) -> list[str]:
    align = ["---" if i < numeric_from else "---:" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out


def _by_split(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"test": {...}, "validation": {...}}``; a bare split dict counts as test."""
    if "n" in metrics and not any(s in metrics for s in SPLITS):
        return {"test": metrics}
    return {s: metrics[s] for s in SPLITS if isinstance(metrics.get(s), dict)}


def _results_table(splits: dict[str, dict[str, Any]], task: str) -> list[str]:
    keys = [k for k in HEADLINES[task] if any(k in m for m in splits.values())]
    return _md_table(["split", "n", *(_name(k) for k in keys)],
                     [[s, m.get("n"), *(m.get(k) for k in keys)] for s, m in splits.items()])


def _per_class_table(split: dict[str, Any]) -> list[str]:
    return _md_table(["class", "precision", "recall", "F1", "support"],
                     [[label, m["precision"], m["recall"], m["f1"], m["support"]]
                      for label, m in split["per_class"].items()])


def report_warnings(metrics: dict[str, Any]) -> list[str]:
    """Every warning a run logged, in the order the terminal showed them: the data's
    (metrics.json ``data.warnings``), then the model's (``warnings``)."""
    data = metrics.get("data") or {}
    return [*(data.get("warnings") or []), *(metrics.get("warnings") or [])]


def render_report_md(metrics: dict[str, Any], task: str, *,
                     data_summary: dict[str, Any] | None = None,
                     train_summary: dict[str, Any] | None = None,
                     confusion_png: str | None = "confusion_matrix.png",
                     curves_png: str | None = "training_curves.png",
                     mistakes: list[dict[str, Any]] | None = None,
                     details: dict[str, str] | None = None) -> str:
    """report.md of a run: the warnings first, then results per split (with a confidence
    interval on test accuracy), per-class scores, the confusion matrix image, the
    calibration and the most confident mistakes, the baseline (per class too), the data
    summary and the training summary.

    ``metrics`` is metrics.json's shape (``{"test": .., "validation": .., ...}``).
    Images are linked by the relative names given; pass None to leave one out
    (``curves_png`` is only linked when ``train_summary`` has a history). ``mistakes``:
    ``eval.diagnostics.confident_mistakes`` on the test split; ``details``: the files
    ``eval.details.write_test_details`` wrote (``{"mistakes": .., "reliability": ..}``).
    """
    _check_task(task)
    details = details or {}
    splits = _by_split(metrics)
    lines = ["# Training report", ""]
    warnings = report_warnings({**metrics, "data": data_summary or metrics.get("data") or {}})
    if warnings:
        lines += ["## Warnings", "", *(f"- {w}" for w in warnings), ""]
    lines += ["## Results", ""]
    if splits:
        lines += _results_table(splits, task)
    else:
        lines.append("No held-out split was scored.")
    test = splits.get("test", {})
    interval = test.get("accuracy_interval")
    if interval:
        lines += ["", f"Test accuracy {test['accuracy']:.4f}, {interval['level']:.0%} confidence "
                      f"interval {interval['low']:.4f} to {interval['high']:.4f} ("
                      f"{'Wilson score interval' if interval['method'] == 'wilson' else interval['method']}"
                      f", n={test.get('n')}): a difference smaller than this range between two "
                      "models is within the noise of this test split."]
    if test.get("per_class"):
        lines += ["", "### Per class (test)", "", *_per_class_table(test)]
    if confusion_png:
        lines += ["", "### Confusion matrix (test)", "", f"![confusion matrix]({confusion_png})"]
    if test.get("calibration"):
        lines += ["", "### Calibration (test)", "", *_calibration_lines(test["calibration"],
                                                                     details.get("reliability"))]
    if mistakes is not None:
        lines += ["", "### Most confident mistakes (test)", "",
                  *_mistake_lines(mistakes, details.get("mistakes"))]
    baseline = metrics.get("baseline")
    if isinstance(baseline, dict):
        lines += ["", "## Baseline", "", *_baseline_lines(baseline, splits, task, train_summary)]
    if data_summary:
        lines += ["", "## Data", "", *_data_lines(data_summary)]
    if train_summary:
        lines += ["", "## Training", "", *_train_lines(train_summary)]
        history = train_summary.get("history") or []
        if history:
            lines += ["", "### Per epoch", "", *_history_table(history)]
            if curves_png:
                lines += ["", f"![training curves]({curves_png})"]
    return "\n".join(lines) + "\n"


def _baseline_lines(baseline: dict[str, Any], splits: dict[str, dict[str, Any]], task: str,
                    train_summary: dict[str, Any] | None) -> list[str]:
    """The model and the TF-IDF baseline side by side, and whether the model is worth it."""
    if baseline.get("skipped"):
        return [f"No TF-IDF baseline: {baseline['skipped']}"]
    keys = BASELINE_KEYS[task]
    rows = []
    for split in SPLITS:
        for who, m, seconds in (("this model", splits.get(split),
                                 (train_summary or {}).get("seconds")),
                                (baseline.get("model", "baseline"), baseline.get(split),
                                 baseline.get("seconds"))):
            if isinstance(m, dict):
                rows.append([split, who, m.get("n"), *(m.get(k) for k in keys),
                             None if seconds is None else f"{float(seconds):.1f}"])
    lines = _md_table(["split", "model", "n", *(_name(k) for k in keys), "training seconds"],
                      rows, numeric_from=2)
    features = baseline.get("features") or {}
    if features:
        lines += ["", f"- baseline features: {features.get('n_features')} "
                      f"{features.get('analyzer')} n-grams {tuple(features.get('ngram_range') or ())}"
                      f" ({features.get('reason')}), {features.get('estimator')}"]
        if features.get("pair_features"):
            lines[-1] += "; sentence pairs: " + ", ".join(features["pair_features"])
    verdict = baseline.get("verdict") or {}
    if verdict.get("sentence"):
        lines += ["", f"**Is the model worth its cost?** {verdict['sentence']}", "",
                  f"Rule: {verdict['rule']}."]
    per_class = per_class_comparison(splits.get("test") or {}, baseline.get("test") or {})
    if per_class:
        lines += ["", "Per class (test F1), this model against the baseline:", "",
                  *_md_table(["class", "support", "this model", "baseline", "difference (points)"],
                             [[r["label"], r["support"], r["model"], r["baseline"],
                               f"{r['difference']:+.1f}"] for r in per_class])]
    return lines


def per_class_comparison(model: dict[str, Any], baseline: dict[str, Any],
                         key: str = "f1") -> list[dict[str, Any]]:
    """Per class: the model's and the baseline's ``key`` (F1) on the same test split and the
    difference in points; classes in the model's order. Empty when either has no classes."""
    ours, theirs = model.get("per_class") or {}, baseline.get("per_class") or {}
    return [{"label": label, "support": m.get("support"), "model": m[key],
             "baseline": theirs[label][key], "difference": 100.0 * (m[key] - theirs[label][key])}
            for label, m in ours.items() if label in theirs]


def _calibration_lines(calibration: dict[str, Any], png: str | None) -> list[str]:
    lines = [f"Expected calibration error (ECE): {calibration['ece']:.4f}: on average the "
             "probability of the predicted class is this far from how often such predictions "
             f"are right ({len(calibration['bins'])} equal-width confidence bins, weighted by "
             "their texts; 0 is perfectly calibrated)."]
    if png:
        lines += ["", f"![reliability diagram]({png})"]
    return lines


MISTAKE_TEXT_CHARS = 160


def _short_text(text: str, limit: int = MISTAKE_TEXT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mistake_lines(mistakes: list[dict[str, Any]], csv_name: str | None) -> list[str]:
    from lmforge.eval.diagnostics import MISTAKES_PER_PAIR, top_per_pair

    if not mistakes:
        return ["No test text was misclassified."]
    pairs = len({(m["true"], m["predicted"]) for m in mistakes})
    lines = [f"{len(mistakes)} test texts are misclassified, over {pairs} (true, predicted) "
             f"class pairs; up to {MISTAKES_PER_PAIR} per pair, most confident first"
             + (f"; all of them in `{csv_name}`." if csv_name else "."), ""]
    lines += _md_table(["true", "predicted", "confidence", "text"],
                       [[m["true"], m["predicted"], f"{m['confidence']:.3f}",
                         _short_text(m["text"])] for m in top_per_pair(mistakes)],
                       numeric_from=2)
    return lines


def _counts(mapping: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in mapping.items())


def _data_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for key in ("source", "encoding", "columns", "task", "split_from"):
        if data.get(key):
            lines.append(f"- {key.replace('_', ' ')}: {data[key]}")
    model = data.get("model")
    if model:
        lines.append(f"- base model: {model.get('name')} (licence: {model.get('licence')}; "
                     f"{model.get('reason')})")
    if data.get("splits"):
        lines.append(f"- examples per split: {_counts(data['splits'])}")
    cleaning = dict(data.get("cleaning") or {})
    if cleaning:
        rows_in, rows_out = cleaning.pop("rows_in", None), cleaning.pop("rows_out", None)
        if rows_in is not None:
            lines.append(f"- rows read: {rows_in}, kept after cleaning: {rows_out}")
        dropped = {k.removeprefix("dropped_"): v for k, v in cleaning.items()
                   if k.startswith("dropped_") and v}
        changed = {k: v for k, v in cleaning.items() if not k.startswith("dropped_") and v}
        lines.append(f"- rows dropped: {_counts(dropped) if dropped else 'none'}")
        if changed:
            lines.append(f"- texts changed by cleaning: {_counts(changed)}")
    over = data.get("over_max_length")
    windows = data.get("windows")
    if over is not None and windows:
        lines.append(f"- texts over max length ({data.get('max_length')} tokens), read whole as "
                     f"overlapping windows (stride {windows['stride']}, at most "
                     f"{windows['max_windows']} per text): {_counts(over)}")
        lines.append(f"- windows per text: {_counts(windows['per_text'])}; texts over the "
                     f"window cap (middle windows skipped): {_counts(windows['capped'])}")
        if windows.get("train_windows"):
            lines.append(f"- training drew {windows['train_windows']} window(s) per text at "
                         "random each epoch; evaluation reads every window")
    elif over is not None:
        lines.append(f"- texts over max length ({data.get('max_length')} tokens, shortened "
                     f"{data.get('truncation')}): {_counts(over)}")
    unknown = data.get("mostly_unknown_tokens")
    if unknown and unknown.get("texts"):
        lines.append(f"- training texts that are mostly unknown tokens (over "
                     f"{unknown['threshold']:.0%} [UNK]) for this vocabulary: {unknown['texts']} "
                     f"({unknown['share_of_tokens']:.1%} of all tokens are unknown)")
    if "leakage" in data:
        leakage = data["leakage"]
        lines.append("- texts shared between splits (leakage: identical, or differing only in "
                     "case, punctuation or spacing): " + (
                         ", ".join(f"{pair} {n}" for pair, n in leakage.items()) if leakage
                         else "none"))
    weights = data.get("class_weights")
    if weights:
        lines.append("- class weights: " + ", ".join(f"{k} {v:.2f}" for k, v in weights.items()))
    return lines


def _train_lines(train: dict[str, Any]) -> list[str]:
    lines = []
    for key, name in (("examples", "training examples"), ("epochs", "epochs run"),
                      ("best_epoch", "best epoch (weights kept)"),
                      ("stopped_early", "stopped early"), ("steps", "optimizer steps")):
        if train.get(key) is not None:
            lines.append(f"- {name}: {_fmt(train[key])}")
    if train.get("seconds") is not None:
        lines.append(f"- time: {train['seconds']:.1f} s")
    if train.get("samples_per_second") is not None:
        lines.append(f"- throughput: {train['samples_per_second']:.1f} samples/s")
    features = train.get("features")
    if isinstance(features, dict):  # a --model tfidf run
        lines.append(f"- model: {train.get('model', 'TF-IDF')}, {features.get('n_features')} "
                     f"{features.get('analyzer')} n-grams {tuple(features.get('ngram_range') or ())}"
                     f" ({features.get('reason')})")
    return lines


def _history_name(key: str) -> str:
    if key == "train_loss":
        return "train loss (epoch mean)"
    for split in ("train", "validation"):
        if key.startswith(split + "_"):
            return f"{split} {_name(key.removeprefix(split + '_'))}"
    return _name(key)


def _history_table(history: list[dict[str, Any]]) -> list[str]:
    keys = [k for k in ("epoch", "step") if any(k in h for h in history)]
    keys += sorted({k for h in history for k in h} - {"epoch", "step"},
                   key=lambda k: (not k.startswith("train"), k))
    header = [_history_name(k) for k in keys]
    return _md_table(header, [[h.get(k) for k in keys] for h in history],
                     numeric_from=0)


# ---------------------------------------------------------------- model card

# Hugging Face metric ids for the model-index block
HF_METRIC = {
    "accuracy": ("accuracy", None), "macro_f1": ("f1", "macro"),
    "weighted_f1": ("f1", "weighted"), "micro_f1": ("f1", "micro"),
    "subset_accuracy": ("accuracy", None), "hamming_loss": ("hamming_loss", None),
    "mse": ("mse", None), "rmse": ("rmse", None), "mae": ("mae", None),
    "r2": ("r_squared", None), "pearson": ("pearsonr", None), "loss": ("loss", None),
}


def _q(text: Any) -> str:
    """A YAML scalar that survives any label or file name (JSON strings are YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def _front_matter(model_name: str, task: str, splits: dict[str, dict[str, Any]],
                  dataset: str, library: str = "transformers") -> list[str]:
    lines = ["---", f"library_name: {library}", "pipeline_tag: text-classification",
             "tags:", "- lmforge", "- text-classification",
             f"- {TASK_WORDS[task].replace(' ', '-')}"]
    results = []
    for split, m in splits.items():
        metrics = []
        for key in HEADLINES[task]:
            if m.get(key) is None or key == "loss":  # a training quantity, not a Hub metric
                continue
            hf_type, average = HF_METRIC[key]
            metrics += [f"    - type: {hf_type}", f"      value: {json.dumps(m[key])}",
                        f"      name: {_q(f'{split} {_name(key)}')}"]
            if average:
                metrics += ["      args:", f"        average: {average}"]
        if metrics:
            results += ["  - task:", "      type: text-classification",
                        "      name: Text Classification", "    dataset:",
                        f"      name: {_q(dataset)}", "      type: csv", f"      split: {split}",
                        "    metrics:", *metrics]
    if results:
        lines += ["model-index:", f"- name: {_q(model_name)}", "  results:", *results]
    return [*lines, "---", ""]


def render_model_card(*, model_name: str, base_model: str, task: str, labels: list[str],
                      metrics: dict[str, Any], config: dict[str, Any], usage_dir: str,
                      backend: str = "transformers") -> str:
    """README.md of a run in Hugging Face model-card form (YAML front matter, then
    use, data, scores, how to load it, limitations).

    ``config`` is the run's resolved TrainConfig as a mapping; only the data file's
    name is shown, not its full local path. ``backend="tfidf"`` describes a
    ``--model tfidf`` run (``base_model`` then names the n-gram model).
    """
    _check_task(task)
    tfidf = backend == "tfidf"
    splits = _by_split(metrics)
    usage_dir = usage_dir.rstrip("/\\") or "."
    data_file = PurePath(str(config["data"])).name if config.get("data") else "not recorded"
    lines = _front_matter(model_name, task, splits, data_file, "lmforge" if tfidf else "transformers")
    lines += [f"# {model_name}", "",
              f"A {TASK_WORDS[task]} model trained with lmforge: {base_model} on TF-IDF n-grams."
              if tfidf else
              f"A {TASK_WORDS[task]} model fine-tuned with lmforge from `{base_model}`.", ""]
    base = (metrics.get("data") or {}).get("model") or {}
    if base.get("licence") and not tfidf:
        lines += [f"Base model licence: {base['licence']}. The fine-tuned weights derive from "
                  "the base model's: its licence terms apply to them too.", ""]
    lines += ["## Intended use", "", _intended_use(task, labels), ""]
    if task != "regression":
        lines += ["## Labels", "", ", ".join(f"`{label}`" for label in labels), ""]
    lines += ["## Training data", "", *_card_data_lines(config, metrics, data_file), ""]
    lines += ["## Training procedure", "", *_card_training_lines(
        {"seed": config.get("seed")} if tfidf else config, metrics), ""]
    lines += ["## Evaluation", ""]
    if splits:
        lines += _results_table(splits, task)
        test = splits.get("test", {})
        if test.get("per_class"):
            lines += ["", "Per class (test):", "", *_per_class_table(test)]
    else:
        lines.append("No held-out split was scored.")
    baseline = metrics.get("baseline") or {}
    if "test" in baseline:
        keys = BASELINE_KEYS[task]
        lines += ["", f"A {baseline.get('model', 'TF-IDF')} baseline fitted on the same training "
                      "split scores " + ", ".join(f"{_name(k)} {_fmt(baseline['test'].get(k))}"
                                                  for k in keys) + " on the same test split."]
        sentence = (baseline.get("verdict") or {}).get("sentence")
        if sentence:
            lines.append(sentence)
    usage = _tfidf_usage(usage_dir) if tfidf else _usage(task, usage_dir, config)
    lines += ["", "## How to use", "", *usage, ""]
    lines += ["## Limitations", "", *_limitations(task, {} if tfidf else config, splits)]
    if base.get("licence_warning") and not tfidf:
        lines.append(f"- The base model, {base.get('name')}: {base['licence_warning']}.")
    if tfidf:
        lines.append("- A bag of word (or character) n-grams: word order beyond two words, "
                     "negation scope and unseen words are lost on it.")
    lines.append("")
    return "\n".join(lines)


def _tfidf_usage(usage_dir: str) -> list[str]:
    return [
        "`model/` holds the vocabulary and settings (`tfidf.json`) and the idf and linear "
        "weights (`tfidf_weights.npz`, plain arrays: loading runs no pickled code).", "",
        "```python", "import lmforge", "", f'clf = lmforge.load("{usage_dir}")',
        'clf.predict(["some text"])', "```", "", "```bash",
        f"lmforge predict {usage_dir} --data file.csv",
        f"lmforge evaluate {usage_dir} --data labelled.csv",
        f"lmforge serve {usage_dir}", "```",
    ]


def _intended_use(task: str, labels: list[str]) -> str:
    if task == "regression":
        what = "Predicts a numeric score for a text"
    elif task == "multi":
        what = f"Tags a text with any number of {len(labels)} labels"
    else:
        what = f"Sorts a text into one of {len(labels)} classes"
    return (f"{what}, for texts like the ones it was trained on (same language, domain and "
            "length). It is not meant for decisions about people without a human review.")


def _card_data_lines(config: dict[str, Any], metrics: dict[str, Any],
                     data_file: str) -> list[str]:
    columns = [f"{name} `{config[key]}`" for key, name in
               (("text_col", "text column"), ("label_col", "label column(s)")) if config.get(key)]
    lines = [f"- file: `{data_file}`" + (f" ({', '.join(columns)})" if columns else "")]
    data = metrics.get("data") or {}
    if data.get("splits"):
        lines.append(f"- examples per split: {_counts(data['splits'])}")
    if data.get("split_from"):
        lines.append(f"- split: {data['split_from']}")
    cleaning = data.get("cleaning") or {}
    if cleaning.get("rows_in") is not None:
        lines.append(f"- rows read: {cleaning['rows_in']}, kept after cleaning: "
                     f"{cleaning.get('rows_out')}")
    return lines


def _card_training_lines(config: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    settings = [f"{k.replace('_', ' ')} {config[k]}" for k in
                ("epochs", "lr", "batch_size", "max_length", "truncation", "weight_decay",
                 "warmup_ratio", "seed") if config.get(k) is not None]
    lines = [f"- settings: {', '.join(settings)}"] if settings else []
    train = metrics.get("train") or {}
    lines += _train_lines({k: train.get(k) for k in
                           ("epochs", "best_epoch", "seconds", "samples_per_second")})
    lines.append("- the run's `config.yaml` reproduces it: `lmforge train --config config.yaml`")
    return lines


def _usage(task: str, usage_dir: str, config: dict[str, Any]) -> list[str]:
    max_length = config.get("max_length") or 512
    decode = {
        "single": ["label = model.config.id2label[int(logits.argmax(-1)[0])]"],
        "multi": ["probabilities = logits.sigmoid()[0]",
                  "labels = [model.config.id2label[i] for i, p in enumerate(probabilities)"
                  " if p >= 0.5]"],
        "regression": ["score = logits[0, 0].item()"],
    }[task]
    return [
        "With plain transformers:", "", "```python", "import torch",
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer", "",
        f'model = AutoModelForSequenceClassification.from_pretrained("{usage_dir}/model")',
        f'tokenizer = AutoTokenizer.from_pretrained("{usage_dir}/model")',
        f'inputs = tokenizer(["some text"], truncation=True, max_length={max_length}, '
        'return_tensors="pt")',
        "with torch.no_grad():", "    logits = model(**inputs).logits", *decode, "```", "",
        "With lmforge (same text cleaning and truncation as in training):", "", "```python",
        "import lmforge", "", f'clf = lmforge.load("{usage_dir}")',
        'clf.predict(["some text"])', "```", "", "```bash",
        f"lmforge predict {usage_dir} --data file.csv",
        f"lmforge evaluate {usage_dir} --data labelled.csv", "```",
    ]


def _limitations(task: str, config: dict[str, Any], splits: dict[str, Any]) -> list[str]:
    lines = ["- The scores above hold for data like the training data; expect lower scores on "
             "other domains, languages or writing styles."]
    if config.get("max_length"):
        lines.append(f"- Texts longer than {config['max_length']} tokens are shortened "
                     f"({config.get('truncation')}); plain transformers keeps the head only.")
    per_class = splits.get("test", {}).get("per_class") or {}
    if per_class:
        weakest = min(per_class, key=lambda label: per_class[label]["f1"])
        rare = [label for label, m in per_class.items() if m["support"] < 20]
        lines.append(f"- Weakest class on the test split: `{weakest}` "
                     f"(F1 {per_class[weakest]['f1']:.4f}).")
        if rare:
            lines.append("- Fewer than 20 test examples for: "
                         + ", ".join(f"`{label}`" for label in rare)
                         + "; their per-class scores are rough estimates.")
    if task == "regression":
        lines.append("- Predictions are not clipped to the range seen in training.")
    return lines
