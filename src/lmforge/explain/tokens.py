"""Why a token run tagged what it tagged: occlusion over the other words of the sentence.

A token run (``--task tokens``) gives every word its own prediction, so "why" is asked of
one prediction at a time: each entity the model found (BIO tag sets), or one word the user
picks (``word``; required for plain tag sets such as part-of-speech, where every word is a
prediction and all of them at once is too much to read).

For the explained words ``[start, end)`` and their predicted tags, the score of another
word is the drop in the model's probability of those tags (averaged over the explained
words) when that word is replaced by the tokenizer's mask token (its unknown token when it
has none): > 0, the word supported the prediction; < 0, it held it back. Replacing rather
than removing keeps every other word in place, so the explained words keep their
positions and the model still sees that *a* word stood there. The text is split into
words the way the run splits raw text (``data.conll.split_text``: words and punctuation,
or characters for character-level Chinese), the same split ``predict`` uses, and the
sentence and its masked copies are tagged in one batch by the run's own tagger (PyTorch or
ONNX, long sentences in windows as always).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from lmforge.data.conll import BIO, entities_of, split_text
from lmforge.errors import ConfigError, DataError, ModelError

log = logging.getLogger(__name__)

METHOD = "occlusion"
SHOWN_WORDS = 20  # words listed in a --word error


@dataclass
class TokenExplanation:
    """Per-word attributions of one prediction of a token run: an entity, or one word."""

    index: int
    """Position of the text in the input list."""
    text: str
    words: list[str]
    spans: list[tuple[int, int]]
    """[start, end) character span of each word in ``text``."""
    tags: list[str]
    """The predicted tag of each word."""
    start: int
    end: int
    """The explained words: ``words[start:end]`` (an entity, or the one word picked)."""
    target: str
    """The entity type (``LOC``) or, for one word, its predicted tag (``NOUN``)."""
    target_tags: list[str]
    """The predicted tags whose probability the scores explain (``B-LOC``, ``I-LOC``)."""
    probability: float
    """The model's probability of ``target_tags``, averaged over the explained words."""
    scores: list[float | None]
    """For each other word, the drop in ``probability`` when it is masked (> 0: it supported
    the prediction); None for the explained words themselves."""
    entity: bool
    """True: an entity found by the model; False: a word picked with ``word``."""
    mask_token: str
    scheme: str = BIO
    """The run's tags: "bio" (entities) or "tags" (plain, e.g. part-of-speech)."""
    method: str = METHOD
    task: str = "tokens"

    @property
    def phrase(self) -> str:
        """The explained words as written in the text."""
        return self.text[self.spans[self.start][0]:self.spans[self.end - 1][1]]

    def context(self) -> list[tuple[int, float]]:
        """(word number, score) of the other words, largest score first."""
        scored = [(i, s) for i, s in enumerate(self.scores) if s is not None]
        return sorted(scored, key=lambda x: -x[1])

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["spans"] = [list(s) for s in self.spans]
        out["phrase"] = self.phrase
        return out


def explain_tokens(tagger: Any, texts: Sequence[str], word: int | None = None,
                   method: str = "auto", target: str | Sequence[str] | None = None,
                   why_not: str | None = None) -> list[TokenExplanation]:
    """Explain a token run's predictions on ``texts`` (raw strings): each predicted entity
    (BIO tag sets), or the word numbered ``word`` (from 0) of every text. Texts where the
    model found no entity get no explanation (pass ``word`` to explain one word's tag)."""
    _check_settings(tagger, method, target, why_not, word)
    if isinstance(texts, str):
        raise DataError("pass a list of texts, not a single string: explain(run, ['some text'])")
    split = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"text #{i + 1} is not a string; a token run explains raw texts")
        words, spans = split_text(text, tagger.unit)
        if not words:
            raise DataError(f"text #{i + 1} is empty: there is nothing to explain. Give a text with "
                            "at least one word.")
        split.append((text, words, spans))
    if not split:
        raise DataError("no texts to explain: pass at least one text")
    _check_word(tagger, split, word)
    mask = mask_token(tagger.tokenizer)

    sentences: list[list[str]] = []  # per text: the words, then one copy per word masked
    for _, words, _ in split:
        sentences.append(words)
        sentences += [[*words[:j], mask, *words[j + 1:]] for j in range(len(words))]
    probs = [_softmax(x) for x in tagger.token_logits(sentences)]

    out: list[TokenExplanation] = []
    at = 0
    for i, (text, words, spans) in enumerate(split):
        reference, masked = probs[at], probs[at + 1:at + 1 + len(words)]
        at += 1 + len(words)
        predicted = [int(j) for j in reference.argmax(axis=1)]
        tags = [tagger.labels[j] for j in predicted]
        if word is not None:
            units = [(tags[word], word, word + 1, False)]
        else:
            units = [(kind, a, b, True) for kind, a, b in entities_of(tags)]
            if not units:
                log.info("text #%d: the model found no entity (every word tagged O); pass "
                         "--word N to explain one word's tag", i + 1)
        for name, a, b, is_entity in units:
            base = _mean_probability(reference, predicted, a, b)
            scores: list[float | None] = [
                None if a <= j < b else base - _mean_probability(masked[j], predicted, a, b)
                for j in range(len(words))]
            out.append(TokenExplanation(
                index=i, text=text, words=list(words), spans=[tuple(s) for s in spans],
                tags=tags, start=a, end=b, target=name, target_tags=tags[a:b],
                probability=base, scores=scores, entity=is_entity, mask_token=mask,
                scheme=tagger.scheme))
    return out


def _mean_probability(probs: Any, predicted: Sequence[int], start: int, end: int) -> float:
    """The probability of each word's predicted tag, averaged over words [start, end)."""
    return float(sum(probs[k, predicted[k]] for k in range(start, end)) / (end - start))


def mask_token(tokenizer: Any) -> str:
    """What an occluded word becomes: the mask token the encoder was pre-trained to read as
    "a word is missing here", else its unknown token."""
    token = getattr(tokenizer, "mask_token", None) or getattr(tokenizer, "unk_token", None)
    if not token:
        raise ModelError("this run's tokenizer has neither a mask nor an unknown token, so a "
                         "word cannot be occluded; explanations need one of them")
    return str(token)


def _softmax(logits: Any) -> Any:
    import numpy as np

    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _check_settings(tagger: Any, method: str, target: Any, why_not: Any,
                    word: int | None) -> None:
    problems = []
    if method not in ("auto", METHOD):
        problems.append(f"method: a token run is explained by occlusion (each other word "
                        f"masked, the drop in the probability of the predicted tags); --method "
                        f"{method} is for text classifiers. Leave --method out")
    if target is not None and (not isinstance(target, str) or target.strip()):
        problems.append("target: a token run explains the entities it found (or --word N); "
                        "leave --target out")
    if why_not is not None and why_not.strip():
        problems.append("why_not: only for single-label text classifiers; leave --why-not out")
    if word is not None and (isinstance(word, bool) or not isinstance(word, int) or word < 0):
        problems.append(f"word: a word number from 0, got {word!r}")
    if problems:
        raise ConfigError("invalid explain settings for a token run: " + "; ".join(problems))


def _numbered(words: Sequence[str]) -> str:
    shown = ", ".join(f"{i} {w!r}" for i, w in enumerate(words[:SHOWN_WORDS]))
    return shown + (f", ... ({len(words)} words)" if len(words) > SHOWN_WORDS else "")


def _check_word(tagger: Any, split: Sequence[tuple[str, list[str], Any]],
                word: int | None) -> None:
    if word is None:
        if tagger.scheme != BIO:
            tags = ", ".join(tagger.labels[:8]) + (", ..." if len(tagger.labels) > 8 else "")
            raise ConfigError(
                f"this run tags every word with plain tags ({tags}), not entities, so there is "
                "no entity to explain and every word at once is too much to read: pick the "
                f"word with --word N (counted from 0). The words of text #1: "
                f"{_numbered(split[0][1])}")
        return
    for i, (_, words, _) in enumerate(split):
        if word >= len(words):
            raise ConfigError(f"word: text #{i + 1} has {len(words)} words, numbered 0 to "
                              f"{len(words) - 1}; --word {word} is past its end. Its words: "
                              f"{_numbered(words)}")
