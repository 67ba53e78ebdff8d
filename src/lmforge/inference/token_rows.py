"""What ``predict`` reads and writes for a token run: texts or sentences of tokens in,
entities with character offsets (JSONL) or tagged tokens (CoNLL) out."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from lmforge.errors import ConfigError

TOKEN_FILE_SUFFIXES = (".conll", ".conllu", ".bio", ".iob", ".jsonl", ".json", ".ndjson")
TOKEN_FORMATS = ("jsonl", "conll")


def token_prediction_rows(tagger: Any, data: str | os.PathLike[str] | Sequence[Any],
                          text_col: str | None = None) -> list[dict[str, Any]]:
    """Rows ``{"text", "tokens", "spans", "tags", "entities"}`` for ``data``: a file of
    sentences (CoNLL or JSONL, tags optional and ignored), a file of texts (.txt, CSV, ...),
    or a list of texts or of token lists."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if path.suffix.lower() in TOKEN_FILE_SUFFIXES:
            from lmforge.data.conll import read_token_file

            sentences = read_token_file(path, tags_required=False).sentences
            return tagger.predict_tokens([s.tokens for s in sentences])
        from lmforge.data import read_texts

        return tagger.predict(read_texts(path, text_col))
    items = list(data)
    if items and not isinstance(items[0], str):
        return tagger.predict_tokens(items)
    return tagger.predict(items)


def write_token_rows(rows: Sequence[dict[str, Any]], stream: TextIO, fmt: str) -> None:
    """JSONL: one object per text (its entities with offsets, tokens and tags); CoNLL:
    ``token<TAB>tag`` lines, a blank line after each text."""
    if fmt not in TOKEN_FORMATS:
        raise ConfigError(f"format: a token run writes {' or '.join(TOKEN_FORMATS)}, not {fmt}")
    if fmt == "conll":
        from lmforge.data.conll import write_conll

        stream.write(write_conll((row["tokens"], row["tags"]) for row in rows))
        return
    for row in rows:
        stream.write(json.dumps(row, ensure_ascii=False) + "\n")


def predict_tokens_cli(tagger: Any, args: Any, stdin: TextIO, stdout: TextIO) -> int:
    """``lmforge predict TOKEN_RUN --data FILE|- [--format jsonl|conll] [--out FILE]``."""
    fmt = args.format or "jsonl"
    if fmt not in TOKEN_FORMATS:
        raise ConfigError(f"--format {fmt}: a token run writes jsonl (entities with character "
                          "offsets) or conll (token<TAB>tag); pass --format jsonl or conll")
    if getattr(args, "text", None) is not None:
        rows = tagger.predict([args.text])
    elif args.data == "-":
        rows = tagger.predict([line.rstrip("\n") for line in stdin if line.strip()])
    else:
        rows = token_prediction_rows(tagger, args.data, args.text_col)
    return write_token_output(rows, args, stdout)


def write_token_output(rows: Sequence[dict[str, Any]], args: Any, stdout: TextIO | None = None) -> int:
    """``rows`` to ``args.out`` (atomically) or stdout, as ``args.format`` (default jsonl)."""
    import sys

    fmt = args.format or "jsonl"
    if fmt not in TOKEN_FORMATS:
        raise ConfigError(f"--format {fmt}: a token run writes jsonl (entities with character "
                          "offsets) or conll (token<TAB>tag); pass --format jsonl or conll")
    stdout = stdout or sys.stdout
    if args.out:
        from lmforge.rundir import write_text_atomic

        buffer = io.StringIO()
        write_token_rows(rows, buffer, fmt)
        write_text_atomic(Path(args.out), buffer.getvalue())
    else:
        write_token_rows(rows, stdout, fmt)
    return 0
