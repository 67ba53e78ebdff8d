"""explain(): IG completeness, target selection, occlusion (PyTorch and ONNX), truncation,
the errors a user reads, and the terminal / HTML output."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lmforge.errors import ConfigError, DataError
from lmforge.explain import explain
from lmforge.explain.render import format_html, format_terminal
from tests.conftest import NEGATIVE, POSITIVE

TEXTS = ["the film was wonderful and superb", "the plot was really dull and awful"]
LONG = ("superb " + "the story was told " * 12 + "the cast was quite awful").strip()


def _logit_gap_ok(e: Any, tolerance: float) -> bool:
    difference = e.target_logit - e.baseline_logit
    return abs(sum(e.scores) - difference) <= tolerance * max(1.0, abs(difference))


def test_ig_completeness_within_tolerance(trained_clf: Any) -> None:
    used = set()
    for e in explain(trained_clf, TEXTS, method="ig", tolerance=0.01):
        assert e.converged and e.steps in (50, 100, 200, 400, 800)
        used.add(e.steps)
        assert e.relative_gap <= 0.01
        # the word scores alone (no [CLS]/[SEP]: the baseline keeps them, so they get 0) add up
        assert _logit_gap_ok(e, 0.01)
        assert e.completeness_gap == pytest.approx(
            abs(sum(e.scores) - (e.target_logit - e.baseline_logit)), abs=1e-5)
    # the confident text's logit jumps within a short stretch of the path: 50 steps are not
    # enough there, and the doubling finds how many are
    assert used != {50}


def test_ig_doubles_the_steps_until_the_gap_is_small(trained_clf: Any) -> None:
    (coarse,) = explain(trained_clf, TEXTS[:1], steps=2, max_steps=2, tolerance=0.01)
    assert coarse.relative_gap > 0.01 and not coarse.converged
    (e,) = explain(trained_clf, TEXTS[:1], steps=2, max_steps=1024, tolerance=0.01)
    assert e.steps in (4, 8, 16, 32, 64, 128, 256, 512, 1024) and e.converged
    assert e.relative_gap <= 0.01


def test_ig_warns_when_max_steps_is_reached(trained_clf: Any,
                                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="lmforge.explain.attribute"):
        (e,) = explain(trained_clf, TEXTS[:1], steps=1, max_steps=1, tolerance=1e-9)
    assert e.steps == 1 and e.converged is False and e.relative_gap > 1e-9
    assert "over the tolerance 1e-09 after max_steps=1" in caplog.text
    assert "OVER TOLERANCE (max steps reached)" in format_terminal(e, color=False)


def test_sentiment_words_carry_the_decision(trained_clf: Any) -> None:
    pos, neg = explain(trained_clf, TEXTS)
    assert (pos.target, neg.target) == ("pos", "neg")
    assert pos.words[int(np.argmax(pos.scores))] in POSITIVE
    # the all-[PAD] baseline is itself read as negative, so IG has little to attribute for
    # "neg"; occlusion (no baseline) shows the negative words
    for e in explain(trained_clf, ["the film was superb", "the plot was awful"], method="occlusion"):
        assert e.words[int(np.argmax(e.scores))] in (POSITIVE if e.target == "pos" else NEGATIVE)


def test_default_target_is_the_prediction_and_another_can_be_asked(trained_clf: Any) -> None:
    predicted = trained_clf.predict(TEXTS)
    default = explain(trained_clf, TEXTS, method="occlusion")
    assert [e.target for e in default] == predicted == [e.predicted for e in default]
    probs = trained_clf.predict_proba(TEXTS)
    assert default[0].probabilities == pytest.approx(dict(zip(trained_clf.labels, probs[0],
                                                              strict=True)), abs=1e-6)
    other = explain(trained_clf, TEXTS[:1], target="neg")
    assert other[0].target == "neg" and other[0].predicted == "pos" and _logit_gap_ok(other[0], 0.01)
    both = explain(trained_clf, TEXTS[:1], target=["neg", "pos"], method="occlusion")
    assert [e.target for e in both] == ["neg", "pos"]


def test_unknown_target_names_the_labels(trained_clf: Any) -> None:
    with pytest.raises(ConfigError, match=r"target: 'happy' is not a label of this run; the "
                                          r"labels are: neg, pos"):
        explain(trained_clf, TEXTS, target="happy")


def test_occlusion_is_the_logit_drop_when_a_word_is_left_out(trained_clf: Any) -> None:
    (e,) = explain(trained_clf, ["a well-made, superb film"], method="occlusion")
    assert e.words == ["a", "well", "-", "made", ",", "superb", "film"]
    t = trained_clf.labels.index(e.target)
    full = trained_clf.logits(["a well-made, superb film"])[0, t]
    without_superb = trained_clf.logits(["a well-made, film"])[0, t]
    assert e.scores[5] == pytest.approx(full - without_superb, abs=1e-5)
    without_dash = trained_clf.logits(["a well made, superb film"])[0, t]
    assert e.scores[2] == pytest.approx(full - without_dash, abs=1e-5)
    assert e.steps is None and e.completeness_gap is None


def test_occlusion_on_an_onnx_run_matches_pytorch(onnx_run: Path, trained_clf: Any) -> None:
    import lmforge

    onnx = lmforge.load(onnx_run)
    assert type(onnx).__name__ == "OnnxClassifier"
    from_onnx = explain(onnx_run, TEXTS, method="occlusion")
    from_torch = explain(trained_clf, TEXTS, method="occlusion")
    for a, b in zip(from_onnx, from_torch, strict=True):
        assert a.words == b.words and a.target == b.target
        assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_ig_on_an_onnx_run_suggests_occlusion(onnx_run: Path) -> None:
    with pytest.raises(ConfigError, match=r"--method ig needs the PyTorch model's gradients, and "
                                          r"the run '.*onnx' holds an ONNX model \(no gradients\)\."
                                          r" Use --method occlusion"):
        explain(onnx_run, TEXTS, method="ig")


def test_long_text_explains_the_part_read_and_lists_the_rest(trained_clf: Any) -> None:
    for method in ("ig", "occlusion"):
        (e,) = explain(trained_clf, [LONG], method=method)
        assert e.truncated and e.max_length == 32 and e.truncation == "head+tail"
        assert e.words[0] == "superb" and e.words[-1] == "awful"
        assert len(e.words) + len(e.dropped_words) == len(LONG.split())
        every, cut = LONG.split(), e.dropped_words
        assert any(every[:k] + every[k + len(cut):] == e.words and every[k:k + len(cut)] == cut
                   for k in range(1, len(e.words)))  # head + dropped middle + tail
        assert len(e.words) == 32 - 2  # one piece per word here; [CLS] and [SEP] take two
        shown = format_terminal(e, color=False)
        assert f"truncated: the text is longer than 32 tokens; the model read only part of it " \
               f"(head+tail) and {len(e.dropped_words)} words were not read: " in shown
        assert " [...] " in shown
        if method == "ig":
            assert _logit_gap_ok(e, 0.01)
    (short,) = explain(trained_clf, TEXTS[:1], method="occlusion")
    assert not short.truncated and short.dropped_words == []


def test_empty_text_is_refused_with_its_number(trained_clf: Any) -> None:
    with pytest.raises(DataError, match=r"^text #1 is empty: there is nothing to explain\. Give a "
                                        r"text with at least one word\.$"):
        explain(trained_clf, ["fine", ""])
    with pytest.raises(DataError, match=r"text #0 is empty after cleaning \(HTML tags, control "
                                        r"characters and spaces are removed\)"):
        explain(trained_clf, ["<br> <p></p>"], method="occlusion")
    with pytest.raises(DataError, match="no texts to explain"):
        explain(trained_clf, [])


def test_bad_settings_are_reported_together(trained_clf: Any) -> None:
    with pytest.raises(ConfigError) as info:
        explain(trained_clf, TEXTS, method="shap", steps=0, max_steps=-1, tolerance=0)
    assert str(info.value) == (
        "invalid explain settings: method: must be one of auto, ig, occlusion, linear; got 'shap'; "
        "steps: must be >= 1, got 0; max_steps: must be >= steps (0), got -1; tolerance: must be > 0, "
        "got 0")


def test_multi_label_explains_each_positive_label_or_the_top_one(multi_run: Path) -> None:
    import lmforge

    clf = lmforge.load(multi_run)
    texts = ["a fast funny film", "sad"]
    probs = clf.predict_proba(texts)
    result = explain(clf, texts, method="occlusion")
    for i in range(2):
        targets = [e.target for e in result if e.index == i]
        positive = [clf.labels[j] for j in range(3) if probs[i, j] >= 0.5]
        assert targets == (positive or [clf.labels[int(probs[i].argmax())]])
    asked = explain(clf, texts, target="drama,action")
    assert [(e.index, e.target) for e in asked] == [(0, "drama"), (0, "action"), (1, "drama"),
                                                    (1, "action")]
    assert all(_logit_gap_ok(e, 0.01) for e in asked)


def test_regression_explains_the_predicted_value(regression_run: Path) -> None:
    import lmforge

    clf = lmforge.load(regression_run)
    (e,) = explain(clf, ["a long and winding film"])
    assert e.target == "value" and e.probabilities is None
    assert e.predicted == pytest.approx(float(clf.predict(["a long and winding film"])[0]), abs=1e-5)
    assert e.target_logit == pytest.approx(e.predicted, abs=1e-4) and _logit_gap_ok(e, 0.01)
    assert f"Why the model predicted {e.predicted:.4f}" in format_terminal(e, color=False)
    with pytest.raises(ConfigError, match="regression model with one output; leave --target out"):
        explain(clf, ["x"], target="pos")


def test_terminal_colours_on_and_off(trained_clf: Any) -> None:
    (e,) = explain(trained_clf, TEXTS[:1])
    coloured = format_terminal(e, color=True)
    assert "\x1b[48;5;" in coloured and "legend:" in coloured
    strongest = e.words[int(np.argmax(np.abs(e.scores)))]
    assert re.search(r"\x1b\[48;5;(40|160)m\x1b\[38;5;255m" + strongest, coloured)
    plain = format_terminal(e, color=False)
    assert "\x1b" not in plain
    for word, score in zip(e.words, e.scores, strict=True):
        assert f"{word}[{score:+.3f}]" in plain


def test_html_page_is_self_contained_and_shows_every_word(trained_clf: Any) -> None:
    tricky = "a <b>bold</b> & superb \"film\" by O'Neil"
    result = explain(trained_clf, [*TEXTS, tricky, LONG])
    page = format_html(result, title="Why run decided")
    assert page.startswith("<!doctype html>") and "<style>" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    assert page.count("<section") == 4 and "Legend:" in page
    for e in result:
        for word in e.words:
            assert f'">{__import__("html").escape(word)}</span>' in page
    assert "<b>bold</b>" not in page  # the tags were cleaned away (the model never saw them)
    assert "&amp;" in page and "O&#x27;Neil" not in page  # escaped word by word
    assert "pos" in page and "%" in page  # the probabilities
    assert "were not read" in page and 'class="cut"' in page


def test_scores_too_small_to_matter_stay_uncoloured(trained_clf: Any) -> None:
    from dataclasses import replace

    (e,) = explain(trained_clf, TEXTS[:1], method="occlusion")
    faint = replace(e, scores=[0.001 * (-1) ** i for i in range(len(e.words))])
    assert "\x1b[48;5;" not in format_terminal(faint, color=True).split("\nlegend:")[0]
    strong = replace(e, scores=[0.001] * (len(e.words) - 1) + [0.5])
    coloured = format_terminal(strong, color=True)
    assert coloured.count("\x1b[48;5;40m") == 2  # the last word, and the legend's "strong +"


def test_why_not_is_the_difference_of_two_explanations(trained_clf: Any) -> None:
    text = "the film was superb but the ending was awful"
    (pos,) = explain(trained_clf, [text], method="ig", target="pos")
    (neg,) = explain(trained_clf, [text], method="ig", target="neg")
    plain, versus = explain(trained_clf, [text], method="ig", target="pos", why_not="neg")
    assert plain.versus is None and versus.versus == "neg" and versus.target == "pos"
    assert versus.scores == pytest.approx([a - b for a, b in zip(pos.scores, neg.scores,
                                                                  strict=True)], abs=1e-6)
    assert versus.target_logit == pytest.approx(pos.target_logit - neg.target_logit)
    assert versus.relative_gap is not None and versus.relative_gap < 0.05  # still complete
    # nothing to contrast when the explained label is the one asked about
    assert len(explain(trained_clf, [text], method="occlusion", target="neg",
                       why_not="neg")) == 1


def test_top_words_merge_repeats_and_cut_text_keeps_its_spacing(trained_clf: Any) -> None:
    from dataclasses import replace

    from lmforge.explain.render import dropped_text, headline, top_words

    (e,) = explain(trained_clf, ["superb superb film , superb"], method="occlusion")
    line = top_words(e)
    assert line.count("superb") == 1 and "(x3, summed)" in line
    merged = sum(s for w, s in zip(e.words, e.scores, strict=True) if w == "superb")
    assert f"superb {merged:+.3f} (x3, summed)" in line
    text = "it cost 15,000 dollars, said the man"
    cut = replace(e, text=text, truncated=True, dropped_words=["15", ",", "000", "dollars"],
                  dropped_spans=[(8, 10), (10, 11), (11, 14), (15, 22)], max_length=8)
    assert dropped_text(cut) == "'15,000 dollars'"
    assert "4 words were not read: '15,000 dollars'" in "\n".join(headline(cut))
