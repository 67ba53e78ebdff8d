"""Pre-training text in: files -> documents of lines -> train / held-out lines.

A corpus file is plain UTF-8 text, one paragraph (or sentence, or review) per
line; a blank line ends a document (next-sentence pairs never cross one, and
neither does a file boundary). A table file (CSV, TSV, JSONL, Parquet) is read
with the data module and its text column becomes one document of lines.
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lmforge.errors import DataError

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".parquet")
HELDOUT_RUN = 8  # consecutive lines per held-out run
CORPUS_HELP = "Pass UTF-8 text files with one paragraph per line (or CSV/TSV/JSONL/Parquet tables)."


@dataclass
class Corpus:
    documents: list[list[str]]  # each document: its non-blank lines, stripped
    files: list[str]
    lines_per_file: dict[str, int] = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return [line for doc in self.documents for line in doc]

    @property
    def n_lines(self) -> int:
        return sum(len(doc) for doc in self.documents)

    @property
    def n_chars(self) -> int:
        return sum(len(line) for doc in self.documents for line in doc)


def read_corpus(paths: Sequence[str | os.PathLike[str]]) -> Corpus:
    """Read every file; all missing files are reported in one error."""
    if not paths:
        raise DataError(f"no corpus files given. {CORPUS_HELP}")
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise DataError(
            f"corpus file{'s' if len(missing) > 1 else ''} not found: {', '.join(missing)}. "
            f"Check the path{'s' if len(missing) > 1 else ''} (relative paths start from "
            f"{Path.cwd()}).")
    documents: list[list[str]] = []
    per_file: dict[str, int] = {}
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            raise DataError(f"{path}: is a directory, not a corpus file. {CORPUS_HELP}")
        if path.suffix.lower() in TABLE_SUFFIXES:
            docs = [_table_texts(path)]
        else:
            docs = split_documents(read_utf8(path))
        docs = [d for d in docs if d]
        per_file[str(path)] = sum(len(d) for d in docs)
        documents.extend(docs)
    corpus = Corpus(documents, [str(p) for p in paths], per_file)
    if corpus.n_lines == 0:
        names = ", ".join(str(p) for p in paths)
        raise DataError(f"the corpus is empty: {names} contain{'s' if len(paths) == 1 else ''} "
                        f"no text, only blank lines. {CORPUS_HELP}")
    for name, count in per_file.items():
        if not count:
            log.warning("%s: no text (empty or only blank lines); skipped", name)
    log.info("corpus: %d lines, %d characters in %d documents from %d file(s)",
             corpus.n_lines, corpus.n_chars, len(documents), len(paths))
    return corpus


def read_utf8(path: Path) -> str:
    """The file's text; a non-UTF-8 file is an error naming the first bad line."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DataError(
            f"{path}: line {line}, byte {column} is not valid UTF-8 (byte 0x{raw[exc.start]:02x}). "
            f"Convert the file to UTF-8 first, e.g. `iconv -f GB18030 -t UTF-8 {path} > "
            f"{path.stem}.utf8{path.suffix}` for Chinese text saved as GBK."
        ) from None


def split_documents(text: str) -> list[list[str]]:
    """Lines, stripped; blank lines separate documents."""
    documents: list[list[str]] = [[]]
    for line in text.splitlines():
        line = line.strip()
        if line:
            documents[-1].append(line)
        elif documents[-1]:
            documents.append([])
    return [d for d in documents if d]


def _table_texts(path: Path) -> list[str]:
    from lmforge.data.columns import detect_columns
    from lmforge.data.read import read_table

    df = read_table(path)
    choice = detect_columns(df, path, require_label=False)
    texts = [" ".join(str(t).split()) for t in df[choice.text].dropna().tolist()]
    log.info("%s: %s", path, choice.reason)
    return [t for t in texts if t]


def split_heldout(corpus: Corpus, fraction: float, seed: int,
                  run_length: int = HELDOUT_RUN) -> tuple[Corpus, Corpus]:
    """(train, held-out): about ``fraction`` of the lines, at least one line when there are two.

    The held-out slice is made of runs of up to ``run_length`` consecutive lines
    drawn from random places, so it samples every part of a mixed corpus while
    consecutive lines stay consecutive (next-sentence pairs on both sides are
    real). A document is cut where a run was taken out.
    """
    runs = [(d, start) for d, doc in enumerate(corpus.documents)
            for start in range(0, len(doc), run_length)]
    target = 0 if fraction <= 0 or corpus.n_lines < 2 else max(1, round(fraction * corpus.n_lines))
    rng = random.Random(seed)
    rng.shuffle(runs)
    held: dict[int, set[int]] = {}
    taken = 0
    for d, start in runs:
        if taken >= target:
            break
        stop = min(start + run_length, len(corpus.documents[d]), start + target - taken)
        held.setdefault(d, set()).update(range(start, stop))
        taken += stop - start
    train_docs: list[list[str]] = []
    held_docs: list[list[str]] = []
    for d, doc in enumerate(corpus.documents):
        out = held.get(d, set())
        current: list[str] = []
        current_is_held = False
        for i, line in enumerate(doc):
            if current and (i in out) != current_is_held:
                (held_docs if current_is_held else train_docs).append(current)
                current = []
            current_is_held = i in out
            current.append(line)
        if current:
            (held_docs if current_is_held else train_docs).append(current)
    return Corpus(train_docs, corpus.files), Corpus(held_docs, corpus.files)
