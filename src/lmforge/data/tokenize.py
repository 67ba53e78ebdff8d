"""Tokenization that never cuts silently, and dynamic-padding batches.

Texts are tokenized once without truncation; texts over ``max_length`` are
shortened by the chosen strategy and counted. ``head+tail`` keeps the first
quarter and the last three quarters of the token budget: Sun et al. (2019),
"How to Fine-Tune BERT for Text Classification", found head+tail beats either
end alone on long reviews.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

HEAD_SHARE = 0.25


@dataclass
class Encoded:
    input_ids: list[list[int]]
    n_truncated: int  # texts longer than max_length
    longest: int  # longest text in tokens, special tokens included


def special_token_frame(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after one sequence.

    transformers 5 dropped ``build_inputs_with_special_tokens`` from fast
    tokenizers, so we read the frame off a probe instead: encode a word with and
    without special tokens and see what surrounds it.
    """
    bare = tokenizer("hello", add_special_tokens=False)["input_ids"]
    full = tokenizer("hello", add_special_tokens=True)["input_ids"]
    for start in range(len(full) - len(bare) + 1):
        if full[start : start + len(bare)] == bare:
            return list(full[:start]), list(full[start + len(bare) :])
    return [], []


def truncate(ids: list[int], budget: int, strategy: str) -> list[int]:
    if len(ids) <= budget:
        return ids
    if strategy == "head":
        return ids[:budget]
    if strategy == "tail":
        return ids[len(ids) - budget :]
    head = int(budget * HEAD_SHARE)
    tail = budget - head
    return ids[:head] + ids[len(ids) - tail :]


def encode_texts(
    tokenizer: Any, texts: Sequence[str], max_length: int, strategy: str = "head+tail"
) -> Encoded:
    prefix, suffix = special_token_frame(tokenizer)
    budget = max_length - len(prefix) - len(suffix)
    if budget < 1:
        raise ValueError(f"max_length {max_length} leaves no room for text tokens")
    bare = tokenizer(list(texts), add_special_tokens=False)["input_ids"] if texts else []
    out: list[list[int]] = []
    n_truncated = 0
    longest = 0
    for ids in bare:
        longest = max(longest, len(ids) + len(prefix) + len(suffix))
        if len(ids) > budget:
            n_truncated += 1
        out.append(prefix + truncate(list(ids), budget, strategy) + suffix)
    return Encoded(out, n_truncated, longest)


def pad_batch(rows: Sequence[list[int]], pad_id: int) -> dict[str, Any]:
    """Pad to the longest row of this batch only (dynamic padding)."""
    import torch

    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


def length_grouped_batches(
    lengths: Sequence[int], batch_size: int, seed: int, pool: int = 50
) -> Iterator[list[int]]:
    """Shuffled batches of similar-length examples.

    Shuffle, cut into pools of ``pool`` batches, sort each pool by length, cut
    into batches, shuffle the batch order. Padding waste drops while each epoch
    stays random (the approach of HF's ``group_by_length``).
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    batches: list[list[int]] = []
    step = batch_size * pool
    for start in range(0, len(order), step):
        chunk = sorted(order[start : start + step], key=lambda i: lengths[i], reverse=True)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    yield from batches


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches for inference, longest first; callers restore the input order."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
