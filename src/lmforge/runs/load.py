"""``load_run(RUN_DIR)``: any kind of run directory, loaded for prediction.

The kind (``lmforge.runs.kinds``) picks the backend; every backend has the same surface
(``lmforge.inference.Predictor``: ``task``, ``labels``, ``classes_``, ``logits``,
``predict``, ``predict_proba``), so predict, evaluate, serve, explain and compress need
not know which one they got.
"""

from __future__ import annotations

import os

from lmforge.inference.surface import Predictor
from lmforge.rundir import LOADABLE_FILES, RUN_FILES, check_run_dir, read_config
from lmforge.runs.kinds import KINDS, model_kind, run_kind


def load_run(run_dir: str | os.PathLike[str], batch_size: int | None = None,
             num_threads: int | None = None, complete: bool = True) -> Predictor:
    """A ``Classifier`` (PyTorch, SetFit), ``OnnxClassifier`` or ``TfidfClassifier``, chosen by
    the kind of run; an ``EnsembleClassifier`` (that model blended with the TF-IDF part in
    ``RUN_DIR/baseline``) for an ensemble run.

    ``num_threads`` sets ONNX Runtime's intra-op threads (PyTorch's are process-wide:
    use ``torch.set_num_threads``). ``complete=False`` loads a run still being written
    (``model/`` and ``config.yaml``, no ``metrics.json`` yet): export, prune and distill
    measure what they saved before they write its metrics.
    """
    path = check_run_dir(run_dir, RUN_FILES if complete else LOADABLE_FILES)
    return KINDS[run_kind(path)].load(path, read_config(path), batch_size, num_threads)


def load_model_part(run_dir: str | os.PathLike[str], batch_size: int | None = None,
                    num_threads: int | None = None) -> Predictor:
    """What ``RUN_DIR/model`` holds, alone: an ensemble run's transformer part (any other
    run loads as with ``load_run``)."""
    path = check_run_dir(run_dir)
    return KINDS[model_kind(path)].load(path, read_config(path), batch_size, num_threads)
