"""Texts to words and back: whitespace for most scripts, ``jieba`` for Chinese.

EDA edits words, so Chinese (no spaces between words) is segmented first and
joined back without spaces; a space is kept only between two Latin/digit words.
"""

from __future__ import annotations

import re

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
WORD_EDGE = re.compile(r"[0-9A-Za-z]")

# EDA's English stop words (Wei & Zou's list, shortened) and common Chinese function words:
# never replaced by synonyms and never offered as one.
STOP_WORDS = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she
her hers herself it its itself they them their theirs themselves what which who whom this that
these those am is are was were be been being have has had having do does did doing a an the and
but if or because as until while of at by for with about against between into through during
before after above below to from up down in out on off over under again further then once here
there when where why how all any both each few more most other some such no nor not only own same
so than too very s t can will just don should now
的 了 和 是 在 我 有 也 就 不 人 都 一 这 那 你 他 她 它 们 着 吗 呢 吧 啊 与 及 或 而 被 把 给
""".split())


def is_cjk(text: str) -> bool:
    return bool(CJK.search(text))


def split_words(text: str) -> list[str]:
    """Words of ``text``: jieba segments when it holds Chinese characters, else whitespace."""
    if not is_cjk(text):
        return text.split()
    import jieba

    jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO on every first call
    return [w for w in jieba.lcut(text) if w.strip()]


def join_words(words: list[str], cjk: bool) -> str:
    if not cjk:
        return " ".join(words)
    out = ""
    for word in words:
        if out and WORD_EDGE.match(word[0]) and WORD_EDGE.match(out[-1]):
            out += " "
        out += word
    return out
