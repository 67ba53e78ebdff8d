"""Pre-training: tokenizers trained on a corpus, masked LM (+ next-sentence
prediction) and causal LM, from scratch or continued on domain text.

Modules, in the order data flows through them:

- ``corpus``      read text files -> documents of lines -> train / held-out
- ``tokenizer``   train WordPiece / BPE / Unigram; coverage (unknown share)
- ``scratch``     named model sizes (bert-mini, gpt-mini, ...); load to continue
- ``sequences``   lines -> packed sequences, sentence pairs, causal-LM blocks
- ``masking``     BERT's 80/10/10 masking, whole-word option
- ``objectives``  masked LM and causal LM: batches + loss
- ``loop``        the training loop (accelerate)
- ``report``      loss curve PNG, report.md
- ``run``         the recipes: ``pretrain()`` and ``train_tokenizer_dir()``
- ``sentiment_zh`` pre-train a Chinese bert-mini, then fine-tune it (an end-to-end example)
- ``cli``         ``lmforge tokenizer train|coverage`` and ``lmforge pretrain mlm|clm``

Nothing heavy is imported here: ``import lmforge.pretrain`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["pretrain", "train_tokenizer_dir"]

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.pretrain.run import pretrain, train_tokenizer_dir


def __getattr__(name: str) -> Any:
    if name in __all__:
        from lmforge.pretrain import run

        return getattr(run, name)
    raise AttributeError(f"module 'lmforge.pretrain' has no attribute {name!r}")
