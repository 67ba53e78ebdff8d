"""The TF-IDF model: feature choice, sklearn's formula, files, tasks, and the verdict rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lmforge.baseline.run import compare_to_baseline
from lmforge.errors import ModelError
from lmforge.models.tfidf import choose_features, fit_tfidf, load_tfidf, save_tfidf
from tests.conftest import sentiment_rows

ZH = ["这个酒店的服务非常周到，房间干净", "房间太小了，隔音很差，不推荐", "早餐丰富，位置方便，下次还来",
      "前台态度恶劣，等了一个小时", "性价比很高，环境安静", "床单有污渍，卫生间漏水"]


def test_char_ngrams_for_chinese_word_ngrams_for_english() -> None:
    zh = choose_features(ZH)
    assert (zh.analyzer, zh.ngram_range) == ("char", (1, 3)) and "Chinese" in zh.reason
    en = choose_features([t for t, _ in sentiment_rows(20)])
    assert (en.analyzer, en.ngram_range) == ("word", (1, 2))
    # a few English words inside Chinese reviews do not change the choice
    assert choose_features([t + " GHOST XP" for t in ZH]).analyzer == "char"


def test_features_are_sklearns_tfidf_formula() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    rows = sentiment_rows(80)
    texts = [t for t, _ in rows]
    model = fit_tfidf("single", texts, [y for _, y in rows], ["neg", "pos"])
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b",
                                vocabulary={t: i for i, t in enumerate(model.vocabulary)}).fit(texts)
    np.testing.assert_allclose(model.features(texts).toarray(),
                               reference.transform(texts).toarray(), atol=1e-6)


def test_single_label_learns_and_reloads_identically(tmp_path: Path) -> None:
    rows = sentiment_rows(200)
    model = fit_tfidf("single", [t for t, _ in rows], [y for _, y in rows], ["neg", "pos"])
    texts = ["the film was excellent and wonderful", "the plot was awful and boring"]
    scores = model.scores(texts)
    assert scores.shape == (2, 2) and list(scores.argmax(axis=1)) == [1, 0]
    save_tfidf(model, tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["tfidf.json",
                                                                       "tfidf_weights.npz"]
    again = load_tfidf(tmp_path / "model")
    np.testing.assert_array_equal(again.scores(texts), scores)
    assert model.scores([]).shape == (0, 2)


def test_three_classes_multinomial_probabilities_match_sklearn() -> None:
    from sklearn.linear_model import LogisticRegression

    from lmforge.inference.surface import logits_to_outputs

    rows = [(t + (" neutral meh" if i % 3 == 0 else ""), "mid" if i % 3 == 0 else y)
            for i, (t, y) in enumerate(sentiment_rows(150))]
    labels = ["mid", "neg", "pos"]
    model = fit_tfidf("single", [t for t, _ in rows], [y for _, y in rows], labels)
    x = model.features([t for t, _ in rows])
    lr = LogisticRegression(C=model.settings["C"], max_iter=2000).fit(
        x, [labels.index(y) for _, y in rows])
    texts = ["excellent superb", "dull painful", "meh neutral film"]
    np.testing.assert_allclose(logits_to_outputs("single", model.scores(texts)),
                               lr.predict_proba(model.features(texts)), atol=1e-4)


def test_multilabel_one_vs_rest_and_a_label_every_text_has() -> None:
    from lmforge.inference.surface import logits_to_outputs

    rows = sentiment_rows(120)
    targets = [tuple(sorted({y, "review"})) for _, y in rows]  # "review" is on every text
    model = fit_tfidf("multi", [t for t, _ in rows], targets, ["neg", "pos", "review"])
    probs = logits_to_outputs("multi", model.scores(["excellent superb", "awful dull"]))
    assert probs.shape == (2, 3)
    assert probs[0, 1] > 0.5 > probs[0, 0] and probs[1, 0] > 0.5 > probs[1, 1]
    assert (probs[:, 2] > 0.99).all()


def test_regression_ridge() -> None:
    rows = sentiment_rows(200)
    model = fit_tfidf("regression", [t for t, _ in rows],
                      [90.0 if y == "pos" else 10.0 for _, y in rows], [])
    values = model.scores(["excellent superb wonderful", "awful dull terrible"])[:, 0]
    assert values.shape == (2,) and values[0] > 60 > 40 > values[1]
    assert model.describe()["estimator"] == "ridge regression"


def test_texts_without_any_word_are_a_model_error() -> None:
    with pytest.raises(ModelError, match="the TF-IDF baseline found no word n-grams in the "
                                         "training texts .* Check that the text column holds text"):
        fit_tfidf("single", ["!!!", "???", "..."], ["a", "b", "a"], ["a", "b"])


def test_damaged_model_files(tmp_path: Path) -> None:
    rows = sentiment_rows(40)
    save_tfidf(fit_tfidf("single", [t for t, _ in rows], [y for _, y in rows], ["neg", "pos"]),
               tmp_path)
    meta = json.loads((tmp_path / "tfidf.json").read_text(encoding="utf-8"))
    (tmp_path / "tfidf.json").write_text(json.dumps({**meta, "format": "other"}), encoding="utf-8")
    with pytest.raises(ModelError, match="is not an lmforge TF-IDF model"):
        load_tfidf(tmp_path)
    (tmp_path / "tfidf.json").write_text(json.dumps(meta), encoding="utf-8")
    (tmp_path / "tfidf_weights.npz").unlink()
    with pytest.raises(ModelError, match="tfidf_weights.npz' is missing: the TF-IDF model's "
                                         "weights. Copy the complete run directory, or retrain"):
        load_tfidf(tmp_path)
    (tmp_path / "tfidf.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot read .*tfidf.json"):
        load_tfidf(tmp_path)


@pytest.mark.parametrize(("model", "baseline", "seconds", "worth", "start"), [
    (0.80, 0.82, 100.0, False, "Not worth its cost here"),        # baseline better
    (0.83, 0.82, 100.0, False, "Not clearly worth its cost here"),  # +1 point, noise 1.7
    (0.85, 0.82, 1e6, False, "Probably not worth its cost here"),  # +3 points, asks 6
    (0.90, 0.82, 100.0, True, "Worth its cost here"),             # +8 points, asks 2
])
def test_verdict_rule(model: float, baseline: float, seconds: float, worth: bool,
                      start: str) -> None:
    verdict = compare_to_baseline("single", {"accuracy": model, "n": 2000},
                                  {"accuracy": baseline, "n": 2000}, seconds, 1.0)
    assert verdict["worth_it"] is worth
    assert verdict["sentence"].startswith(start)
    assert verdict["gain_points"] == pytest.approx(100 * (model - baseline))
    assert verdict["required_points"] == pytest.approx(np.log10(seconds))
    assert "per tenfold of training time" in verdict["rule"]


def test_verdict_noise_grows_on_small_test_sets() -> None:
    # +5 points is clear on 2,000 test texts but noise on 60
    small = compare_to_baseline("single", {"accuracy": 0.90, "n": 60}, {"accuracy": 0.85}, 10, 1)
    assert small["worth_it"] is False and "within the noise of 60 test examples" in small["sentence"]
    regression = compare_to_baseline("regression", {"r2": 0.9, "n": 5000}, {"r2": 0.5}, 10, 1)
    assert regression["worth_it"] is True and "R2" in regression["sentence"]


@pytest.mark.parametrize("kind", ["word", "char"])
def test_scores_without_sklearn_equal_the_sklearn_features(kind: str) -> None:
    """Predicting computes the n-grams itself (no sklearn/scipy import at start-up): the
    scores must be those of sklearn's vectorizer on any text."""
    rows = sentiment_rows(40)
    texts = ZH * 4 if kind == "char" else [t for t, _ in rows]
    labels = ["neg", "pos"]
    model = fit_tfidf("single", texts, [labels[i % 2] for i in range(len(texts))], labels)
    assert model.spec.analyzer == kind
    probes = [*texts[:5], "", "zzz qqq", "A  Film\t\twith   SPACES, and a 5-star ending!",
              "房间  干净\n\n早餐 ok", "ÉTÉ déjà vu"]
    expected = np.asarray(model.features(probes) @ model.coef.T + model.intercept)
    assert np.allclose(model.scores(probes), expected, atol=1e-5)
    assert not np.allclose(model.scores(probes[:1]), model.intercept)  # features were found
