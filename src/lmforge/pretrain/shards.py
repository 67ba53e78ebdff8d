"""Tokenized training sequences on disk, memory-mapped: a corpus larger than memory trains.

The training sequences of ``pretrain`` are tokenized once, piece by piece, into
``OUT.shards/`` beside the run: ``train.tokens`` (int32 token ids, one after the other),
``train.offsets.npy`` (where each sequence starts) and, for whole-word masking,
``train.words``. ``TokenShard`` reads them back through ``np.memmap`` as a sequence of
token lists, so only the rows of the batch at hand are in memory. ``stamp.json`` holds a
key of the corpus files (path, size, mtime), the tokenizer and the settings: a resumed run
finds its shards and does not tokenize again; anything else rebuilds them. The directory
is removed when the run is written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

STAMP_FILE = "stamp.json"


class TokenShard(Sequence[list[int]]):
    """Sequences of token ids, memory-mapped: ``shard[i]`` is a list of ints."""

    def __init__(self, directory: Path, name: str) -> None:
        self.offsets = np.load(directory / f"{name}.offsets.npy")
        n = int(self.offsets[-1])
        path = directory / f"{name}.tokens"
        self.tokens = np.memmap(path, dtype=np.int32, mode="r", shape=(n,)) if n else \
            np.zeros(0, dtype=np.int32)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.tokens[self.offsets[i] : self.offsets[i + 1]].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        return (self[i] for i in range(len(self)))

    def lengths(self) -> list[int]:
        return np.diff(self.offsets).tolist()


class ShardWriter:
    """Appends sequences to ``NAME.tokens``; ``close()`` writes the offsets."""

    def __init__(self, directory: Path, name: str) -> None:
        self.directory, self.name = directory, name
        self.stream = open(directory / f"{name}.tokens", "wb")
        self.offsets = [0]

    def add(self, ids: Sequence[int]) -> None:
        np.asarray(ids, dtype=np.int32).tofile(self.stream)
        self.offsets.append(self.offsets[-1] + len(ids))

    def close(self) -> None:
        self.stream.close()
        np.save(self.directory / f"{self.name}.offsets.npy", np.asarray(self.offsets, np.int64))


def shard_key(files: Sequence[str], tokenizer: Any, settings: dict[str, Any]) -> str:
    """What the shards depend on: the corpus files as they are now, the tokenizer, settings."""
    digest = hashlib.sha256()
    for name in files:
        stat = Path(name).stat()
        digest.update(f"{Path(name).resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    digest.update((backend.to_str() if backend is not None else repr(tokenizer.get_vocab()))
                  .encode())
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def cached(directory: Path, key: str) -> bool:
    stamp = directory / STAMP_FILE
    return stamp.exists() and json.loads(stamp.read_text(encoding="utf-8")).get("key") == key


def start(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)


def finish(directory: Path, key: str) -> None:
    """Written last: shards without it are incomplete and rebuilt."""
    (directory / STAMP_FILE).write_text(json.dumps({"key": key}), encoding="utf-8")


def write_sequences(directory: Path, name: str,
                    sequences: Iterable[tuple[list[int], list[int] | None]]) -> int:
    """(ids, word ids or None) pairs -> ``NAME`` (and ``NAME-words``) shards; how many."""
    ids_out = ShardWriter(directory, name)
    words_out: ShardWriter | None = None
    for ids, words in sequences:
        ids_out.add(ids)
        if words is not None:
            words_out = words_out or ShardWriter(directory, f"{name}-words")
            words_out.add(words)
    ids_out.close()
    if words_out is not None:
        words_out.close()
    return len(ids_out.offsets) - 1
