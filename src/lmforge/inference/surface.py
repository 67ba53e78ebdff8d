"""The predict surface every loaded run shares, whatever its backend.

``Predictor`` is the interface (a ``typing.Protocol``): what ``lmforge.load`` returns
and what predict, evaluate, serve, explain and compress take. ``PredictSurface``
implements ``classes_``, ``predict``, ``predict_proba`` and ``decode`` once, over a
backend's ``logits``, so every backend turns scores into labels alike.
``logits_to_outputs`` and ``pool_windows`` are the numpy steps all backends share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from lmforge.errors import DataError


@runtime_checkable
class Predictor(Protocol):
    """A loaded run, ready to predict (PyTorch, ONNX, SetFit, TF-IDF or ensemble)."""

    run_dir: Path
    task: str
    labels: list[str]
    batch_size: int
    settings: dict[str, Any]

    @property
    def classes_(self) -> list[str]: ...

    def logits(self, texts: Sequence[str]) -> Any: ...

    def predict(self, texts: Sequence[str], threshold: float = 0.5) -> list[Any]: ...

    def predict_proba(self, texts: Sequence[str]) -> Any: ...

    def decode(self, outputs: Any, threshold: float = 0.5) -> list[Any]: ...


class PredictSurface:
    """``classes_``, ``predict``, ``predict_proba`` and ``decode`` for any backend that has
    ``task``, ``labels`` and ``logits(texts)`` (PyTorch, ONNX, TF-IDF runs): one place decides
    how scores become labels, so every backend answers alike."""

    task: str
    labels: list[str]

    def logits(self, texts: Sequence[str]) -> Any:  # pragma: no cover - each backend has its own
        raise NotImplementedError

    @property
    def classes_(self) -> list[str]:
        """Label names in the column order of ``predict_proba`` (scikit-learn's name)."""
        return list(self.labels)

    def predict_proba(self, texts: Sequence[str]) -> Any:
        """(n, k) probabilities, columns in ``classes_`` order (multi-label: independent)."""
        if self.task == "regression":
            raise DataError("predict_proba is for classifiers; this run is a regression model. "
                            "Use predict().")
        return logits_to_outputs(self.task, self.logits(texts))

    def predict(self, texts: Sequence[str], threshold: float = 0.5) -> list[Any]:
        """Label strings (single), tuples of labels (multi) or floats (regression)."""
        return self.decode(logits_to_outputs(self.task, self.logits(texts)), threshold)

    def decode(self, outputs: Any, threshold: float = 0.5) -> list[Any]:
        if self.task == "single":
            return [self.labels[int(i)] for i in outputs.argmax(axis=1)]
        if self.task == "multi":
            return [tuple(self.labels[j] for j in range(len(self.labels)) if row[j] >= threshold)
                    for row in outputs]
        return [float(v) for v in outputs]


def as_texts(texts: Sequence[Any]) -> list[str]:
    """``texts`` as a list of strings (a ``(first, second)`` sentence pair becomes one, see
    ``data.pairs``), or a ``DataError`` saying which item is neither."""
    from lmforge.data.pairs import as_input

    if isinstance(texts, str):
        raise DataError("pass a list of texts, not a single string: predict(['some text'])")
    return [as_input(text, f"text #{i}") for i, text in enumerate(texts)]


def check_inputs(texts: Sequence[str], pairs: bool) -> None:
    """A DataError when a sentence-pair run gets a single text, or a one-text run a pair."""
    from lmforge.data.pairs import is_pair, split_pairs

    if pairs:
        split_pairs(texts)  # names the first single text
        return
    for i, text in enumerate(texts):
        if is_pair(text):
            raise DataError(f"text #{i} is a sentence pair, but this model reads one text per "
                            "input (it was not trained on pairs). Pass single texts.")


def pool_windows(row_logits: Any, owner: Sequence[int] | None, n_texts: int) -> Any:
    """Each text's logits: the mean of its windows' rows (``Encoded.owner``); rows
    unchanged when every text is one row."""
    import numpy as np

    if owner is None:
        return row_logits
    owner_arr = np.asarray(owner, dtype=np.int64)
    pooled = np.zeros((n_texts, row_logits.shape[1]), dtype=np.float64)
    np.add.at(pooled, owner_arr, row_logits)
    counts = np.bincount(owner_arr, minlength=n_texts)
    return (pooled / counts[:, None]).astype(np.float32)


def logits_to_outputs(task: str, logits: Any) -> Any:
    """Probabilities (single: softmax, multi: sigmoid) or values (regression)."""
    import numpy as np

    if task == "single":
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return exp / exp.sum(axis=1, keepdims=True)
    if task == "multi":
        return 1.0 / (1.0 + np.exp(-logits))
    return logits[:, 0]


@dataclass
class TokenizedRun(PredictSurface):
    """What every backend that reads token ids holds (PyTorch, ONNX): the run, the model,
    its tokenizer and how the run's config.yaml says to encode texts."""

    run_dir: Path
    model: Any
    tokenizer: Any
    task: str
    labels: list[str]
    max_length: int
    truncation: str
    batch_size: int
    settings: dict[str, Any]
