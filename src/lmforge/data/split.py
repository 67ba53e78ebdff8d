"""Stratified train/validation/test split and leakage between splits."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from lmforge.data.clean import Examples
from lmforge.errors import DataError


@dataclass
class Splits:
    train: Examples
    validation: Examples
    test: Examples


def _cut(n: int, fraction: float) -> int:
    return 0 if fraction <= 0 else max(1, round(n * fraction))


def split_stratified(examples: Examples, *, validation_fraction: float = 0.1,
                     test_fraction: float = 0.2, seed: int = 0, path: Any = "") -> Splits:
    """Test first from everything, then validation from the rest; per class when single-label."""
    rng = random.Random(seed)
    if examples.task == "single":
        groups: dict[str, list[int]] = defaultdict(list)
        for i, label in enumerate(examples.targets):
            groups[label].append(i)
        held = int(test_fraction > 0) + int(validation_fraction > 0)
        need = held + 1
        for label, idx in sorted(groups.items()):
            if held and len(idx) < need:
                names = " and ".join(n for n, f in (("validation", validation_fraction),
                                                    ("test", test_fraction)) if f > 0)
                raise DataError(
                    f"{path or examples.source}: class '{label}' has {len(idx)} example"
                    f"{'s' if len(idx) != 1 else ''}; a stratified split into train and {names} "
                    f"needs at least {need} per class. Add examples of '{label}', remove it, or "
                    "pass separate --validation/--test files.")
        parts: dict[str, list[int]] = {"train": [], "validation": [], "test": []}
        for _label, idx in sorted(groups.items()):
            idx = idx[:]
            rng.shuffle(idx)
            n_test = min(_cut(len(idx), test_fraction), len(idx) - held)
            rest = idx[n_test:]
            n_val = min(_cut(len(idx), validation_fraction), len(rest) - 1)
            parts["test"] += idx[:n_test]
            parts["validation"] += rest[:n_val]
            parts["train"] += rest[n_val:]
    else:
        order = list(range(len(examples)))
        rng.shuffle(order)
        n_test = _cut(len(order), test_fraction)
        n_val = _cut(len(order), validation_fraction)
        if len(order) - n_test - n_val < 1:
            raise DataError(f"{path or examples.source}: {len(order)} examples are too few to "
                            "split into train, validation and test. Add data or pass "
                            "separate --validation/--test files.")
        parts = {"test": order[:n_test], "validation": order[n_test:n_test + n_val],
                 "train": order[n_test + n_val:]}
    for name in parts:
        rng.shuffle(parts[name])
    return Splits(**{name: examples.subset(idx) for name, idx in parts.items()})


def find_leakage(splits: dict[str, Examples]) -> dict[str, int]:
    """Identical (cleaned) texts shared by each pair of named splits; nonzero pairs only."""
    sets = {name: set(part.texts) for name, part in splits.items()}
    out = {}
    for a, b in combinations(sets, 2):
        shared = len(sets[a] & sets[b])
        if shared:
            out[f"{a}/{b}"] = shared
    return out


def expected_sizes(n: int, fraction: float) -> int:
    return math.floor(n * fraction)
