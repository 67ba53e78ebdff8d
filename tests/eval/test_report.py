"""Terminal report, report.md and model card: the numbers and the pieces a reader needs."""

from __future__ import annotations

import pytest
import yaml

from lmforge.eval.metrics import classification_metrics, multilabel_metrics, regression_metrics
from lmforge.eval.report import format_report, render_model_card, render_report_md

# a: P 1, R 2/3, F1 0.8 (support 3); b: 0.5/0.5/0.5 (2); c: 0.5/1/0.6667 (1)
SINGLE = classification_metrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"],
                                loss=0.123456)
VALIDATION = classification_metrics([0, 1, 2], [0, 1, 2], ["a", "b", "c"], loss=0.05)
MULTI = multilabel_metrics([[1, 0, 1], [0, 1, 0], [1, 1, 0]], [[1, 0, 0], [0, 1, 0], [1, 0, 1]],
                           ["x", "y", "z"], loss=0.4)
REGRESSION = regression_metrics([1, 2, 3, 4], [1, 3, 2, 4], loss=0.2)

DATA = {
    "source": "reviews.csv", "encoding": "utf-8", "columns": "text / label by name",
    "splits": {"train": 700, "validation": 100, "test": 200},
    "split_from": "reviews.csv (stratified, seed 0)",
    "cleaning": {"rows_in": 1010, "html_stripped": 7, "whitespace_normalized": 0,
                 "dropped_empty_text": 3, "dropped_duplicates": 7, "dropped_missing_label": 0,
                 "rows_out": 1000},
    "max_length": 128, "truncation": "head+tail",
    "over_max_length": {"train": 12, "validation": 1, "test": 2},
    "leakage": {"train/test": 4},
}
TRAIN = {
    "seconds": 12.3456, "samples_per_second": 170.25, "samples_seen": 2100, "examples": 700,
    "epochs": 3, "best_epoch": 2, "stopped_early": False, "steps": 66,
    "history": [
        {"epoch": 1, "step": 22, "train_loss": 0.9, "validation_loss": 0.7,
         "validation_macro_f1": 0.6},
        {"epoch": 2, "step": 44, "train_loss": 0.5, "validation_loss": 0.55,
         "validation_macro_f1": 0.75},
    ],
}
RUN = {"test": SINGLE, "validation": VALIDATION, "train": TRAIN, "data": DATA}
CONFIG = {"data": "/home/someone/private/reviews.csv", "text_col": "text", "label_col": "label",
          "task": "single", "epochs": 3, "lr": 0.0001, "batch_size": 32, "max_length": 128,
          "truncation": "head+tail", "seed": 0}


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    head, _, _ = card[4:].partition("\n---\n")
    return yaml.safe_load(head)


# ---------------------------------------------------------------- terminal


def test_format_report_single():
    text = format_report(SINGLE, "single", title="Test")
    lines = text.splitlines()
    assert lines[0] == "Test (n=6)"
    assert "  accuracy        0.6667" in lines
    assert "  macro-F1        0.6556" in lines  # 59/90
    assert "  weighted-F1     0.6778" in lines  # 61/90
    assert "  loss            0.1235" in lines
    header = next(line for line in lines if line.strip().startswith("class"))
    row_a = next(line for line in lines if line.strip().startswith("a "))
    assert row_a.split() == ["a", "1.0000", "0.6667", "0.8000", "3"]
    # columns line up: each number ends where its header ends
    assert len(row_a) == len(header) and row_a.index("0.8000") + 6 == header.index("f1") + 2
    macro = next(line for line in lines if line.strip().startswith("macro avg"))
    assert macro.split() == ["macro", "avg", "0.6667", "0.7222", "0.6556", "6"]
    assert len(macro) == len(header)
    assert "confusion matrix (rows: true, columns: predicted)" in text
    assert lines[-3].split() == ["a", "2", "1", "0"]  # row "a" of the matrix
    assert lines[-1].split() == ["c", "0", "0", "1"]


def test_format_report_missing_loss_and_long_labels():
    labels = ["a rather long class name", "another long class name"]
    m = classification_metrics([0, 1], [0, 0], labels)
    text = format_report(m, "single")
    assert "  loss            n/a" in text
    # long names: matrix columns are numbered, rows carry "index name"
    assert "0 a rather long class name" in text
    assert "a rather long class name    1.0000" not in text  # per-class rows not truncated
    assert text.splitlines()[-2].split() == ["0", "a", "rather", "long", "class", "name", "1", "0"]


def test_format_report_hides_big_confusion_matrix():
    labels = [f"c{i}" for i in range(13)]
    m = classification_metrics(list(range(13)), list(range(13)), labels)
    text = format_report(m, "single")
    assert "confusion matrix" not in text
    assert "c12" in text  # per-class table still complete


def test_format_report_multi_and_regression():
    multi = format_report(MULTI, "multi", title="Evaluation on new.csv")
    assert multi.startswith("Evaluation on new.csv (n=3)")
    for expected in ("micro-F1        0.6667", "macro-F1        0.5556",
                     "subset accuracy 0.3333", "Hamming loss    0.3333"):
        assert expected in multi
    assert "confusion matrix" not in multi
    row_y = next(line for line in multi.splitlines() if line.strip().startswith("y "))
    assert row_y.split() == ["y", "1.0000", "0.5000", "0.6667", "2"]

    reg = format_report(REGRESSION, "regression")
    for expected in ("MSE             0.5000", "RMSE            0.7071", "MAE             0.5000",
                     "R2              0.6000", "Pearson r       0.8000", "loss            0.2000"):
        assert expected in reg
    assert "class" not in reg
    constant = regression_metrics([1, 2, 3], [2, 2, 2])
    assert "Pearson r       n/a" in format_report(constant, "regression")


def test_format_report_unknown_task():
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        format_report(SINGLE, "ranking")


# ---------------------------------------------------------------- report.md


def test_report_md_sections_and_numbers():
    md = render_report_md(RUN, "single", data_summary=DATA, train_summary=TRAIN)
    assert md.startswith("# Training report\n")
    assert "| split | n | accuracy | macro-F1 | weighted-F1 | loss |" in md
    assert "| test | 6 | 0.6667 | 0.6556 | 0.6778 | 0.1235 |" in md
    assert "| validation | 3 | 1.0000 | 1.0000 | 1.0000 | 0.0500 |" in md
    assert "| a | 1.0000 | 0.6667 | 0.8000 | 3 |" in md
    assert "![confusion matrix](confusion_matrix.png)" in md
    assert "- examples per split: train 700, validation 100, test 200" in md
    assert "- rows read: 1010, kept after cleaning: 1000" in md
    assert "- rows dropped: empty text 3, duplicates 7" in md
    assert "- texts changed by cleaning: html stripped 7" in md
    assert "(128 tokens, shortened head+tail): train 12, validation 1, test 2" in md
    assert "spacing): train/test 4" in md
    assert "- time: 12.3 s" in md and "- throughput: 170.2 samples/s" in md
    assert "- best epoch (weights kept): 2" in md and "- stopped early: no" in md
    assert "| epoch | step | train loss (epoch mean) | validation loss | validation macro-F1 |" in md
    assert "| 2 | 44 | 0.5000 | 0.5500 | 0.7500 |" in md
    assert "![training curves](training_curves.png)" in md
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections == ["## Results", "## Data", "## Training"]


def test_report_md_minimal_and_options():
    md = render_report_md({"test": MULTI}, "multi", confusion_png=None)
    assert "| test | 3 | 0.6667 | 0.5556 | 0.3333 | 0.3333 | 0.4000 |" in md
    assert "![confusion matrix]" not in md and "## Data" not in md and "## Training" not in md
    assert "validation" not in md
    # a bare split dict counts as the test split
    assert "| test | 4 | 0.5000 |" in render_report_md(REGRESSION, "regression", confusion_png=None)
    none_scored = render_report_md({"train": TRAIN}, "single", confusion_png=None)
    assert "No held-out split was scored." in none_scored
    no_leak = render_report_md(RUN, "single", data_summary={**DATA, "leakage": {}})
    assert "spacing): none" in no_leak


def test_report_md_escapes_pipes_in_labels():
    m = classification_metrics([0, 1], [0, 1], ["yes|no", "maybe"])
    md = render_report_md({"test": m}, "single")
    assert "| yes\\|no | 1.0000 |" in md


# ---------------------------------------------------------------- model card


def test_model_card_front_matter_and_usage():
    card = render_model_card(model_name="reviews-sentiment", base_model="all-MiniLM-L6-v2",
                             task="single", labels=["a", "b", "c"], metrics=RUN, config=CONFIG,
                             usage_dir="runs/reviews-sentiment")
    meta = front_matter(card)
    assert meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "text-classification"
    assert {"lmforge", "text-classification"} <= set(meta["tags"])
    results = meta["model-index"][0]["results"]
    assert meta["model-index"][0]["name"] == "reviews-sentiment"
    assert [r["dataset"]["split"] for r in results] == ["test", "validation"]
    test_metrics = {m["name"]: m["value"] for m in results[0]["metrics"]}
    assert test_metrics["test accuracy"] == SINGLE["accuracy"]  # full precision, not rounded
    assert test_metrics["test macro-F1"] == SINGLE["macro_f1"]
    assert "test loss" not in test_metrics
    assert results[0]["dataset"]["name"] == "reviews.csv"

    assert "# reviews-sentiment" in card
    assert 'AutoModelForSequenceClassification.from_pretrained("runs/reviews-sentiment/model")' \
        in card
    assert 'lmforge.load("runs/reviews-sentiment")' in card
    assert "lmforge predict runs/reviews-sentiment --data file.csv" in card
    assert "max_length=128" in card and "model.config.id2label" in card
    for section in ("## Intended use", "## Labels", "## Training data", "## Evaluation",
                    "## How to use", "## Limitations"):
        assert section in card
    assert "| test | 6 | 0.6667 | 0.6556 |" in card
    assert "- examples per split: train 700, validation 100, test 200" in card
    assert "Weakest class on the test split: `b` (F1 0.5000)" in card
    assert "/home/someone/private" not in card  # only the data file's name is published


def test_model_card_awkward_names_stay_valid_yaml():
    labels = ['says "no"', "key: value", "- dash"]
    m = classification_metrics([0, 1, 2], [0, 1, 1], labels)
    card = render_model_card(model_name='my: "model"', base_model="b", task="single",
                             labels=labels, metrics={"test": m}, config={}, usage_dir="runs/x/")
    assert front_matter(card)["model-index"][0]["name"] == 'my: "model"'
    assert "None" not in card  # config fields that are missing are left out
    assert "- file: `not recorded`" in card
    assert 'from_pretrained("runs/x/model")' in card  # trailing slash not doubled


@pytest.mark.parametrize(("task", "metrics", "labels", "expected"), [
    ("multi", MULTI, ["x", "y", "z"], "logits.sigmoid()"),
    ("regression", REGRESSION, [], "logits[0, 0].item()"),
])
def test_model_card_other_tasks(task, metrics, labels, expected):
    card = render_model_card(model_name="m", base_model="b", task=task, labels=labels,
                             metrics={"test": metrics}, config=CONFIG, usage_dir="runs/m")
    meta = front_matter(card)
    assert meta["pipeline_tag"] == "text-classification"
    assert expected in card
    assert ("## Labels" in card) is (task != "regression")
    values = {m["type"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert values >= ({"f1", "accuracy"} if task == "multi" else {"mse", "r_squared", "pearsonr"})


def test_model_card_without_scores_has_no_model_index():
    card = render_model_card(model_name="m", base_model="b", task="single", labels=["a", "b"],
                             metrics={"train": TRAIN}, config=CONFIG, usage_dir="runs/m")
    assert "model-index" not in front_matter(card)
    assert "No held-out split was scored." in card


def test_report_md_warnings_first_and_what_to_look_at_next():
    from lmforge.eval.diagnostics import accuracy_interval, calibration, confident_mistakes

    test = {**SINGLE, "accuracy_interval": accuracy_interval(4, 6),
            "calibration": calibration([0.9, 0.8, 0.7, 0.6, 0.9, 0.5],
                                       [True, True, False, True, False, True])}
    baseline_test = classification_metrics([0, 0, 0, 1, 1, 2], [0, 1, 1, 1, 1, 2],
                                           ["a", "b", "c"])
    warnings = ["120 of 700 training texts are longer than 128 tokens and are shortened"]
    model_warning = "the model predicts 'a' for 6 of 6 test texts (100%; its true share is 50%)"
    run = {**RUN, "test": test, "data": {**DATA, "warnings": warnings},
           "warnings": [model_warning], "baseline": {"model": "TF-IDF", "test": baseline_test}}
    mistakes = confident_mistakes([[0.1, 0.9, 0.0], [0.2, 0.7, 0.1], [0.3, 0.2, 0.5]] * 2,
                                  [0, 0, 1, 0, 0, 1], ["a", "b", "c"],
                                  ["one | two", "x" * 300, "c?", "d", "e", "f"])
    md = render_report_md(run, "single", data_summary=run["data"], train_summary=TRAIN,
                          mistakes=mistakes, details={"mistakes": "mistakes.csv",
                                                      "reliability": "reliability.png"})
    head = md.split("## Results")[0]
    assert f"## Warnings\n\n- {warnings[0]}\n- {model_warning}\n" in head
    assert ("Test accuracy 0.6667, 95% confidence interval 0.3000 to 0.9032 (Wilson score "
            "interval, n=6)") in md
    assert "Expected calibration error (ECE): 0.4333" in md
    assert "![reliability diagram](reliability.png)" in md
    assert "6 test texts are misclassified, over 2 (true, predicted) class pairs" in md
    assert "all of them in `mistakes.csv`" in md
    assert "| a | b | 0.900 | one \\| two |" in md and "x" * 159 + "…" in md
    assert md.count("| a | b |") == 3  # at most 3 per pair
    assert "| class | support | this model | baseline | difference (points) |" in md
    assert "| a | 3 | 0.8000 | 0.5000 | +30.0 |" in md
    clean = render_report_md(RUN, "single", data_summary=DATA, train_summary=TRAIN)
    assert "## Warnings" not in clean and "Most confident mistakes" not in clean


def test_terminal_report_shows_the_interval_and_calibration():
    from lmforge.eval.diagnostics import accuracy_interval, calibration

    text = format_report({**SINGLE, "accuracy_interval": accuracy_interval(4, 6),
                          "calibration": calibration([0.9] * 6, [True] * 6)}, "single")
    assert "95% interval 0.3000 to 0.9032 (wilson)" in text and "ECE 0.1000" in text
