"""N-gram language models: counting with numpy, five smoothings, ARPA files in and out.

    from lmforge.lm import fit_ngram, load_ngram
    model = fit_ngram([line.split() for line in lines], order=3)   # modified Kneser-Ney
    model.score("a sentence")        # log10 p with <s> and </s>, as KenLM reports it
    model.evaluate(sentences)        # perplexity, OOV rate
    model.save("model.arpa")         # kenlm.Model("model.arpa") scores the same
    load_ngram("model.arpa")         # ours, KenLM's or SRILM's ARPA files

Conventions (those of SRILM and KenLM unless said otherwise):

* One line is one sentence, padded ``<s> w1 .. wn </s>``; ``</s>`` is predicted
  and counted in perplexity, ``<s>`` is only a context. Blank lines are skipped.
* The vocabulary is every training word (``min_count`` and up), ``</s>`` and
  ``<unk>``; other words are scored as ``<unk>`` and counted as OOV.
* Every smoothing is stored in backoff form, exactly: what ARPA files hold.
  ``smoothing.py`` documents each estimator and the choices ARPA forces
  (add-k backs off Katz-style for unseen words after a seen context; stupid
  backoff gives scores, not probabilities; the unseen-word mass of Kneser-Ney
  comes from interpolating its unigrams with the uniform distribution).
* Differences from NLTK's ``KneserNeyInterpolated``: tests/lm/test_nltk_agreement.py.

Importing this package is cheap: the numpy-based modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.lm.arpa import read_arpa, write_arpa
    from lmforge.lm.config import SMOOTHINGS, NgramTrainConfig
    from lmforge.lm.model import NgramModel
    from lmforge.lm.pipeline import (
        evaluate_ngram,
        fit_ngram,
        load_ngram,
        score_lines,
        score_ngram,
        train_ngram,
    )

_HOMES = {
    "read_arpa": "arpa", "write_arpa": "arpa",
    "SMOOTHINGS": "config", "NgramTrainConfig": "config",
    "NgramModel": "model",
    "evaluate_ngram": "pipeline", "fit_ngram": "pipeline", "load_ngram": "pipeline",
    "score_lines": "pipeline", "score_ngram": "pipeline", "train_ngram": "pipeline",
}
__all__ = ["SMOOTHINGS", "NgramModel", "NgramTrainConfig", "evaluate_ngram", "fit_ngram", "load_ngram",
           "read_arpa", "score_lines", "score_ngram", "train_ngram", "write_arpa"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(f"lmforge.lm.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'lmforge.lm' has no attribute {name!r}")
