"""BERT's masking: choose 15% of the tokens to predict; of those, 80% become
[MASK], 10% a random token, 10% stay as they are (Devlin et al. 2019, 3.1: the
model cannot tell which unmasked tokens it will be asked about, so it keeps a
representation of every token).

Masks are drawn per batch, fresh every epoch (RoBERTa's dynamic masking).
With whole-word masking, all the pieces of a word are chosen together (Google's
BERT wwm release; Cui et al. 2021 for Chinese), so the model cannot fill in
``##ing`` from ``play`` alone.
"""

from __future__ import annotations

from typing import Any

IGNORE = -100  # label of positions without a prediction (PyTorch's cross-entropy default)


def mask_tokens(input_ids: Any, candidates: Any, mask_id: int, random_ids: Any,
                probability: float, generator: Any, word_ids: Any = None) -> tuple[Any, Any]:
    """(masked input ids, labels). Only ``candidates`` (a bool tensor: real, non-special
    tokens) can be chosen; every row with a candidate gets at least one prediction."""
    import torch

    if word_ids is None:
        chosen = torch.bernoulli(torch.full(input_ids.shape, probability), generator=generator).bool()
        chosen &= candidates
        empty = ~chosen.any(dim=1) & candidates.any(dim=1)
        if empty.any():  # a short row may draw nothing; give it one prediction
            pick = torch.multinomial(candidates[empty].float(), 1, generator=generator).squeeze(1)
            chosen[empty.nonzero().squeeze(1), pick] = True
    else:
        chosen = whole_word_choice(word_ids, candidates, probability, generator)

    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, IGNORE))
    masked = input_ids.clone()
    to_mask = torch.bernoulli(torch.full(input_ids.shape, 0.8), generator=generator).bool() & chosen
    to_random = (torch.bernoulli(torch.full(input_ids.shape, 0.5), generator=generator).bool()
                 & chosen & ~to_mask)  # half of the remaining 20%
    masked[to_mask] = mask_id
    n_random = int(to_random.sum())
    if n_random:
        draw = torch.randint(len(random_ids), (n_random,), generator=generator)
        masked[to_random] = random_ids[draw]
    return masked, labels


def whole_word_choice(word_ids: Any, candidates: Any, probability: float, generator: Any) -> Any:
    """Choose whole words, in random order, until ``probability`` of the row's tokens
    are covered; a word that would overshoot the budget is skipped (BERT's
    create_masked_lm_predictions)."""
    import torch

    chosen = torch.zeros_like(candidates)
    for row in range(word_ids.shape[0]):
        positions: dict[int, list[int]] = {}
        for pos, word in enumerate(word_ids[row].tolist()):
            if word >= 0 and candidates[row, pos]:
                positions.setdefault(word, []).append(pos)
        if not positions:
            continue
        words = list(positions.values())
        n_tokens = sum(len(w) for w in words)
        budget = max(1, round(probability * n_tokens))
        picked = 0
        for k in torch.randperm(len(words), generator=generator).tolist():
            if picked >= budget:
                break
            if picked and picked + len(words[k]) > budget:
                continue
            chosen[row, words[k]] = True
            picked += len(words[k])
    return chosen
