"""Explanations for people: coloured terminal text, a self-contained HTML page, JSON.

Colour means sign (green: pushed towards the target, red: away from it) and
strength (darker: larger |score|, relative to the largest |score| of that text, but
never less than ``MIN_SCALE`` logits: when nothing moved the logit, nothing is coloured
strongly).
The HTML page has no external resource at all (inline CSS, no script, no CDN), so
it opens offline and can be mailed as one file.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

# xterm-256 backgrounds, faint to strong
POSITIVE_BG = (194, 157, 120, 40)
NEGATIVE_BG = (224, 217, 210, 160)
RESET = "\x1b[0m"
MIN_SCALE = 0.05  # logits; about one point of probability near 0.5
CUT = " [...] "  # where truncation cut words out
LEVELS = len(POSITIVE_BG)


def strength(score: float, scale: float) -> float:
    """|score| / scale in [0, 1] (0 when every score is 0)."""
    return min(1.0, abs(score) / scale) if scale > 0 else 0.0


def _scale(scores: Sequence[float]) -> float:
    return max(MIN_SCALE, max((abs(s) for s in scores), default=0.0))


def _level(score: float, scale: float) -> int:
    """0 (uncoloured) .. LEVELS, by strength."""
    share = strength(score, scale)
    return 0 if share < 0.05 else min(LEVELS, 1 + int(share * LEVELS))


def _pieces(e: Any) -> list[tuple[str, int | None]]:
    """The text cut into (chunk, word number, or None for what lies between words). The words
    truncation dropped become one " [...] " chunk."""
    out: list[tuple[str, int | None]] = []
    dropped = list(getattr(e, "dropped_spans", []))

    def between(start: int, end: int) -> None:
        if start >= end:
            return
        if any(start <= s < end for s, _ in dropped):
            out.append((CUT, None))
        else:
            out.append((e.text[start:end], None))

    cursor = 0
    for i, (start, end) in enumerate(e.spans):
        between(cursor, start)
        out.append((e.text[start:end], i))
        cursor = max(cursor, end)
    between(cursor, len(e.text))
    return out


METHOD_WORDS = {"ig": "integrated gradients", "occlusion": "occlusion (each word left out)",
                "linear": "the linear model's own weights"}


def view_title(e: Any) -> str:
    """The question the view answers, in plain words: "Why the model said 'business'"."""
    if e.task == "regression":
        return f"Why the model predicted {e.predicted:.4f}"
    if getattr(e, "versus", None):
        return f"Why the model said '{e.target}' and not '{e.versus}'"
    if e.task == "multi":
        return f"Why the model gave the label '{e.target}'"
    return f"Why the model said '{e.target}'"


def plain_summary(e: Any) -> str:
    """One sentence: how sure the model was and what the colours mean."""
    if e.task == "regression":
        return "Green words pushed the prediction up, red words pushed it down."
    probs = e.probabilities or {}
    versus = getattr(e, "versus", None)
    if versus:
        return (f"It gave '{e.target}' {probs.get(e.target, 0):.0%} and '{versus}' "
                f"{probs.get(versus, 0):.0%}. Green words pushed it towards '{e.target}' rather "
                f"than '{versus}', red words the other way.")
    sure = f"It was {probs[e.target]:.0%} sure" if e.target in probs else "It decided"
    others = sorted(((p, k) for k, p in probs.items() if k != e.target), reverse=True)
    runner_up = f" (next: '{others[0][1]}', {others[0][0]:.0%})" if others and e.task == "single" \
        else ""
    not_predicted = ""
    if e.task == "single" and e.predicted != e.target:
        not_predicted = f" The model's answer was '{e.predicted}'; this explains '{e.target}'."
    return (f"{sure}{runner_up}. Green words pushed it towards '{e.target}', red words away "
            f"from it.{not_predicted}")


def details(e: Any) -> str:
    """The numbers behind the view: method, scores explained, completeness check."""
    versus = getattr(e, "versus", None)
    score_of = getattr(e, "score_of", "logit")
    what = (f"{score_of} of '{e.target}' minus that of '{versus}'" if versus
            else f"{score_of} of '{e.target}'" if e.task != "regression" else "the value")
    parts = [f"details: {METHOD_WORDS.get(e.method, e.method)}", f"{what} {e.target_logit:+.4f}"]
    if e.method == "ig":
        check = "ok" if e.converged else "OVER TOLERANCE (max steps reached)"
        parts += [f"all-[PAD] baseline {e.baseline_logit:+.4f}", f"{e.steps} steps",
                  f"completeness gap {e.completeness_gap:.2e} (relative {e.relative_gap:.2e}, "
                  f"{check})"]
    elif e.method == "linear":
        parts += [f"empty text {e.baseline_logit:+.4f}", "score = coefficient x tf-idf weight of "
                  "each n-gram, shared among its words",
                  f"completeness gap {e.completeness_gap:.2e}"]
    else:
        parts.append(f"score = drop in the {score_of} when the word is left out")
    if e.task != "regression" and e.probabilities:
        parts.append("probabilities " + ", ".join(f"{k} {v:.1%}"
                                                  for k, v in e.probabilities.items()))
    return "; ".join(parts)


def dropped_text(e: Any, limit: int = 80) -> str:
    """What truncation cut, as written in the text (spacing kept: '15,000', not '15 , 000'):
    the text from the first to the last dropped word, shortened in the middle."""
    spans = list(getattr(e, "dropped_spans", []))
    if not spans:
        return ""
    shown = " ".join(e.text[min(s for s, _ in spans):max(t for _, t in spans)].split())
    if len(shown) > limit:
        shown = shown[: limit // 2].rstrip() + " … " + shown[-(limit // 2):].lstrip()
    return f"'{shown}'"


def headline(e: Any) -> list[str]:
    """The title, the plain summary, the details line and the truncation note, one line
    each."""
    lines = [f"text #{e.index + 1}: {view_title(e)}", plain_summary(e), details(e)]
    if e.truncated:
        cut = (f"{len(e.dropped_words)} words were not read: {dropped_text(e)}"
               if e.dropped_words else "only part of a word was cut")
        lines.append(f"truncated: the text is longer than {e.max_length} tokens; the model read "
                     f"only part of it ({e.truncation}) and {cut}")
    return lines


def merged_words(e: Any) -> list[tuple[str, float, int]]:
    """(word, summed score, occurrences) per distinct word (case kept from its first
    occurrence, matched case-insensitively), largest |score| first: a word that occurs three
    times is one entry, its contributions added (they add up to the explained score)."""
    merged: dict[str, list[Any]] = {}
    for word, score in zip(e.words, e.scores, strict=True):
        entry = merged.setdefault(word.casefold(), [word, 0.0, 0])
        entry[1] += score
        entry[2] += 1
    return sorted(((w, sc, n) for w, sc, n in merged.values()), key=lambda x: -abs(x[1]))


def top_words(e: Any, n: int = 5) -> str:
    shown = [f"{w} {sc:+.3f}" + (f" (x{count}, summed)" if count > 1 else "")
             for w, sc, count in merged_words(e)[:n]]
    return "top words: " + ", ".join(shown)


def _ansi(chunk: str, bg: int, strong: bool) -> str:
    return f"\x1b[48;5;{bg}m\x1b[38;5;{255 if strong else 16}m{chunk}{RESET}"


LEGEND = ("legend: " + _ansi(" strong + ", POSITIVE_BG[-1], True) + " "
          + _ansi(" weak + ", POSITIVE_BG[0], False) + " " + _ansi(" weak - ", NEGATIVE_BG[0], False)
          + " " + _ansi(" strong - ", NEGATIVE_BG[-1], True)
          + "  (+ pushed towards the explained label, - away from it)")


def format_terminal(e: Any, color: bool) -> str:
    """One explanation as text; with ``color``, words get ANSI backgrounds by sign and strength,
    otherwise each word is followed by its score in brackets."""
    scale = _scale(e.scores)
    body = []
    for chunk, word in _pieces(e):
        if word is None:
            body.append(chunk)
            continue
        score = e.scores[word]
        if not color:
            body.append(f"{chunk}[{score:+.3f}]")
            continue
        level = _level(score, scale)
        if level == 0:
            body.append(chunk)
        else:
            bg = (POSITIVE_BG if score > 0 else NEGATIVE_BG)[level - 1]
            body.append(_ansi(chunk, bg, level == LEVELS))
    lines = headline(e) + ["".join(body), top_words(e)]
    if color:
        lines.append(LEGEND)
    return "\n".join(lines) + "\n"


# ---- HTML --------------------------------------------------------------------------------

CSS = """
body { margin: 0; font: 16px/1.6 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: #1f2328; background: #f6f8fa; }
main { max-width: 860px; margin: 24px auto; padding: 24px 32px; background: #fff;
       border: 1px solid #d0d7de; border-radius: 12px; }
h1 { font-size: 22px; margin: 0 0 6px; }
h2 { font-size: 17px; margin: 0 0 6px; }
section { border-top: 1px solid #d0d7de; padding: 16px 0 8px; }
.meta { color: #656d76; font-size: 14px; margin: 2px 0; }
.warn { color: #9a6700; background: #fff8c5; border: 1px solid #d4a72c55; border-radius: 6px;
        padding: 6px 10px; font-size: 14px; margin: 8px 0; }
.text { font-size: 17px; margin: 12px 0; white-space: pre-wrap; }
.w { border-radius: 4px; padding: 1px 2px; }
.cut { color: #656d76; font-style: italic; }
table.probs { border-collapse: collapse; font-size: 14px; margin: 6px 0; }
table.probs td { padding: 2px 10px 2px 0; }
.bar { display: inline-block; height: 10px; background: #54aeff; border-radius: 5px; }
.legend { font-size: 13px; color: #656d76; margin: 10px 0 4px; }
.legend .w { display: inline-block; min-width: 56px; text-align: center; margin-right: 4px; }
"""


def _background(score: float, scale: float) -> str:
    share = strength(score, scale)
    rgb = "26,127,55" if score > 0 else "207,34,46"
    return f"rgba({rgb},{0.85 * share:.3f})"


def _html_section(e: Any) -> str:
    scale = _scale(e.scores)
    words = []
    for chunk, word in _pieces(e):
        if word is None:
            cls = ' class="cut"' if chunk == CUT else ""
            words.append(f"<span{cls}>{html.escape(chunk)}</span>" if cls else html.escape(chunk))
            continue
        score = e.scores[word]
        color = "#fff" if strength(score, scale) > 0.6 else "inherit"
        words.append(f'<span class="w" style="background:{_background(score, scale)};'
                     f'color:{color}" title="{score:+.4f}">{html.escape(chunk)}</span>')
    anchor = f"{e.index + 1}-{e.target}" + (f"-not-{e.versus}" if getattr(e, "versus", None)
                                            else "")
    parts = [f'<section id="text-{html.escape(anchor)}">',
             f"<h2>Text {e.index + 1}: {html.escape(view_title(e))}</h2>",
             f"<p>{html.escape(plain_summary(e))}</p>"]
    if e.task == "regression":
        parts.append(f'<p class="meta">Predicted value: <b>{e.predicted:.4f}</b></p>')
    else:
        shown = ", ".join(e.predicted) if isinstance(e.predicted, list) else e.predicted
        parts.append(f'<p class="meta">Predicted: <b>{html.escape(shown or "(none)")}</b></p>')
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{v:.1%}</td><td><span class=\"bar\" "
            f'style="width:{max(1, round(160 * v))}px"></span></td></tr>'
            for k, v in (e.probabilities or {}).items())
        parts.append(f'<table class="probs">{rows}</table>')
    for line in headline(e)[2:]:
        cls = "warn" if line.startswith("truncated") or "OVER TOLERANCE" in line else "meta"
        tag = "details" if line.startswith("details:") else "p"
        if tag == "details":
            parts.append(f'<details class="meta"><summary>details</summary>'
                         f'{html.escape(line.removeprefix("details: "))}</details>')
        else:
            parts.append(f'<p class="{cls}">{html.escape(line)}</p>')
    parts.append(f'<div class="text">{"".join(words)}</div>')
    parts.append(f'<p class="meta">{html.escape(top_words(e))}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _legend(words: str) -> str:
    """The colour legend above an HTML explanation, then ``words`` saying what they mean."""
    swatches = "".join(f'<span class="w" style="background:{_background(s, 1.0)};'
                       f'color:{"#fff" if abs(s) > 0.6 else "inherit"}">{name}</span>'
                       for s, name in ((-1.0, "strong &minus;"), (-0.4, "weak &minus;"),
                                       (0.4, "weak +"), (1.0, "strong +")))
    return f'<div class="legend">Legend: {swatches}{words}</div>'


def format_html(explanations: Sequence[Any], title: str = "Why the model decided") -> str:
    """One self-contained page: one section per explanation, a legend on top."""
    legend = _legend(" &mdash; green pushed the model towards the explained label, red away "
                     "from it; the stronger the colour, the larger the share of the largest score "
                     f"in that text (scores under {MIN_SCALE} logits stay pale). Hover a word for "
                     "its score.")
    sections = "\n".join(_html_section(e) for e in explanations)
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            f"<h1>{html.escape(title)}</h1>\n{legend}\n{sections}\n</main>\n</body>\n</html>\n")


# ---- token runs ----------------------------------------------------------------------------

# entity types in plain words (CoNLL, OntoNotes and People's Daily names); others: "a X entity"
TYPE_WORDS = {
    "PER": "a person", "PERSON": "a person", "LOC": "a place", "LOCATION": "a place",
    "GPE": "a place", "ORG": "an organisation", "ORGANIZATION": "an organisation",
    "ORGANISATION": "an organisation", "MISC": "a named thing of another kind",
    "DATE": "a date", "TIME": "a time", "MONEY": "an amount of money",
    "PERCENT": "a percentage", "NORP": "a nationality or group", "FAC": "a building or facility",
    "PRODUCT": "a product", "EVENT": "an event", "WORK_OF_ART": "a work of art", "LAW": "a law",
    "LANGUAGE": "a language", "QUANTITY": "a quantity", "ORDINAL": "an ordinal",
    "CARDINAL": "a number"}
TOP_CONTEXT = 5  # context words named in the plain sentence
NOTABLE = 0.005  # a probability change below this is not worth naming


def token_sentence(e: Any) -> str:
    """The explanation in plain words: "'Beijing' is a place (LOC, 0.97) mostly because of:
    'in' +0.21, 'city' +0.08"."""
    if e.entity:
        kind = TYPE_WORDS.get(e.target.upper(), f"a {e.target} entity")
        head = f"'{e.phrase}' is {kind} ({e.target}, {e.probability:.2f})"
    elif e.target == "O":
        head = f"'{e.phrase}' is outside every entity (O, {e.probability:.2f})"
    else:
        head = f"'{e.phrase}' is tagged {e.target} ({e.probability:.2f})"
    context = e.context()
    support = [(i, s) for i, s in context if s >= NOTABLE][:TOP_CONTEXT]
    against = [(i, s) for i, s in reversed(context) if s <= -NOTABLE][:2]
    if support:
        head += " mostly because of: " + ", ".join(f"'{e.words[i]}' {s:+.2f}" for i, s in support)
    elif context:
        own = "the entity's own words" if e.entity else "the word itself"
        head += f", from {own}: no other word adds {NOTABLE} or more"
    else:
        head += " (no other word to weigh)"
    if against:
        head += "; held back by: " + ", ".join(f"'{e.words[i]}' {s:+.2f}" for i, s in against)
    return head


def token_details(e: Any) -> str:
    what = "the entity's predicted tags" if e.entity else "the word's predicted tag"
    return (f"details: occlusion: each other word replaced by {e.mask_token}; score = drop in the "
            f"probability of {what} ({' '.join(e.target_tags)}, mean {e.probability:.4f}) when "
            "that word is masked")


def _token_chunks(e: Any) -> list[tuple[str, int | None]]:
    """The text cut into (chunk, word number or None for what lies between words)."""
    out: list[tuple[str, int | None]] = []
    cursor = 0
    for i, (start, end) in enumerate(e.spans):
        if start > cursor:
            out.append((e.text[cursor:start], None))
        out.append((e.text[start:end], i))
        cursor = max(cursor, end)
    if cursor < len(e.text):
        out.append((e.text[cursor:], None))
    return out


def format_token_terminal(e: Any, color: bool, number: str = "") -> str:
    """One token-run explanation: the plain sentence, the text with the explained words in
    brackets and the others coloured by score (or followed by it, without colour), the
    details line."""
    scores = [s for s in e.scores if s is not None]
    scale = _scale(scores)
    body = []
    for chunk, word in _token_chunks(e):
        if word is None:
            body.append(chunk)
            continue
        if word == e.start:
            body.append("[")
        score = e.scores[word]
        if score is None or (not color and abs(score) < NOTABLE):
            body.append(chunk)
        elif not color:
            body.append(f"{chunk}[{score:+.2f}]")
        else:
            level = _level(score, scale)
            bg = (POSITIVE_BG if score > 0 else NEGATIVE_BG)[max(0, level - 1)]
            body.append(_ansi(chunk, bg, level == LEVELS) if level else chunk)
        if word == e.end - 1:
            body.append(f"]{e.target}")
    title = f"text #{e.index + 1}" + (f", {number}" if number else "")
    lines = [f"{title}: {token_sentence(e)}", "".join(body), token_details(e)]
    if color:
        lines.append(LEGEND.replace("the explained label", "the explained tag"))
    return "\n".join(lines) + "\n"


TOKEN_CSS = """
.ent { border: 2px solid #0969da; border-radius: 5px; padding: 0 3px; }
.ent sub, .tagged sub { font-size: 11px; color: #0969da; font-weight: 600; margin-left: 2px; }
.tagged { border-bottom: 2px solid #0969da; }
h3 { font-size: 15px; margin: 14px 0 4px; font-weight: 600; }
"""


def _token_html_text(e: Any, weights: bool) -> str:
    """The text as HTML: with ``weights``, the explained words boxed and the others coloured
    by score; without, what the model found: each entity underlined with its type (BIO), or
    each word with its tag (plain tags)."""
    scores = [s for s in e.scores if s is not None]
    scale = _scale(scores)
    if weights:
        marks = {e.start: (e.target, e.end - 1)}
    elif e.scheme == "bio":
        from lmforge.data.conll import entities_of

        marks = {a: (kind, b - 1) for kind, a, b in entities_of(e.tags)}
    else:
        marks = {i: (tag, i) for i, tag in enumerate(e.tags)}
    css = "ent" if weights else "tagged"
    out: list[str] = []
    closing: dict[int, str] = {}
    for chunk, word in _token_chunks(e):
        if word is None:
            out.append(html.escape(chunk))
            continue
        if word in marks:
            label, last = marks[word]
            out.append(f'<span class="{css}" title="{html.escape(label)}">')
            closing[last] = label
        score = e.scores[word] if weights else None
        if score is None:
            out.append(html.escape(chunk))
        else:
            color = "#fff" if strength(score, scale) > 0.6 else "inherit"
            out.append(f'<span class="w" style="background:{_background(score, scale)};'
                       f'color:{color}" title="{score:+.4f}">{html.escape(chunk)}</span>')
        if word in closing:
            out.append(f"<sub>{html.escape(closing.pop(word))}</sub></span>")
    return "".join(out)


def format_token_html(explanations: Sequence[Any], title: str,
                      notes: dict[int, str] | None = None) -> str:
    """One self-contained page for a token run: per text, its entities highlighted, then one
    block per explanation with the context words coloured by how much they mattered.
    ``notes``: a line for texts without an explanation (text index -> note)."""
    by_text: dict[int, list[Any]] = {}
    for e in explanations:
        by_text.setdefault(e.index, []).append(e)
    sections = []
    for index in sorted({*by_text, *(notes or {})}):
        items = by_text.get(index, [])
        parts = [f'<section id="text-{index + 1}">', f"<h2>Text {index + 1}</h2>"]
        if items:
            parts.append(f'<div class="text">{_token_html_text(items[0], weights=False)}</div>')
        if notes and index in notes:
            parts.append(f'<p class="meta">{html.escape(notes[index])}</p>')
        for e in items:
            parts += [f"<h3>{html.escape(token_sentence(e))}</h3>",
                      f'<div class="text">{_token_html_text(e, weights=True)}</div>',
                      f'<details class="meta"><summary>details</summary>'
                      f'{html.escape(token_details(e).removeprefix("details: "))}</details>']
        parts.append("</section>")
        sections.append("\n".join(parts))
    legend = _legend(" &mdash; the boxed words are the prediction explained; green words raised "
                     "the model's probability of its tags (masking them lowers it), red words "
                     "lowered it. Hover a word for its score.")
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}{TOKEN_CSS}</style>\n</head>\n"
            f"<body>\n<main>\n<h1>{html.escape(title)}</h1>\n{legend}\n" + "\n".join(sections)
            + "\n</main>\n</body>\n</html>\n")
