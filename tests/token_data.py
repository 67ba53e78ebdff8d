"""Tiny token-classification data sets (named entities in BIO, part-of-speech tags,
character-level Chinese) written as CoNLL or JSONL files, for the --task tokens tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

PEOPLE = [["John", "Smith"], ["Mary"], ["Ann", "Lee"], ["Peter"], ["Li", "Wei"]]
PLACES = [["Paris"], ["New", "York"], ["Berlin"], ["Tokyo"], ["Cape", "Town"]]
ORGS = [["Acme", "Corp"], ["Globex"], ["Initech"], ["Red", "Cross"]]
VERBS = ["visited", "left", "joined", "met", "saw"]
FILLER = ["today", "again", "quietly", "last", "week", "with", "friends"]
ZH_PEOPLE, ZH_PLACES = ["张伟", "李娜", "王芳"], ["北京", "上海", "广州"]


def _entity(words: list[str], kind: str) -> list[tuple[str, str]]:
    return [(w, ("B-" if i == 0 else "I-") + kind) for i, w in enumerate(words)]


def ner_sentences(n: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    """'PERSON verb PLACE|ORG filler...' sentences, tagged in BIO."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sentence = _entity(rng.choice(PEOPLE), "PER") + [(rng.choice(VERBS), "O")]
        if rng.random() < 0.5:
            sentence += _entity(rng.choice(PLACES), "LOC")
        else:
            sentence += _entity(rng.choice(ORGS), "ORG")
        sentence += [(rng.choice(FILLER), "O") for _ in range(rng.randint(0, 6))] + [(".", "O")]
        out.append(sentence)
    return out


def pos_sentences(n: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    rng = random.Random(seed)
    return [[(rng.choice(["the", "a"]), "DET"), (rng.choice(["cat", "dog", "man"]), "NOUN"),
             (rng.choice(VERBS), "VERB"), (rng.choice(["home", "town"]), "NOUN"), (".", "PUNCT")]
            for _ in range(n)]


def zh_sentences(n: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    """Character-level Chinese NER: '张伟去北京了。'."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        person, place = rng.choice(ZH_PEOPLE), rng.choice(ZH_PLACES)
        sentence = _entity(list(person), "PER") + [("去", "O")] + _entity(list(place), "LOC")
        out.append(sentence + [("了", "O"), ("。", "O")])
    return out


def zh_pos_sentences(n: int, seed: int = 0) -> list[list[tuple[str, str]]]:
    """Word-level Chinese part of speech (People's Daily tags): '张伟 去 北京 大学 了 。'."""
    rng = random.Random(seed)
    return [[(rng.choice(ZH_PEOPLE), "nr"), (rng.choice(["去", "到", "看"]), "v"),
             (rng.choice(ZH_PLACES), "ns"), (rng.choice(["大学", "公司", "书店"]), "n"),
             ("了", "u"), ("。", "w")] for _ in range(n)]


def write_conll(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    path.write_text("".join("".join(f"{t}\t{g}\n" for t, g in s) + "\n" for s in sentences),
                    encoding="utf-8")
    return path


def write_jsonl(path: Path, sentences: list[list[tuple[str, str]]]) -> Path:
    path.write_text("".join(json.dumps({"tokens": [t for t, _ in s], "tags": [g for _, g in s]},
                                       ensure_ascii=False) + "\n" for s in sentences),
                    encoding="utf-8")
    return path
