from __future__ import annotations

from collections import Counter

import pytest

from lmforge.data.clean import Examples
from lmforge.data.split import Splits, find_leakage, split_stratified
from lmforge.errors import ConfigError, DataError


def single(counts: dict[str, int]) -> Examples:
    labels = [label for label, n in counts.items() for _ in range(n)]
    return Examples([f"t{i}" for i in range(len(labels))], labels, "single", "f.csv")


def sizes(splits: Splits) -> tuple[int, int, int]:
    return len(splits.train), len(splits.validation), len(splits.test)


def assert_partition(splits: Splits, examples: Examples) -> None:
    texts = splits.train.texts + splits.validation.texts + splits.test.texts
    assert sorted(texts) == sorted(examples.texts)  # every example once, none in two splits
    for part in (splits.train, splits.validation, splits.test):
        original = dict(zip(examples.texts, examples.targets, strict=True))
        assert [original[t] for t in part.texts] == part.targets


def test_stratified_split_keeps_proportions_and_is_disjoint() -> None:
    examples = single({"a": 700, "b": 300})
    splits = split_stratified(examples, seed=0)
    assert sizes(splits) == (700, 100, 200)
    assert Counter(splits.test.targets) == {"a": 140, "b": 60}
    assert Counter(splits.validation.targets) == {"a": 70, "b": 30}
    assert_partition(splits, examples)


def test_same_seed_same_split_other_seed_other_split() -> None:
    examples = single({"a": 50, "b": 50})
    one, again = split_stratified(examples, seed=3), split_stratified(examples, seed=3)
    assert (one.train.texts, one.test.texts) == (again.train.texts, again.test.texts)
    assert split_stratified(examples, seed=4).test.texts != one.test.texts


def test_totals_round_sensibly_across_small_classes() -> None:
    # per-class rounding would give 2+2+2 = 6 test examples; the total should be round(4.5)
    examples = single({"a": 15, "b": 15, "c": 15})
    splits = split_stratified(examples, validation_fraction=0.1, test_fraction=0.1)
    assert sizes(splits) == (35, 5, 5)
    for part in (splits.validation, splits.test):
        assert set(part.targets) == {"a", "b", "c"}  # every class in every held-out split
    assert_partition(splits, examples)


def test_the_smallest_classes_still_get_one_of_each() -> None:
    examples = single({"big": 100, "x": 3, "y": 3})
    splits = split_stratified(examples)
    assert Counter(splits.test.targets) == {"big": 19, "x": 1, "y": 1}
    assert Counter(splits.validation.targets) == {"big": 9, "x": 1, "y": 1}
    assert Counter(splits.train.targets) == {"big": 72, "x": 1, "y": 1}


def test_zero_fractions_give_empty_splits() -> None:
    examples = single({"a": 10, "b": 2})
    splits = split_stratified(examples, validation_fraction=0, test_fraction=0.2)
    assert sizes(splits) == (10, 0, 2) and Counter(splits.test.targets) == {"a": 1, "b": 1}
    splits = split_stratified(examples, validation_fraction=0, test_fraction=0)
    assert sizes(splits) == (12, 0, 0)


def test_class_with_one_example_cannot_be_stratified() -> None:
    examples = Examples(["a", "b", "c", "d"], ["x", "x", "x", "rare"], "single")
    with pytest.raises(DataError, match=r"^f.csv: class 'rare' has 1 example; a stratified "
                       r"train/validation/test split needs at least 3 per class. Add examples of "
                       r"'rare', remove it, or pass separate --validation/--test files.$"):
        split_stratified(examples, path="f.csv")
    with pytest.raises(DataError, match=r"^f.csv: class 'rare' has 1 example; a stratified "
                       r"train/test split needs at least 2 per class."):
        split_stratified(examples, validation_fraction=0, path="f.csv")
    with pytest.raises(DataError, match=r"^f.csv: 2 classes have too few examples: 'r1' \(1\), 'r2' "
                       r"\(2\); a stratified train/validation/test split needs at least 3 per "
                       r"class. Add examples of them, remove them, or pass separate"):
        split_stratified(single({"big": 20, "r1": 1, "r2": 2}))
    assert sizes(split_stratified(examples, validation_fraction=0, test_fraction=0)) == (4, 0, 0)


def test_multi_label_and_regression_split_at_random() -> None:
    multi = Examples([f"t{i}" for i in range(50)], [("a",), ("a", "b")] * 25, "multi")
    splits = split_stratified(multi, seed=1)
    assert sizes(splits) == (35, 5, 10)
    assert_partition(splits, multi)
    reg = Examples([f"t{i}" for i in range(200)], [float(i) for i in range(200)], "regression")
    splits = split_stratified(reg, seed=1)
    assert sizes(splits) == (140, 20, 40)
    assert_partition(splits, reg)
    # quantile bins: the test split covers the whole range, about 4 per tenth
    assert Counter(int(t // 20) for t in splits.test.targets) == {b: 4 for b in range(10)}


def test_tiny_unstratified_sets() -> None:
    tiny = Examples(["a", "b", "c"], [1.0, 2.0, 3.0], "regression")
    assert sizes(split_stratified(tiny)) == (1, 1, 1)
    with pytest.raises(DataError, match=r"^f.csv: 2 examples are too few for a "
                       r"train/validation/test split. Add examples, or pass separate "):
        split_stratified(Examples(["a", "b"], [1.0, 2.0], "regression", "f.csv"))


def test_bad_fractions() -> None:
    with pytest.raises(ConfigError, match=r"^test_fraction must be at least 0 and below 1 \(got "
                       r"1.5\).$"):
        split_stratified(single({"a": 5}), test_fraction=1.5)
    with pytest.raises(ConfigError, match=r"validation_fraction \+ test_fraction must be below 1 "
                       r"\(got 1\), or nothing is left to train on"):
        split_stratified(single({"a": 5}), validation_fraction=0.5, test_fraction=0.5)


def test_leakage_is_counted_per_pair() -> None:
    a = Examples(["x", "y", "z", "z"], ["1"] * 4, "single")
    b = Examples(["y", "z", "w"], ["1"] * 3, "single")
    c = Examples(["q"], ["1"], "single")
    assert find_leakage({"train": a, "test": b, "validation": c}) == {"train/test": 2}
    assert find_leakage({"train": a, "validation": c}) == {}
