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


def headline(e: Any) -> list[str]:
    """Prediction, target, method and checks, one line each."""
    lines = [f"text #{e.index + 1}"]
    if e.task == "regression":
        lines.append(f"predicted value: {e.predicted:.4f}")
    else:
        shown = ", ".join(e.predicted) if isinstance(e.predicted, list) else e.predicted
        lines.append(f"predicted: {shown or '(none)'}   "
                     + "  ".join(f"{k} {v:.1%}" for k, v in (e.probabilities or {}).items()))
    if e.method == "ig":
        check = "ok" if e.converged else "OVER TOLERANCE (max steps reached)"
        lines.append(f"explaining: {e.target} (logit {e.target_logit:+.4f}, baseline "
                     f"{e.baseline_logit:+.4f}) with integrated gradients, {e.steps} steps; "
                     f"completeness gap {e.completeness_gap:.2e} (relative {e.relative_gap:.2e}, "
                     f"{check})")
    elif e.method == "linear":
        lines.append(f"explaining: {e.target} ({e.score_of} {e.target_logit:+.4f}, empty text "
                     f"{e.baseline_logit:+.4f}) with the linear model's weights: score = "
                     "coefficient x tf-idf weight of each n-gram, shared among its words; "
                     f"completeness gap {e.completeness_gap:.2e}")
    else:
        score_of = getattr(e, "score_of", "logit")
        lines.append(f"explaining: {e.target} ({score_of} {e.target_logit:+.4f}) by occlusion: "
                     f"score = drop in the {score_of} when the word is left out")
    if e.truncated:
        cut = (f"{len(e.dropped_words)} words were not read: {_quote_words(e.dropped_words)}"
               if e.dropped_words else "only part of a word was cut")
        lines.append(f"truncated: the text is longer than {e.max_length} tokens; the model read "
                     f"only part of it ({e.truncation}) and {cut}")
    return lines


def _quote_words(words: Sequence[str], limit: int = 12) -> str:
    shown = " ".join(words[:limit])
    return f"'{shown}'" + (f" ... (+{len(words) - limit} more)" if len(words) > limit else "")


def top_words(e: Any, n: int = 5) -> str:
    order = sorted(range(len(e.words)), key=lambda i: -abs(e.scores[i]))[:n]
    return "top words: " + ", ".join(f"{e.words[i]} {e.scores[i]:+.3f}" for i in order)


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
    parts = [f'<section id="text-{e.index + 1}-{html.escape(e.target)}">',
             f"<h2>Text {e.index + 1}</h2>"]
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
        parts.append(f'<p class="{cls}">{html.escape(line)}</p>')
    parts.append(f'<div class="text">{"".join(words)}</div>')
    parts.append(f'<p class="meta">{html.escape(top_words(e))}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def format_html(explanations: Sequence[Any], title: str = "lmforge explain") -> str:
    """One self-contained page: one section per explanation, a legend on top."""
    legend = ('<div class="legend">Legend: '
              + "".join(f'<span class="w" style="background:{_background(s, 1.0)};'
                        f'color:{"#fff" if abs(s) > 0.6 else "inherit"}">{name}</span>'
                        for s, name in ((-1.0, "strong &minus;"), (-0.4, "weak &minus;"),
                                        (0.4, "weak +"), (1.0, "strong +")))
              + " &mdash; green pushed the model towards the explained label, red away from "
              "it; the stronger the colour, the larger the share of the largest score in that "
              f"text (scores under {MIN_SCALE} logits stay pale). Hover a word for its "
              "score.</div>")
    sections = "\n".join(_html_section(e) for e in explanations)
    return (f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            f"<h1>{html.escape(title)}</h1>\n{legend}\n{sections}\n</main>\n</body>\n</html>\n")
