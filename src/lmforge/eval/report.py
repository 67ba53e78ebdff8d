"""Human-readable reports: terminal text, report.md and the model card."""

from __future__ import annotations

from typing import Any

HEADLINES = {
    "single": ("accuracy", "macro_f1", "weighted_f1", "loss"),
    "multi": ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss", "loss"),
    "regression": ("mse", "rmse", "mae", "r2", "pearson", "loss"),
}


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _per_class_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    return [(label, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}",
             str(m["support"])) for label, m in metrics.get("per_class", {}).items()]


def format_report(metrics: dict[str, Any], task: str, title: str = "Test") -> str:
    lines = [f"{title} (n={metrics.get('n', '?')})"]
    for key in HEADLINES.get(task, ()):
        if key in metrics:
            lines.append(f"  {key:<16}{_fmt(metrics[key])}")
    rows = _per_class_rows(metrics)
    if rows:
        width = max(10, *(len(r[0]) for r in rows)) + 2
        lines.append("")
        lines.append(f"  {'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
        for label, p, r, f, s in rows:
            lines.append(f"  {label:<{width}}{p:>10}{r:>10}{f:>10}{s:>9}")
    matrix = metrics.get("confusion_matrix")
    labels = metrics.get("labels", [])
    if matrix and len(labels) <= 12:
        width = max(6, *(len(lab) for lab in labels)) + 2
        lines.append("")
        lines.append("  confusion matrix (rows: true, columns: predicted)")
        lines.append("  " + " " * width + "".join(f"{lab:>{width}}" for lab in labels))
        for label, row in zip(labels, matrix, strict=True):
            lines.append(f"  {label:<{width}}" + "".join(f"{c:>{width}}" for c in row))
    return "\n".join(lines)


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def render_report_md(metrics: dict[str, Any], task: str, *, data_summary: dict[str, Any] | None = None,
                     train_summary: dict[str, Any] | None = None,
                     confusion_png: str | None = "confusion_matrix.png") -> str:
    lines = ["# Training report", "", "## Results", ""]
    splits = [s for s in ("test", "validation") if s in metrics]
    keys = [k for k in HEADLINES.get(task, ()) if any(k in metrics[s] for s in splits)]
    if splits:
        lines += _md_table(["split", "n", *keys], [
            [s, str(metrics[s].get("n", "")), *(_fmt(metrics[s].get(k)) for k in keys)]
            for s in splits])
    if "test" in metrics and metrics["test"].get("per_class"):
        lines += ["", "### Per class (test)", ""]
        lines += _md_table(["class", "precision", "recall", "f1", "support"],
                           [list(r) for r in _per_class_rows(metrics["test"])])
    if confusion_png:
        lines += ["", f"![confusion matrix]({confusion_png})"]
    if data_summary:
        lines += ["", "## Data", ""]
        for key in ("source", "encoding", "columns", "task", "split_from"):
            if data_summary.get(key):
                lines.append(f"- {key.replace('_', ' ')}: {data_summary[key]}")
        if data_summary.get("splits"):
            lines.append("- examples: " + ", ".join(f"{k} {v}" for k, v in data_summary["splits"].items()))
        cleaning = data_summary.get("cleaning") or {}
        if cleaning:
            lines.append("- cleaning: " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                   for k, v in cleaning.items()))
        over = data_summary.get("over_max_length")
        if over is not None:
            lines.append(f"- texts over max length ({data_summary.get('max_length')} tokens, "
                         f"shortened {data_summary.get('truncation')}): "
                         + ", ".join(f"{k} {v}" for k, v in over.items()))
        unknown = data_summary.get("mostly_unknown_tokens")
        if unknown:
            lines.append(f"- training texts that are mostly unknown tokens (over "
                         f"{unknown['threshold']:.0%} [UNK]) for this vocabulary: {unknown['texts']} "
                         f"({unknown['share_of_tokens']:.1%} of all tokens are unknown)")
        leakage = data_summary.get("leakage")
        lines.append("- leakage between splits: " + (", ".join(f"{k} {v} texts" for k, v in
                                                       leakage.items()) if leakage else "none"))
        weights = data_summary.get("class_weights")
        if weights:
            lines.append("- class weights: " + ", ".join(f"{k} {v:.2f}" for k, v in weights.items()))
    if train_summary:
        lines += ["", "## Training", ""]
        for key in ("examples", "epochs", "best_epoch", "stopped_early", "steps", "seconds",
                    "samples_per_second"):
            if key in train_summary and train_summary[key] is not None:
                lines.append(f"- {key.replace('_', ' ')}: {_fmt(train_summary[key])}")
        if train_summary.get("history"):
            lines += ["", "![training curves](training_curves.png)"]
    return "\n".join(lines) + "\n"


def render_model_card(*, model_name: str, base_model: str, task: str, labels: list[str],
                      metrics: dict[str, Any], config: dict[str, Any], usage_dir: str) -> str:
    test = metrics.get("test", {})
    keys = [k for k in HEADLINES.get(task, ()) if test.get(k) is not None]
    front = ["---", "library_name: transformers", "pipeline_tag: text-classification",
             "tags:", "  - lmforge", f"  - {task}", "metrics:"]
    front += [f"  - {k}" for k in keys]
    front += ["---", ""]
    task_words = {"single": "single-label classification", "multi": "multi-label classification",
                  "regression": "regression"}[task]
    body = [
        f"# {model_name}", "",
        f"A {task_words} model fine-tuned with lmforge from {base_model}.", "",
        "## Labels", "", ", ".join(labels) if labels else "(a numeric target)", "",
        "## Training data", "",
        f"- file: `{config.get('data')}` (text column `{config.get('text_col')}`, label "
        f"column(s) `{config.get('label_col')}`)",
        f"- epochs {config.get('epochs')}, lr {config.get('lr')}, batch size "
        f"{config.get('batch_size')}, max length {config.get('max_length')}, seed "
        f"{config.get('seed')}", "",
        "## Evaluation (test split)", "",
    ]
    body += _md_table(["metric", "value"], [[k, _fmt(test[k])] for k in keys]) if keys else ["n/a"]
    body += [
        "", "## How to use", "", "```python",
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer",
        f'model = AutoModelForSequenceClassification.from_pretrained("{usage_dir}/model")',
        f'tokenizer = AutoTokenizer.from_pretrained("{usage_dir}/model")',
        "", "import lmforge", f'clf = lmforge.load("{usage_dir}")',
        'clf.predict(["some text"])', "```", "", "```bash",
        f"lmforge predict {usage_dir} --data texts.csv", "```", "",
        "## Limitations", "",
        "Scores hold for data like the training data; texts longer than "
        f"{config.get('max_length')} tokens are shortened ({config.get('truncation')}). "
        "Check the per-class numbers before relying on rare classes.", "",
    ]
    return "\n".join(front + body)
