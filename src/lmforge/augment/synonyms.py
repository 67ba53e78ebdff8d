"""Synonyms without a thesaurus download: a file, or the model's own input embeddings.

Embedding neighbours: each training word that is one whole-word entry of the
model's vocabulary gets the vocabulary entries whose input-embedding rows are
nearest by cosine. Sub-word pieces (``##ing``), special tokens, stop words,
non-alphabetic entries and one-letter Latin entries are never offered. These
neighbours are co-occurrence neighbours, not thesaurus synonyms (antonyms such
as good/bad sit close too); ``MIN_COSINE`` keeps only close ones and
``--synonyms FILE`` gives full control.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from lmforge.augment.words import STOP_WORDS
from lmforge.errors import ConfigError, DataError, ModelError

log = logging.getLogger(__name__)

NEIGHBOURS = 5  # synonyms kept per word
MIN_COSINE = 0.4  # below this an embedding neighbour is too far to pass as a synonym

Synonyms = dict[str, list[str]]


def read_synonym_file(path: str | Path) -> Synonyms:
    """``word syn1 syn2 ...`` per line; blank lines and ``#`` comments are skipped."""
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ConfigError(f"synonyms: file '{file}' does not exist. Pass a text file with one "
                          "line per word: `word synonym1 synonym2 ...`.") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{file}: not UTF-8 text ({exc}). Save the synonym file as UTF-8.") from exc
    table: Synonyms = {}
    for number, line in enumerate(lines, start=1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 2:
            raise DataError(f"{file}, line {number}: '{line.strip()}' has a word but no synonym; "
                            "write `word synonym1 synonym2 ...` or remove the line.")
        table.setdefault(parts[0].lower(), []).extend(p for p in parts[1:] if p != parts[0])
    if not table:
        raise DataError(f"{file}: no synonyms found; write one line per word: "
                        "`word synonym1 synonym2 ...`.")
    return table


def _whole_word(token: str) -> bool:
    if token.startswith("##") or token.startswith("[") or not token.isalpha():
        return False
    return not (token.isascii() and len(token) < 2) and token not in STOP_WORDS


def embedding_synonyms(model_dir: Path, words: Iterable[str], k: int = NEIGHBOURS,
                       min_cosine: float = MIN_COSINE) -> Synonyms:
    """Nearest whole-word vocabulary entries (cosine of input embeddings) of each of ``words``."""
    import torch

    from lmforge.models.build import load_tokenizer
    from lmforge.models.registry import offline_env

    offline_env()
    from transformers import AutoModel

    tokenizer = load_tokenizer(model_dir)
    try:
        encoder = AutoModel.from_pretrained(str(model_dir))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load '{model_dir}' to find synonyms in its embeddings: {exc}. "
                         "Pass --synonyms FILE instead.") from exc
    matrix = encoder.get_input_embeddings().weight.detach().float()
    vocab = tokenizer.get_vocab()
    special = set(tokenizer.all_special_tokens)
    candidates = sorted((i, t) for t, i in vocab.items() if t not in special and _whole_word(t))
    if not candidates:
        return {}
    cand_ids = torch.tensor([i for i, _ in candidates])
    cand_tokens = [t for _, t in candidates]
    wanted = sorted({w.lower() for w in words} & {t for t in cand_tokens})
    if not wanted:
        return {}
    normed = torch.nn.functional.normalize(matrix[cand_ids], dim=1)
    position = {t: j for j, t in enumerate(cand_tokens)}
    table: Synonyms = {}
    for start in range(0, len(wanted), 512):  # (512 x V) similarities at a time
        chunk = wanted[start:start + 512]
        rows = torch.tensor([position[w] for w in chunk])
        sims = normed[rows] @ normed.T
        sims[torch.arange(len(chunk)), rows] = -1.0  # a word is not its own synonym
        values, idx = sims.topk(k, dim=1)
        for word, vals, js in zip(chunk, values.tolist(), idx.tolist(), strict=True):
            found = [cand_tokens[j] for v, j in zip(vals, js, strict=True) if v >= min_cosine]
            if found:
                table[word] = found
    log.info("synonyms from %s's input embeddings: %d of %d training words have one "
             "(cosine >= %.2f)", model_dir.name, len(table), len(wanted), min_cosine)
    return table
