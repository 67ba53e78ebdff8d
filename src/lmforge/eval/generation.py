"""Metrics of generated text: BLEU, ROUGE-1/2/L, and a causal LM's perplexity on a text.

- ``bleu(predictions, references)``: sacrebleu's corpus BLEU (13a tokenization, 0-100), one
  reference per prediction.
- ``rouge(predictions, references)``: rouge_score's ROUGE-1, ROUGE-2 and ROUGE-L F1 (Porter
  stemming), averaged over the pairs, 0-1. rouge_score's tokenizer keeps only [a-z0-9]: it suits
  English, and scores texts in other scripts as empty.
- ``perplexity(model, text)``: exp(mean negative log-likelihood per predicted token) over the
  whole token stream, with a sliding window as in the Hugging Face perplexity guide: windows of
  ``max_length`` tokens moving ``stride`` tokens at a time; each token is scored exactly once,
  in the first window that reaches it, with the rest of that window as extra context.

CLI: ``lmforge generate eval --model M --text FILE`` (perplexity) and/or
``lmforge generate eval --predictions FILE --references FILE`` (BLEU, ROUGE; one text per line,
line i against line i).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.errors import DataError


def read_lines(path: str | Path, what: str) -> list[str]:
    """Lines of a UTF-8 file (a final newline does not make an extra empty line)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} file '{path}' does not exist. Pass a UTF-8 text file, one text per line.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{what} file '{path}' is not valid UTF-8 (byte {exc.start}). "
                        "Re-save it as UTF-8.") from exc
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not any(line.strip() for line in lines):
        raise DataError(f"{what} file '{path}' is empty. Write one text per line.")
    return lines


def _check_pairs(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise DataError(f"{len(predictions)} predictions but {len(references)} references: give one "
                        "reference per prediction (line i of each file belong together).")
    if not predictions:
        raise DataError("no predictions to score: give at least one prediction and reference.")


def bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0-100) of the predictions against one reference each."""
    import sacrebleu

    _check_pairs(predictions, references)
    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)]).score)


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 (0-1) over the prediction/reference pairs."""
    from rouge_score import rouge_scorer

    _check_pairs(predictions, references)
    kinds = ("rouge1", "rouge2", "rougeL")
    scorer = rouge_scorer.RougeScorer(list(kinds), use_stemmer=True)
    totals = dict.fromkeys(kinds, 0.0)
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer.score(reference, prediction)  # (target, prediction)
        for kind in kinds:
            totals[kind] += scores[kind].fmeasure
    return {kind: totals[kind] / len(predictions) for kind in kinds}


def generation_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    return {"bleu": bleu(predictions, references), **rouge(predictions, references)}


def token_nll(model: Any, ids: Sequence[int], *, max_length: int, stride: int) -> tuple[float, int]:
    """(summed negative log-likelihood, number of tokens scored) of a token stream."""
    import torch

    if len(ids) < 2:
        raise DataError(f"the text is {len(ids)} token(s): perplexity needs at least 2.")
    device = model.device
    stream = torch.tensor([list(ids)], device=device)
    total, count, scored_until = 0.0, 0, 1  # token 0 has no context and is never scored
    with torch.inference_mode():
        for begin in range(0, len(ids), stride):
            end = min(begin + max_length, len(ids))
            window = stream[:, begin:end]
            logp = torch.log_softmax(model(input_ids=window).logits[0].float(), dim=-1)
            first = max(scored_until, begin + 1)  # absolute position of the first new target
            targets = stream[0, first:end]
            # logits at window position t predict token t+1
            picked = logp[first - begin - 1:end - begin - 1].gather(-1, targets.unsqueeze(-1))
            total -= float(picked.sum())
            count += end - first
            scored_until = end
            if end == len(ids):
                break
    return total, count


def perplexity(model: Any, tokenizer: Any, text: str, *, max_length: int = 0, stride: int = 512,
               context_window: int | None = None) -> dict[str, Any]:
    """Perplexity of a causal LM on ``text`` (see the module docstring for the window)."""
    import math

    ids = list(tokenizer(text)["input_ids"])
    window = context_window or int(getattr(model.config, "max_position_embeddings", 1024))
    if not max_length:
        max_length = min(window, 1024)
    if max_length > window:
        raise DataError(f"max_length {max_length} exceeds the model's context window of {window} "
                        "tokens; lower --max-length.")
    stride = min(stride, max_length)
    nll, count = token_nll(model, ids, max_length=max_length, stride=stride)
    return {"perplexity": math.exp(nll / count), "nll_per_token": nll / count, "tokens": len(ids),
            "scored_tokens": count, "max_length": max_length, "stride": stride}
