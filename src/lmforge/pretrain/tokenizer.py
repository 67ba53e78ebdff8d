"""Train a WordPiece, BPE or Unigram tokenizer on a corpus; measure its coverage.

Built on the ``tokenizers`` library and saved as a ``transformers`` fast
tokenizer, so ``AutoTokenizer.from_pretrained(DIR)`` loads it.

- wordpiece: BERT's recipe. ``BertNormalizer(handle_chinese_chars=True)`` puts
  spaces around every CJK ideograph, so Chinese is split one character per
  word (as BERT's BasicTokenizer does; Chinese has no spaces to split on, and
  per-character units are what Chinese BERTs use). Special tokens [PAD] [UNK]
  [CLS] [SEP] [MASK]; a text is framed ``[CLS] text [SEP]``.
- bpe: byte-level BPE (GPT-2/RoBERTa). Every byte is in the alphabet, so no
  text is ever unknown.
- unigram: SentencePiece's unigram model with NFKC normalization and the
  Metaspace pre-tokenizer.

bpe and unigram use <s> </s> <pad> <unk> <mask>. A tokenizer made for a causal
LM (``objective="clm"``) frames a text as ``<s> text`` (Llama's convention:
generation continues the prompt); for a masked LM as ``<s> text </s>``.
"""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from lmforge.errors import ConfigError, DataError, ModelError

log = logging.getLogger(__name__)

Kind = Literal["wordpiece", "bpe", "unigram"]
KINDS: tuple[str, ...] = ("wordpiece", "bpe", "unigram")
BERT_SPECIALS = {"pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]",
                 "sep_token": "[SEP]", "mask_token": "[MASK]"}
SPM_SPECIALS = {"pad_token": "<pad>", "unk_token": "<unk>", "bos_token": "<s>",
                "eos_token": "</s>", "mask_token": "<mask>"}
BYTE_ALPHABET = 256


@dataclass
class Coverage:
    """How much of a text a tokenizer can represent."""

    file: str
    tokens: int
    unknown: int
    lines: int
    lines_with_unknown: int
    top_unknown: list[tuple[str, int]] = field(default_factory=list)

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.tokens if self.tokens else 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["unknown_share"] = self.unknown_share
        out["top_unknown"] = [{"text": t, "count": c} for t, c in self.top_unknown]
        return out

    def summary(self) -> str:
        text = (f"coverage on {self.file}: {1 - self.unknown_share:.2%} of {self.tokens:,} tokens "
                f"known; unknown {self.unknown_share:.2%} ({self.unknown:,} tokens, in "
                f"{self.lines_with_unknown:,} of {self.lines:,} lines)")
        if self.top_unknown:
            text += "; most frequent unknown: " + ", ".join(
                f"{t!r} x{c}" for t, c in self.top_unknown[:10])
        return text


def special_tokens(kind: str) -> dict[str, str]:
    return dict(BERT_SPECIALS if kind == "wordpiece" else SPM_SPECIALS)


def build_tokenizer(kind: str, lowercase: bool) -> Any:
    """An untrained ``tokenizers.Tokenizer`` with the kind's normalizer and pre-tokenizer."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers

    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token=BERT_SPECIALS["unk_token"]))
        # strip_accents follows lowercase, as in BERT's uncased/cased models
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=lowercase, lowercase=lowercase)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece(prefix="##")
    elif kind == "bpe":
        tok = Tokenizer(models.BPE())
        tok.normalizer = normalizers.Sequence(
            [normalizers.NFC()] + ([normalizers.Lowercase()] if lowercase else []))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
    elif kind == "unigram":
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.Sequence(
            [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else []))
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
    else:
        raise ConfigError(f"kind: unknown tokenizer kind '{kind}'; choose one of {', '.join(KINDS)}")
    return tok


def _trainer(kind: str, vocab_size: int, min_frequency: int, limit_alphabet: int | None) -> Any:
    from tokenizers import pre_tokenizers, trainers

    specials = list(special_tokens(kind).values())
    if kind == "wordpiece":
        limit = {"limit_alphabet": limit_alphabet} if limit_alphabet else {}
        return trainers.WordPieceTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
            continuing_subword_prefix="##", show_progress=False, **limit)
    if kind == "bpe":
        return trainers.BpeTrainer(
            vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    return trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=specials, unk_token=SPM_SPECIALS["unk_token"],
        show_progress=False)


def _post_processor(kind: str, objective: str, vocab: dict[str, int]) -> Any:
    from tokenizers import processors

    if kind == "wordpiece":
        first, last = BERT_SPECIALS["cls_token"], BERT_SPECIALS["sep_token"]
    else:
        first, last = SPM_SPECIALS["bos_token"], SPM_SPECIALS["eos_token"]
    ids = [(first, vocab[first]), (last, vocab[last])]
    if objective == "clm" and kind != "wordpiece":
        return processors.TemplateProcessing(
            single=f"{first} $A", pair=f"{first} $A $B:1", special_tokens=ids[:1])
    return processors.TemplateProcessing(
        single=f"{first} $A {last}", pair=f"{first} $A {last} $B:1 {last}:1", special_tokens=ids)


def train_tokenizer(
    texts: Iterable[str],
    kind: str = "wordpiece",
    vocab_size: int = 8000,
    *,
    lowercase: bool | None = None,
    min_frequency: int = 2,
    limit_alphabet: int | None = None,
    objective: str = "mlm",
    model_max_length: int = 512,
) -> Any:
    """Train on ``texts`` and wrap as a transformers fast tokenizer (not saved).

    ``lowercase`` defaults to True for wordpiece (BERT uncased) and False for the
    others. Raises ConfigError when ``vocab_size`` cannot hold the corpus's
    alphabet (every distinct character must be a token, or a byte for bpe).
    """
    from transformers import PreTrainedTokenizerFast

    if kind not in KINDS:
        raise ConfigError(f"kind: unknown tokenizer kind '{kind}'; choose one of {', '.join(KINDS)}")
    lowercase = (kind == "wordpiece") if lowercase is None else lowercase
    specials = special_tokens(kind)
    floor = len(specials) + (BYTE_ALPHABET if kind == "bpe" else 0)
    if vocab_size <= floor:
        what = f"{BYTE_ALPHABET} bytes + " if kind == "bpe" else ""
        raise ConfigError(f"vocab_size: {vocab_size} is too small for a {kind} tokenizer: it needs "
                          f"more than {what}{len(specials)} special tokens = {floor}. Raise "
                          "--vocab-size (a few thousand is usual; 8000 suits Chinese).")
    tok = build_tokenizer(kind, lowercase)
    trainer = _trainer(kind, vocab_size, min_frequency, limit_alphabet)
    texts = list(texts)
    if not any(t.strip() for t in texts):
        raise DataError("cannot train a tokenizer on an empty corpus: no non-blank line. Pass UTF-8 "
                        "text files with one paragraph per line to --corpus.")
    try:
        tok.train_from_iterator(texts, trainer, length=len(texts))
    except Exception as exc:  # tokenizers raises plain Exception subclasses
        if "not large enough to contain all chars" in str(exc):
            raise _alphabet_error(kind, vocab_size, texts, lowercase) from None
        raise
    if tok.get_vocab_size() > vocab_size:
        # WordPiece keeps the whole alphabet whatever the vocab size asked for
        raise _alphabet_error(kind, vocab_size, texts, lowercase)
    tok.post_processor = _post_processor(kind, objective, tok.get_vocab())
    extra = {}
    if kind == "wordpiece":
        extra["bos_token"], extra["eos_token"] = specials["cls_token"], specials["sep_token"]
    else:
        extra["cls_token"], extra["sep_token"] = specials["bos_token"], specials["eos_token"]
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tok, model_max_length=model_max_length, **specials, **extra,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"]
        if kind == "wordpiece" else ["input_ids", "attention_mask"],
    )
    log.info("trained a %s tokenizer: %d tokens (asked for %d) on %d lines", kind,
             tok.get_vocab_size(), vocab_size, len(texts))
    return wrapped


def _alphabet_error(kind: str, vocab_size: int, texts: Sequence[str], lowercase: bool) -> ConfigError:
    normalizer = build_tokenizer(kind, lowercase).normalizer
    alphabet = {c for t in texts for c in normalizer.normalize_str(t) if not c.isspace()}
    need = len(alphabet) + len(special_tokens(kind))
    hint = (" or pass --limit-alphabet N to keep only the N most frequent characters (the rest "
            "become [UNK])" if kind == "wordpiece" else "")
    return ConfigError(
        f"vocab_size: {vocab_size} is smaller than the corpus's alphabet: {len(alphabet):,} distinct "
        f"characters + {len(special_tokens(kind))} special tokens = {need:,}. Raise --vocab-size to "
        f"at least {need:,} (more leaves room for multi-character tokens){hint}.")


def save_tokenizer(tokenizer: Any, out: str | os.PathLike[str]) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(out))
    return out


def load_tokenizer_dir(path: str | os.PathLike[str]) -> Any:
    """AutoTokenizer from a directory, with an error that says what to pass."""
    from lmforge.models.registry import offline_env

    offline_env()
    from transformers import AutoTokenizer

    path = Path(path)
    if not path.is_dir():
        raise ModelError(f"tokenizer directory '{path}' does not exist. Pass the --out directory of "
                         "`lmforge tokenizer train` or a model directory.")
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load a tokenizer from '{path}': {exc}. The directory needs "
                         "tokenizer.json (or vocab files) and tokenizer_config.json.") from exc


def coverage(tokenizer: Any, texts: Sequence[str], name: str = "text", top: int = 20) -> Coverage:
    """Share of unknown tokens when ``tokenizer`` encodes ``texts`` (special tokens excluded).

    The unknown pieces are read back through the offsets, so the report shows
    which characters or words the vocabulary lacks.
    """
    unk = tokenizer.unk_token_id
    counts: collections.Counter[str] = collections.Counter()
    total = unknown = with_unknown = 0
    texts = [t for t in texts if t.strip()]
    for start in range(0, len(texts), 1000):
        chunk = texts[start : start + 1000]
        enc = tokenizer(chunk, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        for text, ids, offsets in zip(chunk, enc["input_ids"], enc["offset_mapping"], strict=True):
            total += len(ids)
            hits = [span for tid, span in zip(ids, offsets, strict=True) if tid == unk]
            if hits:
                with_unknown += 1
                unknown += len(hits)
                counts.update(text[a:b] for a, b in hits)
    return Coverage(name, total, unknown, len(texts), with_unknown, counts.most_common(top))
