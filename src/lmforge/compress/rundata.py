"""The data a run was trained and tested on, read back from its config.yaml.

Pruning needs the run's *training* split (importance scores, recovery
fine-tune) and every report needs its *test* split. When training carved the
test split out of ``data``, the split is reproduced by the very function
training used (``data.split.split_for_training``) with the run's seed and
fractions, so the recovery fine-tune never sees a test example.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class Labelled:
    """Texts and targets (user label strings) of one labelled file or split."""

    texts: list[str]
    targets: list[Any]
    source: str

    def __len__(self) -> int:
        return len(self.texts)


def load_labelled_file(path: str | Path, settings: dict[str, Any], task: str) -> Any:
    """A labelled file read with the run's columns, else with detected columns
    (``lmforge evaluate``'s rule). Returns the data module's examples."""
    from lmforge.data import load_like_training, training_columns

    if not Path(path).is_file():
        raise DataError(f"'{path}': no such file. Pass a labelled CSV/TSV/JSONL/Parquet file.")
    columns = training_columns(settings.get("text_col"), settings.get("label_col"),
                               settings.get("pair"))
    return load_like_training(path, columns, task, settings.get("label_sep", "|")).examples


def _as_labelled(examples: Any, source: str) -> Labelled:
    return Labelled(list(examples.texts), list(examples.targets), source)


def reproduced_splits(settings: dict[str, Any], task: str) -> dict[str, Any]:
    """The train/validation/test parts carved from the run's ``data`` exactly as ``lmforge
    train`` made them (a part given as a separate file comes back empty)."""
    from lmforge.data import load_examples
    from lmforge.data.split import split_for_training

    data = settings.get("data")
    if not data or not Path(data).is_file():
        raise DataError(
            f"the run's training data '{data}' (config.yaml 'data') is not there any more. "
            "Pass the training file explicitly (--train-data FILE)."
        )
    # the very call `lmforge train` made (its config.yaml holds the resolved columns),
    # so the rows come back in the same order and the seeded split is the same
    examples = load_examples(data, text_col=settings.get("text_col"),
                             label_col=settings.get("label_col"), task=task,
                             label_sep=settings.get("label_sep", "|"),
                             pair=settings.get("pair")).examples
    # separate validation/test files are not needed here: named, so nothing is carved for them
    given = {name: None for name in ("validation", "test") if settings.get(name)}
    splits = split_for_training(
        examples, validation_fraction=float(settings.get("validation_fraction", 0.1)),
        test_fraction=float(settings.get("test_fraction", 0.2)),
        seed=int(settings.get("seed", 0)), path=data, held_out=given,
    )
    return {"train": splits.train, "validation": splits.validation, "test": splits.test}


def training_examples(settings: dict[str, Any], task: str, train_data: str | None = None,
                      max_samples: int | None = None, seed: int = 0) -> Labelled:
    """``train_data`` whole when given, else the run's own training split."""
    from lmforge.data.split import stratified_subset

    if train_data:
        examples = load_labelled_file(train_data, settings, task)
        source = str(train_data)
    else:
        examples = reproduced_splits(settings, task)["train"]
        source = f"{settings.get('data')} (the run's training split)"
    if max_samples and len(examples) > max_samples:
        examples = stratified_subset(examples, max_samples, seed)
    if len(examples) == 0:
        raise DataError(f"{source}: no training examples")
    return _as_labelled(examples, source)


def test_examples(settings: dict[str, Any], task: str, data: str | None = None) -> Labelled | None:
    """Where the report's test scores come from, in order: ``data`` when given, the
    run's ``test`` file, the test split carved from the run's ``data``. None when
    none of these is available (the report then shows no accuracy)."""
    if data:
        return _as_labelled(load_labelled_file(data, settings, task), str(data))
    if settings.get("test"):
        if Path(settings["test"]).is_file():
            return _as_labelled(load_labelled_file(settings["test"], settings, task),
                                str(settings["test"]))
        log.warning("the run's test file %s is not there any more; pass --data FILE to score "
                    "the models", settings["test"])
        return None
    if settings.get("data") and Path(settings["data"]).is_file():
        from lmforge.data.split import stratified_subset

        test = reproduced_splits(settings, task)["test"]
        limit = settings.get("max_eval_samples")
        if limit and len(test) > int(limit):
            test = stratified_subset(test, int(limit), int(settings.get("seed", 0)))
        if len(test):
            return _as_labelled(test, f"{settings['data']} (the run's test split)")
    log.warning("no test data: the run has no test file and --data was not given, so the "
                "report shows no accuracy")
    return None


def score(clf: Any, examples: Labelled) -> dict[str, Any]:
    """metrics.json-shaped scores of ``clf`` on ``examples``."""
    from lmforge.labels import check_known
    from lmforge.scoring import score_outputs

    check_known(clf.task, examples.targets, clf.labels, examples.source)
    logits = clf.logits(examples.texts)
    return score_outputs(clf.task, logits, examples.targets, clf.labels)
