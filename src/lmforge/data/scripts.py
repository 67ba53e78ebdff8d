"""The Unicode script of letters (Latin, Han, Cyrillic, ...), from character names.

Python's ``unicodedata`` has no script property, but a letter's name starts with
its script for every script we meet in practice ("LATIN SMALL LETTER A",
"CYRILLIC CAPITAL LETTER ZHE", "CJK UNIFIED IDEOGRAPH-4E2D"). Only letters count:
digits, punctuation and emoji say nothing about the language of a text.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Sequence

# first word(s) of a character name -> script; names not listed keep their first word
NAME_PREFIXES = (
    ("CJK", "Han"), ("HIRAGANA", "Hiragana"), ("KATAKANA", "Katakana"), ("HANGUL", "Hangul"),
    ("LATIN", "Latin"), ("CYRILLIC", "Cyrillic"), ("GREEK", "Greek"), ("ARABIC", "Arabic"),
    ("HEBREW", "Hebrew"), ("DEVANAGARI", "Devanagari"), ("THAI", "Thai"), ("BENGALI", "Bengali"),
    ("TAMIL", "Tamil"), ("ARMENIAN", "Armenian"), ("GEORGIAN", "Georgian"),
    ("ETHIOPIC", "Ethiopic"), ("BOPOMOFO", "Bopomofo"),
)
# scripts whose texts need no spaces between words: word n-grams do not work on them
CJK_SCRIPTS = frozenset({"Han", "Hiragana", "Katakana", "Hangul", "Bopomofo"})
SAMPLE_TEXTS = 2000  # the share of CJK letters is stable long before the whole file


@functools.lru_cache(maxsize=65536)
def script_of(ch: str) -> str | None:
    """The script of a letter, or None for anything that is not a letter."""
    if not ch.isalpha():
        return None
    if ch.isascii():
        return "Latin"
    name = unicodedata.name(ch, "")
    for prefix, script in NAME_PREFIXES:
        if name.startswith(prefix):
            return script
    return name.split(" ")[0].title() if name else "Unknown"


def letter_scripts(text: str) -> Counter[str]:
    """Letters per script in one text."""
    counts: Counter[str] = Counter()
    for ch in text:
        script = script_of(ch)
        if script is not None:
            counts[script] += 1
    return counts


def main_script(text: str) -> str | None:
    """The script most of a text's letters are in (None: no letters at all)."""
    counts = letter_scripts(text)
    return counts.most_common(1)[0][0] if counts else None


def cjk_share(texts: Sequence[str], sample: int = SAMPLE_TEXTS) -> float:
    """Share of letters that are Chinese, Japanese or Korean, over ``sample`` texts spread
    evenly through ``texts`` (a file sorted by language would fool the first N)."""
    step = max(1, len(texts) // sample)
    cjk = total = 0
    for text in texts[::step]:
        for script, n in letter_scripts(text).items():
            total += n
            if script in CJK_SCRIPTS:
                cjk += n
    return cjk / total if total else 0.0
