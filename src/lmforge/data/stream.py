"""Read prediction input in chunks: a file of any size in bounded memory.

``read_chunks`` yields the rows of a CSV, TSV, JSONL, Parquet or .txt file (or of
stdin, one text per line) ``chunk_rows`` at a time, each row as it was read: its cells
unchanged, keyed by column in file order, with the file row (or line) it came from.
CSV/TSV go through pandas' chunked parser (the cells ``read_table`` would give), JSONL
and text line by line, Parquet by record batches; the encoding is sniffed from the
file's head as ``read.sniff_encoding`` does for a whole file.

``input_columns`` chooses the columns that make the model's input (the rule of
``data.read_inputs``) and ``chunk_inputs`` builds each row's input from them: cleaned,
several columns joined, two made a sentence pair (``data.pairs``).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lmforge.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from lmforge.data.columns import ColumnChoice

log = logging.getLogger(__name__)

CHUNK_ROWS = 1000
SNIFF_HEAD = 1 << 20  # bytes the encoding is sniffed from
STDIN = "-"


@dataclass
class Chunk:
    """Consecutive rows of the input, as read."""

    records: list[dict[str, Any]]  # column -> cell, in the file's column order
    rows: list[int]  # the file row (CSV, TSV, Parquet) or line (JSONL, text) of each record
    row_word: str = "row"

    def __len__(self) -> int:
        return len(self.records)

    def where(self, i: int) -> str:
        """'row 4' or 'line 4', for messages."""
        return f"{self.row_word} {self.rows[i]}"


@dataclass
class InputStream:
    """An open input: ``columns`` as known so far (a table's header; JSONL: the keys of the
    rows read yet), ``chunks`` its rows. ``fraction_read`` says how far into the file
    the reading is (for a progress estimate), None when unknown (stdin)."""

    source: str
    kind: str
    columns: list[str]
    chunks: Iterator[Chunk]
    total_rows: int | None = None  # known up front for Parquet only
    first: Chunk | None = None  # the first chunk (read by open_input; also yielded by chunks)
    _size: int | None = None
    _position: Any = None
    _closers: list[Any] = field(default_factory=list)

    def fraction_read(self) -> float | None:
        if self.total_rows is not None or not self._size or self._position is None:
            return None
        try:  # the reader's buffer runs a little ahead of the rows: never say "done" early
            return min(0.99, self._position() / self._size)
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        for close in self._closers:
            close()
        self._closers.clear()

    def __enter__(self) -> InputStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_input(source: str | os.PathLike[str], chunk_rows: int = CHUNK_ROWS,
               stdin: TextIO | None = None) -> InputStream:
    """The rows of ``source`` (a file, or ``-`` for ``stdin``: one text per line, column
    ``text``), ``chunk_rows`` at a time. A file's first chunk is read here, so a file that
    cannot be read fails before anything is written; stdin may be empty (no rows)."""
    from lmforge.data.read import file_kind

    if chunk_rows < 1:
        raise DataError(f"chunk rows: must be >= 1, got {chunk_rows}")
    if str(source) == STDIN:
        import sys

        # not read ahead: a filter reads its input only once it knows it can use it
        handle = stdin if stdin is not None else sys.stdin
        return InputStream("<stdin>", "text", ["text"], _text_chunks(handle, chunk_rows))
    path = Path(source)
    kind = file_kind(path)
    if kind == "Parquet":
        log.info("%s: read as Parquet, in batches of %d rows", path, chunk_rows)
        return _started(_open_parquet(path, chunk_rows), path)
    raw = open(path, "rb")  # noqa: SIM115 - closed by the stream
    try:
        encoding = _sniff(raw, path, kind)
        # utf-8-sig and utf-16 skip their byte-order mark themselves
        text = io.TextIOWrapper(raw, encoding=encoding, newline="" if kind in ("CSV", "TSV")
                                else "\n")
        if kind == "JSONL":
            stream = InputStream(str(path), kind, [], _jsonl_chunks(text, path, chunk_rows))
        elif kind == "text":
            stream = InputStream(str(path), kind, ["text"], _text_chunks(text, chunk_rows))
        else:
            columns, chunks = _delimited_chunks(text, path, kind, chunk_rows)
            stream = InputStream(str(path), kind, columns, chunks)
    except BaseException:
        raw.close()
        raise
    stream._size = path.stat().st_size
    stream._position = raw.tell
    stream._closers.append(raw.close)
    log.info("%s: read as %s, encoding %s, in chunks of %d rows", path, kind, encoding,
             chunk_rows)
    return _started(stream, path)


def literal_input(text: str, text_pair: str | None = None) -> InputStream:
    """One text typed on the command line (``predict --text``), or a sentence pair: one row
    of column ``text`` (and ``text_pair``)."""
    from lmforge.data.pairs import PAIR_FIELD

    record = {"text": text} if text_pair is None else {"text": text, PAIR_FIELD: text_pair}
    first = Chunk([record], [1], "text")
    return InputStream("--text", "literal", list(record), iter([first]), total_rows=1,
                       first=first)


def _started(stream: InputStream, path: Path | None = None) -> InputStream:
    """``stream`` with its first chunk read (and put back): errors and JSONL's first keys
    come before any output."""
    try:
        first = next(stream.chunks, None)
    except BaseException:
        stream.close()
        raise
    if first is None:
        stream.close()
        where = path or stream.source
        if stream.kind in ("CSV", "TSV"):
            raise DataError(f"{where}: has a header ({', '.join(stream.columns)}) but no data "
                            "rows. Add rows below the header.")
        if stream.kind == "Parquet":
            raise DataError(f"{where}: has columns ({', '.join(stream.columns)}) but no rows. "
                            "Write the table with its rows.")
        from lmforge.data.read import EMPTY_FIX

        raise DataError(f"{where}: the file has no rows (only blank lines). "
                        f"{EMPTY_FIX[stream.kind]}")
    stream.first = first
    if stream.kind == "JSONL":
        stream.columns = _keys(first.records)
    rest = stream.chunks

    def chunks() -> Iterator[Chunk]:
        yield first
        yield from rest

    stream.chunks = chunks()
    return stream


def _keys(records: Sequence[dict[str, Any]], known: Sequence[str] = ()) -> list[str]:
    """``known`` then the keys of ``records`` not in it, in the order they appear."""
    seen = dict.fromkeys(known)
    for record in records:
        for key in record:
            if key not in seen:
                seen[key] = None
    return list(seen)


# -- encodings ---------------------------------------------------------------------------

def _sniff(raw: Any, path: Path, kind: str) -> str:
    """The encoding of the file, sniffed from its head with
    ``read.sniff_encoding``'s rules; DataErrors for an empty or binary file."""
    from lmforge.data.read import EMPTY_FIX, _decode

    head = raw.read(SNIFF_HEAD)
    whole = len(head) < SNIFF_HEAD
    raw.seek(0)
    if whole and not head.strip():
        raise DataError(f"{path}: the file is empty. {EMPTY_FIX[kind]}")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode Text" export
        return "utf-16"
    if not whole:
        # a cut head may end inside a character: sniff whole lines only (a newline byte is
        # never part of a UTF-8 or GB18030 character)
        end = head.rfind(b"\n")
        head = head[: end + 1] if end > 0 else head
    return _decode(head, path, kind)[0]


def _decoding_error(path: Path, encoding: str, where: str, exc: UnicodeDecodeError) -> DataError:
    from lmforge.data.read import EXCEL_HINT

    return DataError(f"{path}: cannot decode the bytes after {where} as {encoding} (the "
                     f"encoding its first part reads as): {exc.reason}. Re-save the file as "
                     f"UTF-8 ({EXCEL_HINT}).")


# -- formats -----------------------------------------------------------------------------

def _numbered_lines(handle: TextIO, path: Path | None) -> Iterator[tuple[int, str]]:
    """(line number, line) of every non-blank line; a decoding error names the line."""
    number = 0
    lines = iter(handle)
    while True:
        try:
            line = next(lines)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            where = path or Path(getattr(handle, "name", "<stdin>"))
            raise _decoding_error(where, getattr(handle, "encoding", "utf-8"),
                                  f"line {number}", exc) from None
        number += 1
        if line.strip():
            yield number, line


def _line_chunks(numbered: Iterator[tuple[int, dict[str, Any]]],
                 chunk_rows: int) -> Iterator[Chunk]:
    records: list[dict[str, Any]] = []
    rows: list[int] = []
    for number, record in numbered:
        records.append(record)
        rows.append(number)
        if len(records) >= chunk_rows:
            yield Chunk(records, rows, "line")
            records, rows = [], []
    if records:
        yield Chunk(records, rows, "line")


def _text_chunks(handle: TextIO, chunk_rows: int) -> Iterator[Chunk]:
    """One text per non-blank line (the line unchanged but for its line break), column
    ``text``; numbered by line."""
    return _line_chunks(((number, {"text": line.rstrip("\n").rstrip("\r")})
                         for number, line in _numbered_lines(handle, None)), chunk_rows)


def _jsonl_chunks(handle: TextIO, path: Path, chunk_rows: int) -> Iterator[Chunk]:
    from lmforge.data.read import json_record

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, line in _numbered_lines(handle, path):
            record = json_record(line, number, path)
            yield number, {str(k): v for k, v in record.items()}

    return _line_chunks(records(), chunk_rows)


def _delimited_chunks(handle: TextIO, path: Path, kind: str,
                      chunk_rows: int) -> tuple[list[str], Iterator[Chunk]]:
    """The header's columns (stripped, as ``read_table`` names them) and the rows, read by
    pandas' parser ``chunk_rows`` at a time; blank rows skipped, rows numbered as in the
    file (the header is row 1)."""
    import warnings

    import pandas as pd

    from lmforge.data.read import header_separator

    skipped = 0  # blank lines above the header
    while True:
        position = handle.tell()
        line = handle.readline()
        if not line or line.strip():
            break
        skipped += 1
    handle.seek(position)
    if not line:  # pragma: no cover - the head was sniffed non-blank
        from lmforge.data.read import EMPTY_FIX

        raise DataError(f"{path}: the file is empty. {EMPTY_FIX[kind]}")
    sep = header_separator(line.rstrip("\r\n"), "\t" if kind == "TSV" else ",", path)
    shown = {"\t": "TSV", ";": "';'-separated CSV"}.get(sep, "CSV")
    what = {"\t": "a tab", ";": "a semicolon"}.get(sep, "a comma")

    def problem(exc: Exception, first_row: int) -> DataError:
        return DataError(f"{path}: malformed {shown} at or after row {first_row}: "
                         f"{str(exc).strip()}. A field that contains {what}, a double quote or "
                         'a line break must be in double quotes, with quotes inside doubled ("").'
                         " Fix that line or re-export the file.")

    def next_frame(first_row: int) -> Any:
        try:
            with warnings.catch_warnings():
                # index_col=False makes pandas warn (not guess an index column) when a row has
                # more fields than the header; as for read_table, that is an error
                warnings.simplefilter("error", pd.errors.ParserWarning)
                return reader.get_chunk()
        except StopIteration:
            return None
        except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
            raise problem(exc, first_row) from exc
        except UnicodeDecodeError as exc:
            raise _decoding_error(path, handle.encoding, f"row {first_row}", exc) from None

    try:
        reader = pd.read_csv(handle, sep=sep, dtype=str, keep_default_na=False, index_col=False,
                             skip_blank_lines=False, chunksize=chunk_rows)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: the file is empty. Add a header row and data rows.") from exc
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise problem(exc, 1) from exc
    except UnicodeDecodeError as exc:
        raise _decoding_error(path, handle.encoding, "the header", exc) from None
    first = next_frame(2 + skipped)
    columns = [str(c).strip() for c in (first.columns if first is not None
                                        else reader._engine.orig_names)]

    def chunks() -> Iterator[Chunk]:
        from lmforge.data.cells import is_missing

        next_row = 2 + skipped
        frame = first
        try:
            while frame is not None:
                records, rows = [], []
                for offset, values in enumerate(frame.itertuples(index=False, name=None)):
                    if all(is_missing(v) for v in values):  # a blank line, as read_table skips
                        continue
                    records.append({name: (None if v != v else v)  # NaN: a short row's end
                                    for name, v in zip(columns, values, strict=True)})
                    rows.append(next_row + offset)
                next_row += len(frame)
                if records:
                    yield Chunk(records, rows, "row")
                frame = next_frame(next_row)
        finally:
            reader.close()

    return columns, chunks()


def _open_parquet(path: Path, chunk_rows: int) -> InputStream:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.stat().st_size == 0:
        from lmforge.data.read import EMPTY_FIX

        raise DataError(f"{path}: the file is empty. {EMPTY_FIX['Parquet']}")
    try:
        table = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a valid Parquet file ({exc}). Re-export it, or save the "
                        "table as CSV.") from exc
    columns = [str(c) for c in table.schema_arrow.names]

    def chunks() -> Iterator[Chunk]:
        first = 1
        try:
            for batch in table.iter_batches(batch_size=chunk_rows):
                records = [{str(k): v for k, v in record.items()} for record in batch.to_pylist()]
                yield Chunk(records, list(range(first, first + len(records))), "row")
                first += len(records)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: cannot read row {first} on ({exc}). Re-export it, or "
                            "save the table as CSV.") from exc

    stream = InputStream(str(path), "Parquet", columns, chunks(),
                         total_rows=table.metadata.num_rows)
    stream._closers.append(table.close)
    return stream


# -- the model's input --------------------------------------------------------------------

def input_columns(stream: InputStream, settings: dict[str, Any],
                  text_col: str | None = None) -> ColumnChoice:
    """The columns that make the model's input: ``text_col`` when given, else the run's own
    (config.yaml ``pair``, ``text_col``) when the input has them, else detected from the
    first rows (the rule of ``data.read_inputs``; a pair run's columns must be there)."""
    from lmforge.data.columns import ColumnChoice, detect_columns, missing_pair_columns

    present = stream.columns
    pair, run_text = settings.get("pair"), settings.get("text_col")
    if stream.kind == "literal":
        return _literal_columns(stream, pair)
    if pair and stream.kind == "text" and not text_col:
        raise DataError(f"{stream.source}: this model reads sentence pairs ({pair}), but "
                        "one text per line gives single texts. Pass a file with the columns "
                        f"{pair} (CSV, TSV, JSONL, Parquet), or --text FIRST --text-pair SECOND.")
    if not text_col:
        wanted = (pair or run_text or "").split(",")
        if (pair or run_text) and all(name in present for name in wanted):
            names = " and ".join(f"'{name}'" for name in wanted)
            how = (f"sentence pairs of columns {names} (the run's)" if pair else
                   f"text column{'s' if len(wanted) > 1 else ''} {names} (the run's)")
            return ColumnChoice(pair or run_text, (), how, pair=bool(pair))
        if pair:
            raise missing_pair_columns(stream.source, pair, wanted, list(present))
    if stream.kind == "text":
        if text_col and text_col != "text":
            raise DataError(f"--text-col {text_col}: {stream.source} is one text per line (its "
                            "one column is 'text'); leave --text-col out.")
        return ColumnChoice("text", (), "one text per line")
    import pandas as pd

    sample = pd.DataFrame.from_records(stream.first.records if stream.first else [],
                                       columns=present)
    return detect_columns(sample, stream.source, text_col, require_label=False)


def _literal_columns(stream: InputStream, pair: str | None) -> ColumnChoice:
    from lmforge.data.columns import ColumnChoice

    if pair and len(stream.columns) == 1:
        raise DataError(f"--text: this model reads sentence pairs ({pair}); pass the second "
                        "text too: --text FIRST --text-pair SECOND")
    if not pair and len(stream.columns) == 2:
        raise DataError("--text-pair: this model reads one text, not sentence pairs; leave "
                        "--text-pair out")
    return ColumnChoice(",".join(stream.columns), (), "the text given", pair=bool(pair))


def chunk_inputs(chunk: Chunk, columns: ColumnChoice, source: str) -> list[str]:
    """Each row's input for the model: its text cell cleaned, or several cells cleaned and
    joined (a sentence pair with one empty text: a DataError naming the row); an empty
    text stays "" so that every row gets a prediction."""
    from lmforge.data.cells import is_missing, plain
    from lmforge.data.clean import clean_text, join_cells

    names = columns.text_columns

    def cell(record: dict[str, Any], name: str) -> str:
        value = record.get(name)
        return "" if is_missing(value) else clean_text(str(plain(value)))

    if len(names) == 1:
        return [cell(record, names[0]) for record in chunk.records]
    return [join_cells([cell(record, name) for name in names], columns, source, chunk.where(i))
            or "" for i, record in enumerate(chunk.records)]
