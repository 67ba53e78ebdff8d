"""Findings about token-classification data (``--task tokens``): pure functions over the
sentences ``data.conll`` reads.

Each check returns a ``checks.Finding`` (or None) whose examples name file lines: the line
of the token at fault (CoNLL), or of the sentence (JSONL). ``token_train_warnings`` is the
quick part that ``lmforge train --task tokens`` runs on the numbers it has already computed
(the BIO repair counts, the splits, the encoded rows).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from lmforge.data.conll import BIO, CHAR, NO_BEGIN, TYPE_SWITCH, BioError, Sentence, entities_of
from lmforge.data.split import find_leaks
from lmforge.inspect.checks import (
    DUPLICATE_SHARE,
    EXAMPLE_CHARS,
    MAX_EXAMPLES,
    UNKNOWN_TEXT_SHARE,
    Finding,
)

RARE_TAG = 5  # a tag seen fewer times is barely learnt, and its scores are noise
FEW_SENTENCES = 20
WINDOWED_SHARE = 0.5  # train notes when this share of training sentences is read as windows
CONTEXT_TOKENS = 6  # tokens shown on each side of the token a finding is about


def counted(n: int, word: str, plural: str | None = None) -> str:
    """'1 sentence', '3 sentences'."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def sentence_text(sentence: Sentence, unit: str) -> str:
    text = ("" if unit == CHAR else " ").join(sentence.tokens)
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def token_in_context(sentence: Sentence, i: int, unit: str) -> str:
    """The sentence around token ``i``, the token in brackets: 'left the [York] office'."""
    sep = "" if unit == CHAR else " "
    start, end = max(0, i - CONTEXT_TOKENS), min(len(sentence.tokens), i + CONTEXT_TOKENS + 1)
    shown = [*sentence.tokens[start:i], f"[{sentence.tokens[i]}]", *sentence.tokens[i + 1:end]]
    return ("… " if start else "") + sep.join(shown) + (" …" if end < len(sentence.tokens) else "")


def sentence_example(sentence: Sentence, unit: str, **extra: Any) -> dict[str, Any]:
    return {"row": sentence.line, "text": sentence_text(sentence, unit), "label": "", **extra}


# ------------------------------------------------------------------ counts


def tag_counts(sentences: Sequence[Sentence]) -> dict[str, int]:
    """Tokens per tag, most frequent first."""
    counts = Counter(tag for s in sentences for tag in s.tags)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def entity_counts(sentences: Sequence[Sentence]) -> dict[str, int]:
    """Entities per type (BIO tags, read like conlleval), most frequent first."""
    counts = Counter(kind for s in sentences for kind, _, _ in entities_of(s.tags))
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def looks_like_iob1(errors: Sequence[BioError], n_entities: int) -> bool:
    """Most entities start with I- after O: the file is IOB1 (I- everywhere, B- only between
    two entities of one type), which the repair converts, rather than annotation slips."""
    starts = sum(e.kind == NO_BEGIN for e in errors)
    return n_entities > 0 and starts >= 0.5 * n_entities


# ------------------------------------------------------------------ checks


def check_size(sentences: Sequence[Sentence]) -> Finding | None:
    usable = sum(1 for s in sentences if s.tokens)
    if usable >= FEW_SENTENCES:
        return None
    return Finding(
        "too_few_sentences", "warning", usable,
        f"only {usable} sentence{'s' if usable != 1 else ''}: too few to split into "
        "train/validation/test and to learn from.",
        "Add tagged sentences: hundreds for a useful model, thousands for rare entity types.",
        [])


def check_bio_errors(sentences: Sequence[Sentence], errors: Sequence[BioError], unit: str,
                     n_entities: int) -> Finding | None:
    """``I-X`` tags that do not continue an ``X`` entity (``data.conll.bio_errors``, before
    the repair): after O or at a sentence start, or right after another type."""
    if not errors:
        return None
    kinds = Counter(e.kind for e in errors)
    iob1 = looks_like_iob1(errors, n_entities)
    shown = []
    for kind in (NO_BEGIN, TYPE_SWITCH):  # a few of each kind
        for e in [x for x in errors if x.kind == kind][:3]:
            sentence = sentences[e.sentence]
            shown.append({"row": sentence.line_of(e.token),
                          "text": token_in_context(sentence, e.token, unit),
                          "label": f"{e.tag} -> B-{e.tag[2:]}",
                          "after": e.previous or "(sentence start)", "kind": kind})
    summary = (f"{counted(len(errors), 'BIO error')}: {counted(kinds[NO_BEGIN], 'I- tag')} "
               "without a B- (after O or at a sentence start), "
               f"{counted(kinds[TYPE_SWITCH], 'type switch', 'type switches')} (I-X right after "
               "a tag of another type). `lmforge train` repairs each to B-X, starting a new "
               "entity, and counts them.")
    if iob1:
        suggestion = ("Most entities start with I-: the file is IOB1, and the repair converts it "
                      "to IOB2 (B- on every entity start). Nothing to do.")
    else:
        suggestion = ("Check each line: an I- after O is usually a missing B-, and the repair "
                      "is right; a type switch (B-PER then I-LOC) is usually one entity with a "
                      "wrong type, which the repair splits into two. Fix the tag in the file "
                      "where the repair guesses wrong.")
    return Finding("bio_errors", "info" if iob1 else "warning", len(errors), summary, suggestion,
                   shown[:MAX_EXAMPLES + 1])


def check_empty(sentences: Sequence[Sentence], unit: str) -> Finding | None:
    empty = [s for s in sentences if not s.tokens]
    if not empty:
        return None
    return Finding(
        "empty_sentences", "warning", len(empty),
        f"{counted(len(empty), 'sentence')} with no tokens; `lmforge train` stops at the first one.",
        "Delete those lines (a sentence needs at least one token).",
        [sentence_example(s, unit) for s in empty[:MAX_EXAMPLES]])


def check_duplicates(sentences: Sequence[Sentence], unit: str) -> list[Finding]:
    """Sentences with the same tokens: with the same tags (copies), or with other tags (the
    same sentence annotated two ways)."""
    groups: dict[tuple[str, ...], list[Sentence]] = defaultdict(list)
    for s in sentences:
        if s.tokens:
            groups[tuple(s.tokens)].append(s)
    repeated = [g for g in groups.values() if len(g) > 1]
    conflicts = [g for g in repeated if len({tuple(s.tags) for s in g}) > 1]
    copies = [g for g in repeated if len({tuple(s.tags) for s in g}) == 1]
    out = []
    if conflicts:
        n = sum(len(g) for g in conflicts)
        shown = []
        for i, group in enumerate(conflicts[:3]):
            for s in group[:3]:
                differs = [j for j in range(len(s.tokens))
                           if len({g.tags[j] for g in group}) > 1] if s.tags else []
                label = ", ".join(f"{s.tokens[j]}/{s.tags[j]}" for j in differs[:3])
                shown.append({**sentence_example(s, unit, group=i + 1), "label": label})
        out.append(Finding(
            "conflicting_tags", "warning", n,
            f"{counted(len(conflicts), 'sentence')} with different tags ({n} copies): the same "
            "tokens annotated two ways teach the model both.",
            "Decide the right tags of each sentence and fix the other copies (or keep one "
            "copy); the label column shows the tokens tagged differently.",
            shown[:MAX_EXAMPLES + 1]))
    if copies:
        extra = sum(len(g) - 1 for g in copies)
        share = extra / max(1, len(sentences))
        shown = [sentence_example(s, unit, group=i + 1)
                 for i, g in enumerate(copies[:3]) for s in g[:2]]
        out.append(Finding(
            "duplicate_sentences", "warning" if share >= DUPLICATE_SHARE else "info", extra,
            f"{counted(extra, 'copy', 'copies')} of an earlier sentence with the same tags "
            f"({counted(len(copies), 'sentence')} repeated; {share:.1%} of the file); `lmforge "
            "train` keeps every copy.",
            "Copies weigh more in training and, in a random split, sit on both sides (optimistic "
            "test scores). Delete them unless they are meant to repeat (short headings, "
            "datelines).", shown))
    return out


def _texts(sentences: Sequence[Sentence], unit: str) -> list[str]:
    sep = "" if unit == CHAR else " "
    return [sep.join(s.tokens) for s in sentences]


def check_leakage(data: Sequence[Sentence], test: Sequence[Sentence], test_name: str,
                  unit: str) -> Finding | None:
    """Sentences of ``test`` also in ``data``, identical or near-duplicate (the definition
    ``lmforge train`` uses for texts: ``data.split.find_leaks``, on the tokens joined)."""
    leaks = find_leaks(_texts(data, unit), _texts(test, unit))
    if not leaks:
        return None
    exact = [x for x in leaks if x.kind == "identical"]
    near = [x for x in leaks if x.kind != "identical"]
    shown = [sentence_example(test[x.second], unit, data_row=data[x.first].line, kind=x.kind)
             for group in (exact, near) for x in group[:3]]
    return Finding(
        "leakage", "warning", len(leaks),
        f"{counted(len(exact), 'sentence')} of {test_name} identical to sentences of the "
        f"training data, and {len(near)} more that differ only in case, punctuation or "
        "spacing: scores on it will be optimistic.",
        "Remove them from one of the files (usually the training file) before training.",
        shown[:MAX_EXAMPLES])


def check_unseen_tags(data_counts: dict[str, int], test: Sequence[Sentence], test_name: str,
                      unit: str) -> Finding | None:
    unseen: dict[str, list[tuple[Sentence, int]]] = defaultdict(list)
    for s in test:
        for i, tag in enumerate(s.tags):
            if tag not in data_counts:
                unseen[tag].append((s, i))
    if not unseen:
        return None
    n = sum(len(v) for v in unseen.values())
    shown = [{"row": s.line_of(i), "text": token_in_context(s, i, unit), "label": tag}
             for tag, found in unseen.items() for s, i in found[:2]]
    return Finding(
        "unseen_tags", "warning", n,
        f"{counted(n, 'token')} of {test_name} with tags the training data never has: "
        + ", ".join(f"'{t}' ({len(v)})" for t, v in unseen.items()) + "; the model cannot "
        "predict them, so each counts as an error.",
        "Add training sentences with these tags, or map them to tags the training data uses.",
        shown[:MAX_EXAMPLES])


def check_rare_tags(sentences: Sequence[Sentence], counts: dict[str, int], scheme: str,
                    unit: str) -> Finding | None:
    rare = {t: n for t, n in counts.items() if n < RARE_TAG}
    if not rare:
        return None
    shown = []
    for tag in rare:
        where = next((s, i) for s in sentences for i, t in enumerate(s.tags) if t == tag)
        shown.append({"row": where[0].line_of(where[1]),
                      "text": token_in_context(where[0], where[1], unit), "label": tag,
                      "count": rare[tag]})
    what = " (B-X counts the entities of type X)" if scheme == BIO else ""
    return Finding(
        "rare_tags", "warning", len(rare),
        f"{counted(len(rare), 'tag')} seen fewer than {RARE_TAG} times{what}: "
        + ", ".join(f"'{t}' ({n})" for t, n in rare.items()) + ". The model barely learns them "
        "and their scores are noise.",
        "Tag more sentences with them, or merge them into a related tag (or O) if they are "
        "typos of another tag.", shown[:MAX_EXAMPLES])


def check_windows(sentences: Sequence[Sentence], words: Sequence[int], subwords: Sequence[int],
                  windows: Sequence[int], max_length: int, tokenizer_name: str,
                  unit: str) -> Finding | None:
    """Sentences over ``max_length`` sub-words: read as windows of whole tokens, never cut."""
    over = [(n, w, k, s) for n, w, k, s in zip(subwords, words, windows, sentences, strict=True)
            if k > 1]
    if not over:
        return None
    share = len(over) / max(1, len(sentences))
    over.sort(key=lambda x: -x[0])
    longest = over[0][0]
    return Finding(
        "long_sentences", "warning" if share >= WINDOWED_SHARE else "info", len(over),
        f"{len(over)} of {counted(len(sentences), 'sentence')} ({share:.1%}) longer than {max_length} "
        f"sub-word tokens ({tokenizer_name}, special tokens included): they are read as "
        f"{sum(x[2] for x in over)} windows of whole tokens (neighbours share a quarter), "
        "never cut; each token is tagged by the window where it has the most context.",
        (f"Most sentences are split: raise --max-length (the longest is {longest} sub-words; "
         "time grows with it) so a token sees the whole sentence." if share >= WINDOWED_SHARE
         else f"Nothing is lost. Raise --max-length to {longest} if every sentence should be "
         "read in one piece (time grows with it)."),
        [sentence_example(s, unit, words=w, tokens=n, windows=k)
         for n, w, k, s in over[:MAX_EXAMPLES]])


def check_cut_tokens(cut: Sequence[tuple[Sentence, int, int]], budget: int,
                     unit: str) -> Finding | None:
    """Tokens with more sub-words than a window holds: their tail sub-words are dropped (the
    only cut there is; the tag is read from the sub-words kept)."""
    if not cut:
        return None
    return Finding(
        "tokens_over_a_window", "warning", len(cut),
        f"{counted(len(cut), 'token')} with more sub-words than a window holds ({budget}): "
        "the first "
        f"{budget} sub-words are read and the rest dropped.",
        "Raise --max-length, or check these tokens: often a URL or a whole line pasted as one "
        "token, which should be split.",
        [{"row": s.line_of(i), "text": token_in_context(s, i, unit), "label": "",
          "subwords": n} for s, i, n in cut[:MAX_EXAMPLES]])


def check_unknown(sentences: Sequence[Sentence], unknown: Sequence[tuple[int, int]],
                  n_tokens: int, tokenizer_name: str, unit: str) -> Finding | None:
    """Tokens with an unknown sub-word (``data.token_windows.is_unknown``); ``unknown``:
    (sentence index, token index) of each."""
    if not unknown:
        return None
    share = len(unknown) / max(1, n_tokens)
    by_word: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for s, i in unknown:
        by_word[sentences[s].tokens[i]].append((s, i))
    frequent = sorted(by_word.items(), key=lambda kv: -len(kv[1]))
    shown = [{"row": sentences[where[0][0]].line_of(where[0][1]),
              "text": token_in_context(sentences[where[0][0]], where[0][1], unit),
              "label": sentences[where[0][0]].tags[where[0][1]] if sentences[where[0][0]].tags
              else "", "token": word, "count": len(where)} for word, where in frequent]
    return Finding(
        "unknown_tokens", "warning" if share >= UNKNOWN_TEXT_SHARE else "info", len(unknown),
        f"{len(unknown)} of {counted(n_tokens, 'token')} ({share:.2%}; {len(by_word)} distinct) "
        "read as [UNK], wholly or partly, by the {tokenizer_name} tokenizer: the model sees no more "
        "than 'an unknown word' there.",
        "Use a model pre-trained on this language: `--model multilingual-e5-small` reads about "
        "100 (Chinese, Japanese and Korean included; `--model default` picks it when most "
        "letters are CJK), or --model DIR." if share >= UNKNOWN_TEXT_SHARE else
        "A few rare symbols are harmless; if the listed tokens matter (names, a script), choose "
        "a model whose vocabulary has them.", shown[:MAX_EXAMPLES])


# ------------------------------------------------------------------ quick checks in train


def token_train_warnings(data: dict[str, Any], parts: dict[str, Sequence[Sentence]],
                         encoding: dict[str, dict[str, int]], max_length: int,
                         source: str) -> list[str]:
    """Warnings ``lmforge train --task tokens`` logs before it fits anything: from the BIO
    repair counts (``data``: ``TokenData.as_dict()``), the split sentences (``parts``) and
    the encoded rows' summaries (``encoding``). Empty when all is well."""
    out = []
    train = parts.get("train") or []
    see = f"`lmforge inspect --data {source} --task tokens` lists them with their lines."
    kinds = data.get("bio_repair_kinds") or {}
    repaired = data.get("bio_repaired") or 0
    if repaired and data.get("scheme") == BIO:
        n_entities = sum(len(entities_of(s.tags)) for part in parts.values() for s in part)
        if kinds.get(NO_BEGIN, 0) < 0.5 * n_entities:  # IOB1 files are converted silently
            out.append(f"{counted(repaired, 'BIO tag')} repaired to B- "
                       f"({counted(kinds.get(NO_BEGIN, 0), 'I- tag')} without a B-, "
                       f"{counted(kinds.get(TYPE_SWITCH, 0), 'type switch', 'type switches')}); "
                       f"check they are slips and not wrong types. {see}")
    counts = tag_counts(train)
    rare = {t: n for t, n in counts.items() if n < RARE_TAG}
    if rare:
        out.append(f"tags seen fewer than {RARE_TAG} times in the training split: "
                   + ", ".join(f"'{t}' ({n})" for t, n in list(rare.items())[:8])
                   + ": the model barely learns them and their scores are noise. Tag more "
                   "sentences with them or merge them.")
    for name in ("validation", "test"):
        part = parts.get(name) or []
        unseen = sum(t not in counts for s in part for t in s.tags)
        if unseen:
            out.append(f"{name}: {counted(unseen, 'token')} with tags never seen in training; "
                       "they count as errors.")
        leaks = find_leaks(_texts(train, data.get("unit", "word")),
                           _texts(part, data.get("unit", "word")))
        if leaks:
            out.append(f"leakage: {counted(len(leaks), 'sentence')} of the {name} split also "
                       f"in the train split (identical, or differing only in case, punctuation or "
                       f"spacing): scores on {name} will be optimistic. Remove the copies. {see}")
    rows = encoding.get("train") or {}
    if rows.get("tokens_cut"):
        out.append(f"{rows['tokens_cut']} training tokens have more sub-words than a window of "
                   f"--max-length {max_length} holds; their tail sub-words are dropped. Raise "
                   "--max-length or split those tokens.")
    if train and rows.get("windowed", 0) / len(train) >= WINDOWED_SHARE:
        out.append(f"{rows['windowed']} of {len(train)} training sentences are longer than "
                   f"--max-length {max_length} sub-words and are read as windows (never cut): "
                   "raise --max-length so a token sees the whole sentence.")
    if rows.get("tokens") and rows.get("unknown_tokens", 0) / rows["tokens"] >= UNKNOWN_TEXT_SHARE:
        out.append(f"{rows['unknown_tokens']} of {rows['tokens']} training tokens are read as "
                   "[UNK] by this model's tokenizer: the model cannot read them. Use a model "
                   "pre-trained on this language: --model multilingual-e5-small reads about 100, "
                   "or --model DIR.")
    return out
