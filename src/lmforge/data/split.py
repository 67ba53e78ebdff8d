"""Stratified train/validation/test split, subsets, and leakage between splits.

``split_for_training`` is the one split of ``lmforge train``: training and
``compress`` (pruning, distillation, reports) both call it, so a recovery
fine-tune can never see a test text. The test split is taken first from the
whole set, then validation from the rest; both fractions are of the whole set.
Split sizes are shared out between classes (or, for regression, quantile bins)
by largest remainder, so the totals are ``round(n * fraction)`` wherever the
one-of-each-class rule allows.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from lmforge.data.clean import Examples
from lmforge.data.task import Task
from lmforge.errors import ConfigError, DataError

REGRESSION_BINS = 10
MIN_PER_BIN = 20  # fewer examples than bins * this: fewer bins


@dataclass
class Splits:
    train: Examples
    validation: Examples
    test: Examples


def split_for_training(examples: Examples, *, validation_fraction: float, test_fraction: float,
                       seed: int, path: Any = "",
                       held_out: Mapping[str, Examples | None] | None = None) -> Splits:
    """The train/validation/test parts exactly as ``lmforge train`` makes them.

    ``held_out`` names the parts given as separate files ("validation", "test"): nothing is
    carved out of ``examples`` for them, and their examples take that part's place. A name
    mapped to None was given as a file that the caller does not need read (``compress``
    re-reads only the training part): that part comes back empty.
    """
    held_out = held_out or {}
    splits = split_stratified(
        examples,
        validation_fraction=0.0 if "validation" in held_out else validation_fraction,
        test_fraction=0.0 if "test" in held_out else test_fraction,
        seed=seed, path=path,
    )
    for name, part in held_out.items():
        setattr(splits, name, part if part is not None else examples.subset([]))
    return splits


def stratified_subset(examples: Examples, n: int, seed: int) -> Examples:
    """A random subset of ``n`` examples keeping the class proportions (single-label; any
    other task: a plain random subset)."""
    rng = random.Random(seed)
    if examples.task != Task.SINGLE:
        return examples.subset(sorted(rng.sample(range(len(examples)), n)))
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(examples.targets):
        by_class[label].append(i)
    chosen: list[int] = []
    for _label, idx in sorted(by_class.items()):
        take = max(1, round(n * len(idx) / len(examples)))
        chosen.extend(rng.sample(idx, min(take, len(idx))))
    return examples.subset(sorted(chosen[: max(n, len(by_class))]))


def split_stratified(examples: Examples, *, validation_fraction: float = 0.1,
                     test_fraction: float = 0.2, seed: int = 0, path: Any = "") -> Splits:
    """Held-out splits, per class for single-label, by quantile bin for regression and at
    random for multi-label. Deterministic for a seed; every split is shuffled."""
    import numpy as np

    source = path or examples.source
    _check_fractions(validation_fraction, test_fraction)
    held = [name for name, f in (("validation", validation_fraction), ("test", test_fraction))
            if f > 0]
    n = len(examples)
    stratified = examples.task == Task.SINGLE
    if stratified:
        _check_class_sizes(examples, held, source)
    elif n < len(held) + 1:
        raise DataError(f"{source}: {n} example{'s are' if n != 1 else ' is'} too few for a "
                        f"{'/'.join(['train', *held])} split. Add examples, or pass separate "
                        "--validation/--test files.")

    rng = np.random.default_rng(seed)
    pools = [list(rng.permutation(group)) for group in _groups(examples)]
    test, pools = _take(pools, test_fraction, n, stratified,
                        reserve=1 + int(validation_fraction > 0))
    validation, pools = _take(pools, validation_fraction, n, stratified, reserve=1)
    train = [i for pool in pools for i in pool]
    parts = {}
    for name, indices in (("train", train), ("validation", validation), ("test", test)):
        parts[name] = examples.subset([int(i) for i in rng.permutation(np.array(indices, dtype=int))])
    return Splits(**parts)


def _check_fractions(validation_fraction: float, test_fraction: float) -> None:
    problems = [f"{name} must be at least 0 and below 1 (got {value})"
                for name, value in (("validation_fraction", validation_fraction),
                                    ("test_fraction", test_fraction))
                if not 0 <= value < 1]
    if not problems and validation_fraction + test_fraction >= 1:
        problems.append(f"validation_fraction + test_fraction must be below 1 (got "
                        f"{validation_fraction + test_fraction:g}), or nothing is left to train on")
    if problems:
        raise ConfigError("; ".join(problems) + ".")


def _check_class_sizes(examples: Examples, held: list[str], source: Any) -> None:
    if not held:
        return
    need = len(held) + 1
    counts: dict[str, int] = defaultdict(int)
    for label in examples.targets:
        counts[label] += 1
    rare = sorted((label, count) for label, count in counts.items() if count < need)
    if not rare:
        return
    split = "/".join(["train", *held])
    if len(rare) == 1:
        label, count = rare[0]
        raise DataError(
            f"{source}: class '{label}' has {count} example{'s' if count != 1 else ''}; a "
            f"stratified {split} split needs at least {need} per class. Add examples of "
            f"'{label}', remove it, or pass separate --validation/--test files.")
    shown = ", ".join(f"'{label}' ({count})" for label, count in rare[:10])
    more = f" and {len(rare) - 10} more" if len(rare) > 10 else ""
    raise DataError(
        f"{source}: {len(rare)} classes have too few examples: {shown}{more}; a stratified "
        f"{split} split needs at least {need} per class. Add examples of them, remove them, "
        "or pass separate --validation/--test files.")


def _groups(examples: Examples) -> list[list[int]]:
    """Indices per class (single), per quantile bin (regression), or all in one (multi)."""
    n = len(examples)
    if examples.task == Task.SINGLE:
        by_class: dict[str, list[int]] = defaultdict(list)
        for i, label in enumerate(examples.targets):
            by_class[label].append(i)
        return [by_class[label] for label in sorted(by_class)]
    if examples.task == Task.REGRESSION:
        bins = min(REGRESSION_BINS, n // MIN_PER_BIN)
        if bins >= 2:
            order = sorted(range(n), key=lambda i: (examples.targets[i], i))
            size, extra = divmod(n, bins)
            groups, start = [], 0
            for b in range(bins):
                end = start + size + (1 if b < extra else 0)
                groups.append(sorted(order[start:end]))
                start = end
            return groups
    return [list(range(n))]


def _rounded(x: float) -> int:
    return math.floor(x + 0.5)  # half up: round() would send 2.5 to 2


def _take(pools: list[list[int]], fraction: float, n_all: int, stratified: bool,
          reserve: int) -> tuple[list[int], list[list[int]]]:
    """About ``n_all * fraction`` indices from the front of the pools, shared out by size.

    A nonzero fraction takes at least one. Stratified: at least one from each pool, and
    ``reserve`` left in each for the splits still to come; otherwise ``reserve`` left in all.
    """
    if fraction <= 0:
        return [], pools
    sizes = [len(p) for p in pools]
    total = max(1, _rounded(n_all * fraction))
    if stratified:
        low = [1] * len(pools)
        high = [s - reserve for s in sizes]
    else:
        low = [0] * len(pools)
        high = sizes
        total = min(total, sum(sizes) - reserve)
    counts = _apportion(sizes, total, low, high)
    taken = [i for pool, c in zip(pools, counts, strict=True) for i in pool[:c]]
    rest = [pool[c:] for pool, c in zip(pools, counts, strict=True)]
    return taken, rest


def _apportion(sizes: Sequence[int], total: int, low: Sequence[int],
               high: Sequence[int]) -> list[int]:
    """Largest-remainder shares of ``total`` in proportion to ``sizes``, within [low, high]."""
    total = min(max(total, sum(low)), sum(high))
    n = sum(sizes)
    quotas = [total * s / n for s in sizes]
    counts = [min(max(math.floor(q), lo), hi) for q, lo, hi in zip(quotas, low, high, strict=True)]
    while sum(counts) < total:
        i = max((i for i in range(len(counts)) if counts[i] < high[i]),
                key=lambda i: (quotas[i] - counts[i], -i))
        counts[i] += 1
    while sum(counts) > total:
        i = min((i for i in range(len(counts)) if counts[i] > low[i]),
                key=lambda i: (quotas[i] - counts[i], i))
        counts[i] -= 1
    return counts


def near_duplicate_key(text: str) -> str:
    """Lowercase, without punctuation, symbols and whitespace: 'Great film!!' == 'great  film'.

    The one definition of "the same text" for leakage and near-duplicates, used by
    ``lmforge train`` (metrics.json ``data.leakage``, report.md) and ``lmforge inspect``."""
    return "".join(ch for ch in text.casefold()
                   if not ch.isspace() and unicodedata.category(ch)[0] not in "PS")


@dataclass(frozen=True)
class Leak:
    """A text of the later split that is also in the earlier one: identical, or a
    near-duplicate (equal after ``near_duplicate_key``)."""

    first: int  # index into the first split's texts (its first text with that key)
    second: int  # index into the second split's texts (its first occurrence)
    kind: str  # "identical" or "near-duplicate"


def find_leaks(first: Sequence[str], second: Sequence[str]) -> list[Leak]:
    """Each distinct text of ``second`` that ``first`` has too, identical or near-duplicate
    (``near_duplicate_key``), in ``second``'s order."""
    exact: dict[str, int] = {}
    keys: dict[str, int] = {}
    for i, text in enumerate(first):
        if text:
            exact.setdefault(text, i)
            key = near_duplicate_key(text)
            if key:
                keys.setdefault(key, i)
    out, seen = [], set()
    for j, text in enumerate(second):
        if not text or text in seen:
            continue
        seen.add(text)
        if text in exact:
            out.append(Leak(exact[text], j, "identical"))
        elif (key := near_duplicate_key(text)) and key in keys:
            out.append(Leak(keys[key], j, "near-duplicate"))
    return out


def find_leakage(splits: dict[str, Examples]) -> dict[str, int]:
    """Texts shared by each pair of named splits, identical or near-duplicate
    (``find_leaks``: distinct texts of the later split); nonzero pairs only."""
    out = {}
    for a, b in combinations(splits, 2):
        shared = len(find_leaks(splits[a].texts, splits[b].texts))
        if shared:
            out[f"{a}/{b}"] = shared
    return out
