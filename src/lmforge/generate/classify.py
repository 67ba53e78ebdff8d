"""Zero- and few-shot classification without training: label log-likelihood or embeddings.

generative
    The text goes into an instruction prompt (the model's chat template when it has one; few-shot
    examples are listed in it), and each label is scored by the log-probability the causal LM
    gives its tokens as the answer. The prompt is run once and its KV cache is repeated across the
    batch of labels, so a text costs one prompt pass plus one pass over the (short) labels, not one
    full pass per label. The score is the *mean* token log-probability (``length_norm="mean"``):
    a sum penalises labels that happen to split into more tokens (``"sum"`` is available).
embedding
    Cosine similarity between the text's embedding and each label's: the default sentence encoder
    (all-MiniLM-L6-v2), mean pooling over the attention mask, L2-normalised. A label is embedded
    from its description (``label_template``) or, given few-shot examples, as the prototype
    (normalised mean embedding) of its examples.
calibration
    A small LM has a strong prior for some labels (SmolLM2-135M says "positive" to every movie
    review). ``content-free``: contextual calibration (Zhao et al. 2021, in log space), subtract,
    per label, the score the label gets for a content-free input ("N/A"). ``batch``: batch
    calibration (Zhou et al. 2024), subtract each label's mean score over the texts being
    classified, an estimate of the prior from the data itself (it needs a batch of texts; the
    scores of a text then depend on the others it is classified with).
auto
    generative when ``model`` is a causal-LM directory given explicitly, else embedding with the
    given (or default) encoder. Measured on Rotten Tomatoes (bench/prompt_classify.py) and on a
    5-topic news set, the small default encoder beats the small default generator by far and is
    an order of magnitude faster, so ``model="default"`` means embedding.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lmforge.errors import ConfigError, DataError
from lmforge.generate.config import CALIBRATIONS
from lmforge.generate.models import CausalLM

log = logging.getLogger(__name__)

DEFAULT_INSTRUCTION = "Classify the text into one of these labels: {labels}. Answer with the label only."


# softmax temperatures of the prob_<label> columns: the generative scores are (mean) token
# log-probabilities, so 1; cosines span a narrow range, and all-MiniLM-L6-v2 was trained with
# a similarity scale of 20 (sentence-transformers' MultipleNegativesRankingLoss), so 1/20
DEFAULT_TEMPERATURE = {"generative": 1.0, "embedding": 0.05}


@dataclass
class ClassifyResult:
    labels: list[str]
    predictions: list[str]
    scores: list[list[float]]  # one row per text, one column per label (higher = more likely)
    method: str
    model: str
    details: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0

    @property
    def probabilities(self) -> list[list[float]]:
        """softmax(scores / temperature) per text: the prob_<label> columns."""
        return [softmax(row, self.temperature) for row in self.scores]

    def rows(self, texts: Sequence[str], gold: Sequence[str] | None = None,
             gold_col: str = "label") -> list[dict[str, Any]]:
        """Output rows: text, the gold label (as ``gold_col``) when given, predicted_label and
        one prob_<label> per label (README, "Conventions")."""
        rows = []
        golds = gold if gold is not None else [None] * len(texts)
        for text, truth, label, probs in zip(texts, golds, self.predictions, self.probabilities,
                                             strict=True):
            item: dict[str, Any] = {"text": text}
            if gold is not None:
                item[gold_col] = truth
            item["predicted_label"] = label
            item.update({f"prob_{name}": p for name, p in zip(self.labels, probs, strict=True)})
            rows.append(item)
        return rows


def softmax(row: Sequence[float], temperature: float = 1.0) -> list[float]:
    import math

    top = max(row)
    exps = [math.exp((v - top) / temperature) for v in row]
    total = sum(exps)
    return [e / total for e in exps]


def accuracy_against(predictions: Sequence[str], gold: Sequence[str],
                     labels: Sequence[str]) -> dict[str, Any]:
    """Accuracy over the texts whose gold label is one of ``labels`` (others counted apart)."""
    known = [(p, g) for p, g in zip(predictions, gold, strict=True) if g in labels]
    correct = sum(p == g for p, g in known)
    return {"accuracy": correct / len(known) if known else None, "correct": correct,
            "n": len(known), "not_in_labels": len(gold) - len(known)}


def check_labels(labels: Sequence[str]) -> list[str]:
    labels = [str(label).strip() for label in labels]
    if len([label for label in labels if label]) < 2:
        raise ConfigError(f"labels: give at least 2 labels, got {len(labels)} ({', '.join(labels)}); "
                          "e.g. --labels positive,negative")
    if any(not label for label in labels):
        raise ConfigError("labels: a label is empty; give non-empty comma-separated labels")
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ConfigError(f"labels: each label once; repeated: {', '.join(repeated)}")
    return labels


def check_examples(examples: Sequence[tuple[str, str]], labels: Sequence[str], source: str) -> None:
    unknown = sorted({label for _, label in examples if label not in labels})
    if unknown:
        raise DataError(f"{source}: example label(s) {', '.join(repr(u) for u in unknown)} not in "
                        f"--labels ({', '.join(labels)}). Add them to --labels or fix the examples.")


def read_examples(path: str, labels: Sequence[str]) -> list[tuple[str, str]]:
    """(text, label) pairs of a labelled file (text and label columns detected as for training)."""
    from lmforge.data import load_examples

    examples = load_examples(path, task="single").examples
    rows = examples.rows or [0] * len(examples.texts)
    for text, label, row in zip(examples.texts, examples.targets, rows, strict=True):
        if str(label) not in labels:
            where = f"{path} row {row}" if row else path
            raise DataError(f"{where}: example label {str(label)!r} is not in --labels "
                            f"({', '.join(labels)}). Add it to --labels or fix the example "
                            f"(text: {text[:60]!r}).")
    return [(str(t), str(label)) for t, label in zip(examples.texts, examples.targets, strict=True)]


def read_classify_data(path: str, text_col: str | None = None, label_col: str | None = None
                       ) -> tuple[list[str], list[str] | None, str | None]:
    """(texts, gold labels or None, the gold column's name) of ``prompt classify --data``: the
    label column is ``label_col``, else a column named 'label' when the file has one."""
    from lmforge.data import load_examples, read_texts
    from lmforge.data.read import read_table

    if label_col is None:
        present = [str(c) for c in read_table(path).columns] if not str(path).endswith(".txt") else []
        label_col = next((c for c in present if c.strip().lower() == "label" and c != text_col), None)
        if label_col is None:
            return read_texts(path, text_col), None, None
    loaded = load_examples(path, text_col=text_col, label_col=label_col, task="single")
    return (list(loaded.examples.texts), [str(t) for t in loaded.examples.targets], label_col)


# --------------------------------------------------------------------------- generative

def classification_prompt(lm: CausalLM, text: str, labels: Sequence[str],
                          examples: Sequence[tuple[str, str]] = (),
                          instruction: str = DEFAULT_INSTRUCTION) -> tuple[str, bool, str]:
    """(prompt text, templated?, separator placed before the label)."""
    lines = [instruction.replace("{labels}", ", ".join(labels))]
    if examples:
        lines.append("Examples:\n" + "\n\n".join(f"Text: {t}\nLabel: {label}" for t, label in examples))
    lines.append(f"Text: {text}")
    content = "\n\n".join(lines)
    if lm.has_chat_template:
        rendered = lm.tokenizer.apply_chat_template([{"role": "user", "content": content}],
                                                    add_generation_prompt=True, tokenize=False)
        return str(rendered), True, ""
    # no chat template: a plain cue, and the label follows after a space as a word would
    return content + "\nLabel:", False, " "


def label_token_ids(lm: CausalLM, labels: Sequence[str], separator: str) -> list[list[int]]:
    ids = [list(lm.tokenizer(separator + label, add_special_tokens=False)["input_ids"]) for label in labels]
    empty = [label for label, row in zip(labels, ids, strict=True) if not row]
    if empty:
        raise ConfigError(f"labels: {', '.join(empty)} tokenize to nothing; use visible words")
    return ids


def prefix_cache(lm: CausalLM, prefix_ids: Sequence[int]) -> tuple[Any, int]:
    """The KV cache of a prompt prefix shared by every text (instruction, examples), and its length."""
    import torch
    from transformers import DynamicCache

    cache = DynamicCache(config=lm.model.config)
    with torch.inference_mode():
        lm.model(input_ids=torch.tensor([list(prefix_ids)], device=lm.model.device), cache=cache,
                 use_cache=True)
    return cache, len(prefix_ids)


def score_labels_cached(lm: CausalLM, prompt_ids: Sequence[int], label_ids: Sequence[Sequence[int]],
                        length_norm: str = "mean", prefix: tuple[Any, int] | None = None) -> list[float]:
    """Log-likelihood of each label's tokens after the prompt, with one prompt pass.

    The prompt's KV cache is repeated once per label and the labels go through as one batch,
    right-padded: causal attention never lets a real token see the padding after it, so no
    attention mask is needed and positions continue from the cache length. ``prefix`` (from
    ``prefix_cache``) is the cache of the prompt's first tokens, computed once for all texts:
    only the rest of the prompt is run here, on a copy of it.
    """
    import copy

    import torch
    from transformers import DynamicCache

    device = lm.model.device
    n = len(label_ids)
    longest = max(len(row) for row in label_ids)
    with torch.inference_mode():
        if prefix is not None:
            cache, start = copy.deepcopy(prefix[0]), prefix[1]
        else:
            cache, start = DynamicCache(config=lm.model.config), 0
        out = lm.model(input_ids=torch.tensor([list(prompt_ids[start:])], device=device), cache=cache,
                       use_cache=True)
        first = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        logp = torch.zeros(n, longest, device=device)
        targets = torch.zeros(n, longest, dtype=torch.long, device=device)
        mask = torch.zeros(n, longest, device=device)
        for i, row in enumerate(label_ids):
            targets[i, :len(row)] = torch.tensor(row, device=device)
            mask[i, :len(row)] = 1
        logp[:, 0] = first[targets[:, 0]]
        if longest > 1:
            # the last label token is only ever predicted, never fed in
            cache.batch_repeat_interleave(n)
            rest = lm.model(input_ids=targets[:, :-1], cache=cache, use_cache=True).logits
            rest = torch.log_softmax(rest.float(), dim=-1)
            logp[:, 1:] = rest.gather(-1, targets[:, 1:].unsqueeze(-1)).squeeze(-1)
        total = (logp * mask).sum(dim=1)
        if length_norm == "mean":
            total = total / mask.sum(dim=1)
    return [float(v) for v in total.cpu()]


def score_labels_full(lm: CausalLM, prompt_ids: Sequence[int], label_ids: Sequence[Sequence[int]],
                      length_norm: str = "mean") -> list[float]:
    """The same scores, each prompt + label sequence run from scratch (the reference)."""
    import torch

    scores = []
    with torch.inference_mode():
        for row in label_ids:
            ids = torch.tensor([list(prompt_ids) + list(row)], device=lm.model.device)
            logp = torch.log_softmax(lm.model(input_ids=ids).logits[0].float(), dim=-1)
            start = len(prompt_ids)
            total = sum(float(logp[start - 1 + j, tok]) for j, tok in enumerate(row))
            scores.append(total / len(row) if length_norm == "mean" else total)
    return scores


def generative_scores(lm: CausalLM, texts: Sequence[str], labels: Sequence[str],
                      examples: Sequence[tuple[str, str]] = (), *, length_norm: str = "mean",
                      instruction: str = DEFAULT_INSTRUCTION) -> list[list[float]]:
    from lmforge.generate.generation import encode_prompt
    from lmforge.progress import Progress

    encoded: list[list[int]] = []
    label_ids: list[list[int]] = []
    for index, text in enumerate(texts):
        prompt, templated, separator = classification_prompt(lm, text, labels, examples, instruction)
        if not label_ids:
            label_ids = label_token_ids(lm, labels, separator)
        longest = max(len(row) for row in label_ids)
        encoded.append(encode_prompt(lm, prompt, templated, reserve=longest,
                                     reserved="tokens of the longest label",
                                     what=f"classification prompt of text {index + 1}",
                                     advice=f"Shorten text {index + 1}, the instruction or the examples, "
                                     "or use --method embedding (long texts are truncated there)."))
    # the instruction (and examples) open every prompt: run those tokens once, not once per text
    shared = common_prefix_length(encoded) if len(encoded) > 1 else 0
    prefix = prefix_cache(lm, encoded[0][:shared]) if shared >= 4 else None
    scores = []
    with Progress("prompt classify (generative)", total=len(encoded), unit="text") as progress:
        for ids in encoded:
            scores.append(score_labels_cached(lm, ids, label_ids, length_norm, prefix))
            progress.update()
    return scores


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Tokens every row starts with, leaving at least one token of each row to run."""
    size = min(len(row) for row in rows) - 1
    first = rows[0]
    for row in rows[1:]:
        size = next((i for i in range(size) if row[i] != first[i]), size)
    return max(size, 0)


# --------------------------------------------------------------------------- embedding

@dataclass
class Encoder:
    model: Any
    tokenizer: Any
    name: str

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        """L2-normalised mean-pooled embeddings, one row per text (a float32 tensor).

        A text longer than the encoder's window is not cut: it is read as overlapping windows
        (stride a quarter of the window) and its embedding is the normalised mean of theirs;
        how many texts that was is logged."""
        import torch

        from lmforge.progress import Progress

        limit = min(int(getattr(self.tokenizer, "model_max_length", 512) or 512), 512)
        pooled_rows: list[Any] = []
        owners: list[int] = []
        with torch.inference_mode(), Progress("embedding", total=len(texts), unit="text") as progress:
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer(list(texts[start:start + batch_size]), padding=True,
                                       truncation=True, max_length=limit, stride=limit // 4,
                                       return_overflowing_tokens=True, return_tensors="pt")
                mapping = batch.pop("overflow_to_sample_mapping").tolist()
                owners += [start + i for i in mapping]
                batch = {k: v.to(self.model.device) for k, v in batch.items()}
                hidden = self.model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).float()
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                pooled_rows.append(torch.nn.functional.normalize(pooled, dim=-1).cpu())
                progress.update(min(batch_size, len(texts) - start))
        if not pooled_rows:
            return torch.zeros(0, 0)
        windows = torch.cat(pooled_rows)
        index = torch.tensor(owners)
        summed = torch.zeros(len(texts), windows.shape[1]).index_add_(0, index, windows)
        counts = torch.bincount(index, minlength=len(texts))
        if len(owners) > len(texts):
            long_texts = int((counts > 1).sum())
            log.info("%d of %d texts were longer than %d tokens: each was read whole as "
                     "overlapping windows (%d in all), its embedding the mean of theirs",
                     long_texts, len(texts), limit, int(counts[counts > 1].sum()))
        return torch.nn.functional.normalize(summed, dim=-1)


def load_encoder(model: str | Encoder = "default") -> Encoder:
    if isinstance(model, Encoder):
        return model
    from transformers import AutoModel, AutoTokenizer

    from lmforge.models.registry import offline_env, resolve_model_dir

    offline_env()
    path = resolve_model_dir(model)
    encoder = AutoModel.from_pretrained(str(path))
    encoder.eval()
    return Encoder(model=encoder, tokenizer=AutoTokenizer.from_pretrained(str(path)), name=str(model))


def label_vectors(encoder: Encoder, labels: Sequence[str], examples: Sequence[tuple[str, str]] = (),
                  label_template: str = "{label}") -> Any:
    """One unit vector per label: its examples' normalised mean, or its description's embedding."""
    import torch

    vectors = encoder.embed([label_template.replace("{label}", label) for label in labels])
    if examples:
        embedded = encoder.embed([text for text, _ in examples])
        for i, label in enumerate(labels):
            rows = [j for j, (_, lab) in enumerate(examples) if lab == label]
            if rows:
                vectors[i] = torch.nn.functional.normalize(embedded[rows].mean(dim=0), dim=-1)
    return vectors


def embedding_scores(encoder: Encoder, texts: Sequence[str], labels: Sequence[str],
                     examples: Sequence[tuple[str, str]] = (), *,
                     label_template: str = "{label}") -> list[list[float]]:
    vectors = label_vectors(encoder, labels, examples, label_template)
    return (encoder.embed(texts) @ vectors.T).tolist()


# --------------------------------------------------------------------------- entry point

def resolve_method(method: str, model: Any) -> str:
    """auto -> generative for an explicit causal-LM directory (or a loaded CausalLM), else embedding."""
    return method_and_reason(method, model)[0]


def method_and_reason(method: str, model: Any) -> tuple[str, str]:
    """The method to use and why (logged, so that `auto` says what it chose)."""
    if method != "auto":
        return method, "as asked (--method)"
    if isinstance(model, CausalLM):
        return "generative", "auto: the model is a causal LM"
    if isinstance(model, Encoder) or str(model).lower() in ("default", "all-minilm-l6-v2"):
        return "embedding", ("auto: the default model is the sentence encoder all-MiniLM-L6-v2 "
                             "(more accurate and ~15x faster than the small default generator, "
                             "src/lmforge/generate/README.md); pass --method generative or a "
                             "causal-LM --model for label likelihoods")
    from pathlib import Path

    from lmforge.generate.models import is_causal_lm_dir
    from lmforge.models.registry import check_model_dir

    if is_causal_lm_dir(check_model_dir(Path(str(model)))):
        return "generative", f"auto: {model} is a causal-LM directory"
    return "embedding", f"auto: {model} is not a causal LM, so it is used as a sentence encoder"


def calibrate_scores(scores: list[list[float]], prior: list[float]) -> list[list[float]]:
    return [[s - c for s, c in zip(row, prior, strict=True)] for row in scores]


def batch_prior(scores: list[list[float]]) -> list[float]:
    """Each label's mean score over the batch (batch calibration's estimate of the prior)."""
    return [sum(column) / len(column) for column in zip(*scores, strict=True)]


BATCH_CALIBRATION_MIN_TEXTS = 8


def classify_zero_shot(texts: Sequence[str], labels: Sequence[str], *, method: str = "auto",
                       model: str | CausalLM | Encoder = "default",
                       examples: Sequence[tuple[str, str]] | None = None, calibrate: str = "auto",
                       content_free: str = "N/A", length_norm: str = "mean",
                       label_template: str = "{label}",
                       instruction: str = DEFAULT_INSTRUCTION,
                       temperature: float | None = None) -> ClassifyResult:
    """Classify ``texts`` into ``labels`` without training (see the module docstring).

    ``examples`` are (text, label) pairs for few-shot use. Returns the predicted label and the
    score of every label for each text (higher is more likely; with ``calibrate`` the scores are
    differences to the estimated prior: ``"content-free"`` or ``"batch"``, see the module
    docstring; ``"auto"``: batch with at least 8 texts, else content-free) and, as
    ``probabilities``, their softmax at ``temperature`` (default ``DEFAULT_TEMPERATURE``).
    """
    import time

    labels = check_labels(labels)
    examples = list(examples or ())
    check_examples(examples, labels, "examples")
    if method not in ("auto", "generative", "embedding"):
        raise ConfigError(f"method: unknown '{method}'; valid: auto, generative, embedding")
    if calibrate not in CALIBRATIONS:
        raise ConfigError(f"calibrate: unknown '{calibrate}'; valid: {', '.join(CALIBRATIONS)}")
    texts = list(texts)
    if calibrate == "auto":
        # the best row of the measured table (generate/README.md) is batch calibration; it
        # needs a batch to estimate the prior from
        calibrate = "batch" if len(texts) >= BATCH_CALIBRATION_MIN_TEXTS else "content-free"
        log.info("prompt classify: --calibrate auto chose %s (%d texts; batch needs at least %d)",
                 calibrate, len(texts), BATCH_CALIBRATION_MIN_TEXTS)
    if calibrate == "batch" and len(texts) < BATCH_CALIBRATION_MIN_TEXTS:
        raise ConfigError(f"calibrate batch estimates each label's prior from the texts classified "
                          f"together: give at least {BATCH_CALIBRATION_MIN_TEXTS} texts (got "
                          f"{len(texts)}), or use --calibrate content-free")
    chosen, reason = method_and_reason(method, model)
    log.info("prompt classify: method %s (%s)", chosen, reason)
    start = time.perf_counter()
    details: dict[str, Any] = {}
    if chosen == "generative":
        from lmforge.generate.models import load_causal_lm

        lm = load_causal_lm(model if not isinstance(model, Encoder) else "default")

        def score(batch: Sequence[str]) -> list[list[float]]:
            return generative_scores(lm, batch, labels, examples, length_norm=length_norm,
                                     instruction=instruction)
    else:
        if isinstance(model, CausalLM):
            raise ConfigError("method embedding needs an encoder model, not a loaded causal LM")
        encoder = load_encoder(model)

        def score(batch: Sequence[str]) -> list[list[float]]:
            return embedding_scores(encoder, batch, labels, examples, label_template=label_template)
    scores = score(texts) if texts else []
    if calibrate != "none":
        prior = score([content_free])[0] if calibrate == "content-free" else batch_prior(scores)
        details["prior_scores"] = dict(zip(labels, prior, strict=True))
        scores = calibrate_scores(scores, prior)
    details["seconds"] = time.perf_counter() - start
    predictions = [labels[max(range(len(labels)), key=row.__getitem__)] for row in scores]
    name = getattr(model, "name", str(model))
    details["calibration"] = calibrate
    return ClassifyResult(labels=labels, predictions=predictions, scores=scores, method=chosen,
                          model=name, details=details,
                          temperature=temperature or DEFAULT_TEMPERATURE[chosen])
