"""The two pre-training objectives, each as batches + a loss.

An objective hands the loop shuffled training batches per epoch, fixed
held-out batches, and computes the loss of a batch together with the sums
the held-out report needs (so perplexity is exact, not a mean of means).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from lmforge.pretrain.masking import mask_tokens
from lmforge.pretrain.sequences import Sequences

Batch = dict[str, Any]


class Objective(Protocol):
    name: str

    def steps_per_epoch(self, batch_size: int) -> int: ...

    def batches(self, epoch: int, batch_size: int) -> Iterator[Batch]: ...

    def heldout_batches(self, batch_size: int) -> Iterator[Batch]: ...

    def loss(self, model: Any, batch: Batch) -> tuple[Any, dict[str, float]]: ...


def summarize(stats: dict[str, float]) -> dict[str, float]:
    """Summed batch statistics -> mean loss, perplexity (and NSP accuracy)."""
    out: dict[str, float] = {}
    if stats.get("lm_tokens"):
        out["loss"] = stats["lm_loss_sum"] / stats["lm_tokens"]
        out["perplexity"] = math.exp(min(out["loss"], 50.0))
        out["predicted_tokens"] = int(stats["lm_tokens"])
    if stats.get("nsp_pairs"):
        out["nsp_loss"] = stats["nsp_loss_sum"] / stats["nsp_pairs"]
        out["nsp_accuracy"] = stats["nsp_correct"] / stats["nsp_pairs"]
    return out


def _pad(rows: list[list[int]], value: int) -> Any:
    import torch

    width = max(len(r) for r in rows)
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


def has_bert_head(model: Any) -> bool:
    """A BERT-layout masked LM (``bert`` + ``cls``): its encoder and head can be run apart."""
    return hasattr(model, "bert") and hasattr(model, "cls")


def corpus_vocabulary(*parts: Sequences) -> Any:
    """The sorted token ids found in these sequences (special tokens included)."""
    import numpy as np

    found = [np.unique(np.asarray(p.ids.tokens)) if hasattr(p.ids, "tokens")  # a TokenShard
             else np.unique(np.fromiter((t for row in p.ids for t in row), dtype=np.int64))
             for p in parts]
    return np.unique(np.concatenate(found)).astype(np.int64) if found else np.zeros(0, np.int64)


@dataclass
class MaskedLM:
    """Masked LM, optionally with next-sentence prediction (BertForPreTraining)."""

    train: Sequences
    heldout: Sequences
    pad_id: int
    mask_id: int
    special_ids: list[int]
    vocab_size: int
    probability: float = 0.15
    whole_word: bool = False
    seed: int = 0
    # the sorted token ids the head predicts over (--output-vocabulary corpus); None: all
    output_ids: Any = None

    def __post_init__(self) -> None:
        import torch

        special = set(self.special_ids)
        self._special = torch.tensor(sorted(special))
        # the 10% "random token" replacements are drawn from ordinary tokens only
        self._random_ids = torch.tensor([t for t in range(self.vocab_size) if t not in special])
        self._row_of = None  # token id -> its row among output_ids
        if self.output_ids is not None:
            self.output_ids = torch.as_tensor(self.output_ids, dtype=torch.long)
            self._row_of = torch.full((self.vocab_size,), -1, dtype=torch.long)
            self._row_of[self.output_ids] = torch.arange(len(self.output_ids))

    @property
    def name(self) -> str:
        return "mlm+nsp" if self.train.nsp_labels is not None else "mlm"

    def steps_per_epoch(self, batch_size: int) -> int:
        return math.ceil(len(self.train) / batch_size)

    def _batch(self, seqs: Sequences, idx: list[int], generator: Any) -> Batch:
        import torch

        ids = _pad([seqs.ids[i] for i in idx], self.pad_id)
        attention = _pad([[1] * len(seqs.ids[i]) for i in idx], 0)
        special = torch.isin(ids, self._special)
        words = _pad([seqs.word_ids[i] for i in idx], -1) if (
            self.whole_word and seqs.word_ids is not None) else None
        masked, labels = mask_tokens(ids, attention.bool() & ~special, self.mask_id,
                                     self._random_ids, self.probability, generator, words)
        batch = {"input_ids": masked, "attention_mask": attention, "labels": labels}
        if seqs.token_type_ids is not None:
            batch["token_type_ids"] = _pad([seqs.token_type_ids[i] for i in idx], 0)
        if seqs.nsp_labels is not None:
            batch["next_sentence_label"] = torch.tensor([seqs.nsp_labels[i] for i in idx])
        return batch

    def batches(self, epoch: int, batch_size: int) -> Iterator[Batch]:
        import torch

        from lmforge.data.tokenize import length_grouped_batches

        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        lengths = self.train.lengths()
        for idx in length_grouped_batches(lengths, batch_size, self.seed + epoch):
            yield self._batch(self.train, idx, generator)

    def heldout_batches(self, batch_size: int) -> Iterator[Batch]:
        import torch

        # the same masks at every evaluation, so the curve compares like with like
        generator = torch.Generator().manual_seed(self.seed + 12_345)
        for start in range(0, len(self.heldout), batch_size):
            idx = list(range(start, min(start + batch_size, len(self.heldout))))
            yield self._batch(self.heldout, idx, generator)

    def loss(self, model: Any, batch: Batch) -> tuple[Any, dict[str, float]]:
        import torch.nn.functional as F

        labels = batch["labels"]
        selected = labels != -100
        inputs = {k: v for k, v in batch.items() if k not in ("labels", "next_sentence_label")}
        pooled = None
        if has_bert_head(model):
            # Run the vocabulary projection on the ~15% predicted positions only:
            # with a small encoder it is a third of the compute otherwise.
            encoded = model.bert(**inputs)
            hidden = encoded.last_hidden_state[selected]
            pooled = encoded.pooler_output
            if self.output_ids is None:
                logits, targets = model.cls.predictions(hidden), labels[selected]
            else:  # an exact softmax over the corpus's pieces: the rows of the others are skipped
                head = model.cls.predictions
                logits = F.linear(head.transform(hidden), head.decoder.weight[self.output_ids],
                                  head.decoder.bias[self.output_ids])
                targets = self._row_of[labels[selected]]
        else:
            out = model(**inputs)
            logits = getattr(out, "prediction_logits", None)
            logits, targets = (out.logits if logits is None else logits)[selected], labels[selected]
        lm_sum = F.cross_entropy(logits.float(), targets, reduction="sum")
        n = int(selected.sum())
        loss = lm_sum / max(1, n)
        stats = {"lm_loss_sum": lm_sum.item(), "lm_tokens": float(n)}
        if "next_sentence_label" in batch:
            nsp_logits = model.cls.seq_relationship(pooled) if pooled is not None else (
                model(**inputs).seq_relationship_logits)
            target = batch["next_sentence_label"]
            nsp = F.cross_entropy(nsp_logits.float(), target)
            loss = loss + nsp  # BERT's total: the two losses summed
            stats.update(nsp_loss_sum=nsp.item() * len(target), nsp_pairs=float(len(target)),
                         nsp_correct=float((nsp_logits.argmax(-1) == target).sum()))
        return loss, stats


@dataclass
class CausalLM:
    """Next-token prediction on packed blocks: every position is a target, no padding."""

    train: list[list[int]]
    heldout: list[list[int]]
    seed: int = 0
    name: str = "clm"

    def steps_per_epoch(self, batch_size: int) -> int:
        return math.ceil(len(self.train) / batch_size)

    def batches(self, epoch: int, batch_size: int) -> Iterator[Batch]:
        import torch

        order = list(range(len(self.train)))
        random.Random(self.seed + epoch).shuffle(order)
        for start in range(0, len(order), batch_size):
            rows = [self.train[i] for i in order[start : start + batch_size]]
            yield {"input_ids": torch.tensor(rows, dtype=torch.long)}

    def heldout_batches(self, batch_size: int) -> Iterator[Batch]:

        for start in range(0, len(self.heldout), batch_size):
            yield {"input_ids": _pad(self.heldout[start : start + batch_size], 0)}

    def loss(self, model: Any, batch: Batch) -> tuple[Any, dict[str, float]]:
        import torch.nn.functional as F

        ids = batch["input_ids"]
        logits = model(input_ids=ids).logits[:, :-1]
        # held-out blocks are equal-length too (one short block at most, alone in its batch)
        lm_sum = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                 ids[:, 1:].reshape(-1), reduction="sum")
        n = ids[:, 1:].numel()
        return lm_sum / n, {"lm_loss_sum": lm_sum.item(), "lm_tokens": float(n)}
