"""Token-classification data: CoNLL-style files and JSONL, read, checked and repaired.

Formats (told apart by the first non-blank line; a file mixing them is an error):

- CoNLL: one ``token<TAB>tag`` per line, a blank line between sentences. Space-separated
  columns are read too (CoNLL-2003's ``token POS chunk tag``: the first and the last column);
  ``-DOCSTART-`` lines are skipped.
- JSONL: one sentence per line, ``{"tokens": [...], "tags": [...]}``, or character-level
  ``{"text": "...", "tags": [...]}`` (one tag per character).

Tags are either BIO/IOB2 (``O``, ``B-TYPE``, ``I-TYPE``) or plain tags without prefixes
(part-of-speech). BIO tags are repaired like text cleaning: an ``I-X`` that starts an
entity (after ``O``, or after another type) becomes ``B-X``, and the count is reported.
Other schemes (BIOES, BILOU) are refused with the line of the first such tag.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lmforge.errors import DataError

BIO, PLAIN = "bio", "tags"  # the two tag schemes
WORD, CHAR = "word", "char"  # what a token is: a word, or one character (Chinese)
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
CONLL_SUFFIXES = (".conll", ".conllu", ".bio", ".iob", ".iob2")
BIO_TAG = re.compile(r"^[BI]-\S+$")
OTHER_SCHEME = re.compile(r"^[ESLU]-\S+$")  # BIOES / BILOU prefixes
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
WORD_PATTERN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    line: int  # 1-based line of the file where the sentence starts
    token_lines: list[int] | None = None  # CoNLL: the line of each token

    def line_of(self, i: int) -> int:
        """The file line holding token ``i`` (JSONL: the sentence's line)."""
        return self.token_lines[i] if self.token_lines else self.line


@dataclass
class TokenData:
    """A file's sentences and what was found reading them."""

    sentences: list[Sentence]
    path: str
    format: str  # "conll" or "jsonl"
    scheme: str  # BIO or PLAIN
    unit: str  # WORD or CHAR
    repaired: int = 0  # BIO tags changed from I- to B-
    repairs: list[str] = field(default_factory=list)  # a few examples, "line N: I-PER -> B-PER"
    repair_kinds: dict[str, int] = field(default_factory=dict)  # NO_BEGIN / TYPE_SWITCH counts

    def as_dict(self) -> dict[str, object]:
        return {"source": self.path, "format": self.format, "scheme": self.scheme,
                "unit": self.unit, "sentences": len(self.sentences),
                "tokens": sum(len(s.tokens) for s in self.sentences),
                "bio_repaired": self.repaired, "bio_repair_kinds": self.repair_kinds,
                "bio_repair_examples": self.repairs[:5]}


def read_token_file(path: str | os.PathLike[str], scheme: str | None = None,
                    tags_required: bool = True, repair: bool = True,
                    keep_empty: bool = False) -> TokenData:
    """Read, check and (BIO) repair a token-classification file. ``scheme`` given (a trained
    run's): the file must use it. ``tags_required=False`` reads CoNLL lines of tokens alone
    and JSONL without ``tags`` (prediction input); their tags are empty. ``repair=False``
    keeps the tags as written (``bio_errors`` lists what the repair would change);
    ``keep_empty=True`` keeps JSONL sentences with no tokens instead of refusing them
    (``lmforge inspect`` lists them all)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise DataError(f"data file '{source}' does not exist") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{source}: not UTF-8 (byte {exc.start}); save the file as UTF-8") from exc
    lines = text.splitlines()
    fmt = _detect_format(source, lines)
    if fmt == "jsonl":
        sentences = list(_read_jsonl(source, lines, tags_required, keep_empty))
    else:
        sentences = list(_read_conll(source, lines, tags_required))
    if not any(s.tokens for s in sentences):
        raise DataError(f"{source}: no sentences found. Expected CoNLL lines 'token<TAB>tag' "
                        "with a blank line between sentences, or JSONL "
                        '{"tokens": [...], "tags": [...]}')
    data = TokenData(sentences=sentences, path=str(source), format=fmt,
                     scheme=scheme or BIO, unit=detect_unit(sentences))
    if any(s.tags for s in sentences):
        found = detect_scheme(sentences, str(source))
        if scheme is not None and found != scheme and not _all_o(sentences):
            raise DataError(f"{source}: its tags are {_scheme_name(found)} but the run was trained "
                            f"on {_scheme_name(scheme)} tags; pass data tagged like the training "
                            "data")
        data.scheme = scheme or found
        if data.scheme == BIO and repair:
            data.repair_kinds = repair_kinds(bio_errors(sentences))
            data.repaired, data.repairs = repair_bio(sentences)
    return data


def token_file_reason(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` looks like token-classification data (None: it does not): a CoNLL suffix,
    or a JSONL file whose first line is an object with a "tokens" list, or a "text" string
    and a "tags" list. Reads the first non-blank line only."""
    source = Path(path)
    if source.suffix.lower() in CONLL_SUFFIXES:
        return f"a {source.suffix.lower()} file (CoNLL: token<TAB>tag lines)"
    if source.suffix.lower() not in JSONL_SUFFIXES:
        return None
    try:
        with source.open(encoding="utf-8-sig") as stream:
            first = next((line for line in stream if line.strip()), "")
        row = json.loads(first)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(row, dict) and (isinstance(row.get("tokens"), list) or (
            isinstance(row.get("text"), str) and isinstance(row.get("tags"), list))):
        return "JSONL lines with \"tokens\"" + (" and \"tags\"" if "tags" in row else "")
    return None


def _all_o(sentences: Sequence[Sentence]) -> bool:
    return all(tag == "O" for s in sentences for tag in s.tags)


def _scheme_name(scheme: str) -> str:
    return "BIO/IOB2" if scheme == BIO else "plain (no B-/I- prefixes)"


def _detect_format(source: Path, lines: Sequence[str]) -> str:
    first = next((line for line in lines if line.strip()), "")
    if source.suffix.lower() in JSONL_SUFFIXES or first.lstrip().startswith("{"):
        return "jsonl"
    return "conll"


def _read_conll(source: Path, lines: Sequence[str], tags_required: bool) -> Iterable[Sentence]:
    tokens: list[str] = []
    tags: list[str] = []
    numbers: list[int] = []
    start = 0
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if tokens:
                yield Sentence(tokens, tags, start, numbers)
            tokens, tags, numbers = [], [], []
            continue
        if line.lstrip().startswith("{") and _is_json_object(line):
            raise DataError(f"{source}, line {number}: a JSON line in a CoNLL file (mixed "
                            "formats). Use one format per file: CoNLL 'token<TAB>tag' lines, or "
                            "JSONL with one sentence per line")
        columns = line.split("\t") if "\t" in line else line.split()
        if columns[0].startswith("-DOCSTART-"):
            continue
        if not tokens:
            start = number
        if len(columns) < 2:
            if tags_required:
                raise DataError(f"{source}, line {number}: expected 'token<TAB>tag', got "
                                f"{line[:60]!r} (one column). Every token needs its tag; a blank "
                                "line separates sentences")
            columns = [columns[0]]
        token = columns[0].strip()
        if not token:
            raise DataError(f"{source}, line {number}: empty token before tag "
                            f"{columns[-1].strip()!r}; remove the line or put the token back")
        tokens.append(token)
        numbers.append(number)
        if len(columns) >= 2:
            tag = columns[-1].strip()
            if not tag:
                raise DataError(f"{source}, line {number}: token {token!r} has an empty tag")
            tags.append(tag)
        if tags and len(tags) != len(tokens):
            raise DataError(f"{source}, line {number}: token {token!r} has no tag while the "
                            f"sentence's earlier tokens (from line {start}) have tags; tag every "
                            "token or none")
    if tokens:
        yield Sentence(tokens, tags, start, numbers)


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except json.JSONDecodeError:
        return False


def _read_jsonl(source: Path, lines: Sequence[str], tags_required: bool,
                keep_empty: bool = False) -> Iterable[Sentence]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as exc:
            mixed = " (mixed formats: a CoNLL line in a JSONL file?)" if "\t" in raw or (
                len(raw.split()) == 2) else ""
            raise DataError(f"{source}, line {number}: not valid JSON ({exc.msg}){mixed}. Use one "
                            'format per file: JSONL {"tokens": [...], "tags": [...]} per line, '
                            "or CoNLL") from exc
        if not isinstance(row, dict):
            raise DataError(f"{source}, line {number}: expected a JSON object with \"tokens\" "
                            f"and \"tags\", got {type(row).__name__}")
        if "tokens" in row:
            tokens = row["tokens"]
            if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                raise DataError(f"{source}, line {number}: \"tokens\" must be a list of strings")
        elif isinstance(row.get("text"), str):
            tokens = [c for c in row["text"] if not c.isspace()]  # character level
        else:
            raise DataError(f"{source}, line {number}: no \"tokens\" (list of strings) or "
                            f"\"text\" (character level); keys found: {', '.join(row) or 'none'}")
        if not tokens:
            if keep_empty and not row.get("tags"):
                yield Sentence([], [], number)
                continue
            raise DataError(f"{source}, line {number}: a sentence with no tokens; remove the line")
        empty = [i for i, t in enumerate(tokens) if not t.strip()]
        if empty:
            raise DataError(f"{source}, line {number}: token #{empty[0]} is empty or blank")
        tags = row.get("tags")
        if tags is None:
            if tags_required:
                raise DataError(f"{source}, line {number}: no \"tags\"; every sentence needs one "
                                "tag per token")
            tags = []
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise DataError(f"{source}, line {number}: \"tags\" must be a list of non-empty "
                            "strings")
        if tags and len(tags) != len(tokens):
            raise DataError(f"{source}, line {number}: {len(tokens)} tokens but {len(tags)} tags; "
                            "give exactly one tag per token")
        yield Sentence([str(t) for t in tokens], [t.strip() for t in tags], number)


def detect_scheme(sentences: Sequence[Sentence], source: str) -> str:
    """BIO when every tag is ``O``, ``B-X`` or ``I-X``; PLAIN when none has a prefix; anything
    else (BIOES/BILOU, or prefixed and plain tags mixed) is an error naming a line."""
    first_bio: tuple[int, str] | None = None
    first_plain: tuple[int, str] | None = None
    for sentence in sentences:
        for i, tag in enumerate(sentence.tags):
            if OTHER_SCHEME.match(tag):
                raise DataError(f"{source}, line {sentence.line_of(i)}: unknown tag scheme: "
                                f"{tag!r} is not BIO/IOB2 (BIOES/BILOU prefixes E-, S-, L-, U- "
                                "are not read). Convert the tags to B-/I-/O, or use plain tags "
                                "without prefixes")
            if BIO_TAG.match(tag):
                first_bio = first_bio or (sentence.line_of(i), tag)
            elif tag != "O":
                first_plain = first_plain or (sentence.line_of(i), tag)
    if first_bio and first_plain:
        raise DataError(f"{source}, line {first_plain[0]}: unknown tag scheme: {first_plain[1]!r} "
                        f"has no B-/I- prefix while other tags are BIO (e.g. {first_bio[1]!r}, "
                        f"line {first_bio[0]}). Use BIO/IOB2 (O, B-TYPE, I-TYPE) throughout, or "
                        "plain tags throughout")
    return PLAIN if first_plain else BIO


NO_BEGIN, TYPE_SWITCH = "I- without B-", "type switch"  # the two kinds of BIO error


@dataclass(frozen=True)
class BioError:
    """An ``I-X`` tag that does not continue an ``X`` entity: after ``O`` or at the start of
    the sentence (NO_BEGIN), or right after a tag of another type (TYPE_SWITCH)."""

    sentence: int  # index into the sentences
    token: int
    tag: str
    previous: str  # the tag before it ("" at the start of the sentence)
    kind: str


def bio_errors(sentences: Sequence[Sentence]) -> list[BioError]:
    """Every ``I-X`` that starts an entity, in file order: what ``repair_bio`` changes to
    ``B-X`` (the repair keeps each tag's type, so the tags before it read the same)."""
    out = []
    for s, sentence in enumerate(sentences):
        previous = ""
        for i, tag in enumerate(sentence.tags):
            if tag.startswith("I-") and previous[2:] != tag[2:]:
                kind = NO_BEGIN if previous in ("", "O") else TYPE_SWITCH
                out.append(BioError(s, i, tag, previous, kind))
            previous = tag
    return out


def repair_kinds(errors: Sequence[BioError]) -> dict[str, int]:
    """How many errors of each kind, both kinds always present."""
    return {kind: sum(e.kind == kind for e in errors) for kind in (NO_BEGIN, TYPE_SWITCH)}


def repair_bio(sentences: Sequence[Sentence]) -> tuple[int, list[str]]:
    """IOB1 -> IOB2 in place: an ``I-X`` not continuing an ``X`` entity becomes ``B-X``.
    Returns the count and a few examples."""
    errors = bio_errors(sentences)
    examples = []
    for error in errors:
        sentence = sentences[error.sentence]
        sentence.tags[error.token] = "B-" + error.tag[2:]
        if len(examples) < 5:
            examples.append(f"line {sentence.line_of(error.token)} "
                            f"({sentence.tokens[error.token]!r}): {error.tag} -> B-{error.tag[2:]}")
    return len(errors), examples


def detect_unit(sentences: Sequence[Sentence]) -> str:
    """CHAR when nearly every token is one CJK character (character-level Chinese), else WORD."""
    tokens = [t for s in sentences[:2000] for t in s.tokens]
    if not tokens:
        return WORD
    single_cjk = sum(1 for t in tokens if len(t) == 1 and CJK.match(t))
    return CHAR if single_cjk >= 0.8 * len(tokens) else WORD


def split_text(text: str, unit: str) -> tuple[list[str], list[tuple[int, int]]]:
    """A raw text's tokens and their [start, end) character spans: each non-space character
    (CHAR), or words and punctuation marks (WORD)."""
    if unit == CHAR:
        spans = [(i, i + 1) for i, c in enumerate(text) if not c.isspace()]
    else:
        spans = [m.span() for m in WORD_PATTERN.finditer(text)]
    return [text[a:b] for a, b in spans], spans


def join_tokens(tokens: Sequence[str], unit: str) -> tuple[str, list[tuple[int, int]]]:
    """Tokens given without their text: the text they make (joined by spaces, or directly
    for CHAR) and each token's span in it."""
    sep = "" if unit == CHAR else " "
    spans, pos = [], 0
    for token in tokens:
        spans.append((pos, pos + len(token)))
        pos += len(token) + len(sep)
    return sep.join(tokens), spans


def entities_of(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """(type, first token, end token) of each entity in a BIO tag sequence, read like
    conlleval (an ``I-X`` that starts an entity starts it)."""
    out: list[tuple[str, int, int]] = []
    kind, start = None, 0
    for i, tag in enumerate([*tags, "O"]):
        inside = tag.startswith("I-") and kind == tag[2:]
        if kind is not None and not inside:
            out.append((kind, start, i))
            kind = None
        if tag.startswith(("B-", "I-")) and not inside:
            kind, start = tag[2:], i
    return out


def split_sentences(sentences: Sequence[Sentence], validation_fraction: float,
                    test_fraction: float, seed: int) -> dict[str, list[Sentence]]:
    """A seeded random split of the sentences (train/validation/test)."""
    import random

    order = list(range(len(sentences)))
    random.Random(seed).shuffle(order)
    n = len(order)
    n_test = round(n * test_fraction)
    n_val = round(n * validation_fraction)
    test = [sentences[i] for i in order[:n_test]]
    validation = [sentences[i] for i in order[n_test:n_test + n_val]]
    train = [sentences[i] for i in order[n_test + n_val:]]
    return {"train": train, "validation": validation, "test": test}


def write_conll(sentences: Iterable[tuple[Sequence[str], Sequence[str]]]) -> str:
    """CoNLL text: ``token<TAB>tag`` lines, a blank line after each sentence."""
    return "".join("".join(f"{t}\t{g}\n" for t, g in zip(tokens, tags, strict=True)) + "\n"
                   for tokens, tags in sentences)
