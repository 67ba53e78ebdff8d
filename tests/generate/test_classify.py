"""Zero/few-shot classification: KV-cache label scoring, calibration, embeddings, method choice."""

from __future__ import annotations

import pytest

from lmforge.errors import ConfigError, DataError, ModelError
from lmforge.generate.classify import (
    classification_prompt,
    classify_zero_shot,
    embedding_scores,
    generative_scores,
    label_token_ids,
    load_encoder,
    resolve_method,
    score_labels_cached,
    score_labels_full,
)
from lmforge.generate.generation import encode_prompt

LABELS = ["positive", "negative", "mixed feelings overall"]


@pytest.mark.parametrize("norm", ["mean", "sum"])
def test_kv_cache_scores_equal_scoring_each_sequence_from_scratch(tiny_lm, norm):
    prompt, templated, sep = classification_prompt(tiny_lm, "the film was great", LABELS)
    ids = encode_prompt(tiny_lm, prompt, templated)
    label_ids = label_token_ids(tiny_lm, LABELS, sep)
    assert len({len(row) for row in label_ids}) > 1  # labels of different lengths: padding is exercised
    cached = score_labels_cached(tiny_lm, ids, label_ids, norm)
    full = score_labels_full(tiny_lm, ids, label_ids, norm)
    assert cached == pytest.approx(full, abs=1e-4)
    if norm == "sum":
        mean = score_labels_cached(tiny_lm, ids, label_ids, "mean")
        assert mean == pytest.approx([s / len(r) for s, r in zip(full, label_ids, strict=True)], abs=1e-4)


def test_shared_prefix_cache_scores_equal_scoring_from_scratch(tiny_lm):
    texts = ["the film was great", "the plot was boring and dull", "a bird"]
    examples = [("so great", "positive"), ("awful", "negative")]
    rows = generative_scores(tiny_lm, texts, LABELS, examples)
    for text, row in zip(texts, rows, strict=True):
        prompt, templated, sep = classification_prompt(tiny_lm, text, LABELS, examples)
        full = score_labels_full(tiny_lm, encode_prompt(tiny_lm, prompt, templated),
                                 label_token_ids(tiny_lm, LABELS, sep))
        assert row == pytest.approx(full, abs=1e-4)


def test_generative_prompt_uses_the_chat_template_and_examples(tiny_lm, tiny_plain_lm_dir):
    from lmforge.generate.models import load_causal_lm

    prompt, templated, sep = classification_prompt(tiny_lm, "so dull", ["pos", "neg"],
                                                   [("so great", "pos"), ("awful", "neg")])
    assert templated and sep == ""
    assert prompt.startswith("<|im_start|>user\nClassify the text into one of these labels: pos, neg.")
    assert "Examples:\nText: so great\nLabel: pos\n\nText: awful\nLabel: neg\n\nText: so dull" in prompt
    assert prompt.endswith("<|im_start|>assistant\n")
    plain = load_causal_lm(str(tiny_plain_lm_dir))
    prompt, templated, sep = classification_prompt(plain, "so dull", ["pos", "neg"])
    assert not templated and sep == " " and prompt.endswith("Text: so dull\nLabel:")


def test_calibration_subtracts_the_content_free_scores(tiny_lm):
    texts = ["the film was great", "the plot was boring"]
    raw = classify_zero_shot(texts, LABELS, method="generative", model=tiny_lm, calibrate="none")
    empty = classify_zero_shot(["N/A"], LABELS, method="generative", model=tiny_lm, calibrate="none")
    calibrated = classify_zero_shot(texts, LABELS, method="generative", model=tiny_lm,
                                    calibrate="content-free")
    for row, cal in zip(raw.scores, calibrated.scores, strict=True):
        assert cal == pytest.approx([r - c for r, c in zip(row, empty.scores[0], strict=True)], abs=1e-5)
    assert calibrated.details["prior_scores"] == pytest.approx(
        dict(zip(LABELS, empty.scores[0], strict=True)))
    assert calibrated.predictions == [LABELS[max(range(3), key=r.__getitem__)] for r in calibrated.scores]


def test_batch_calibration_centres_each_label_on_the_batch(tiny_lm):
    texts = ["the film was great", "the plot was boring", "fine acting", "a mess", "I loved it",
             "not for me", "two hours lost", "a small gem"]
    raw = classify_zero_shot(texts, LABELS, method="generative", model=tiny_lm, calibrate="none")
    calibrated = classify_zero_shot(texts, LABELS, method="generative", model=tiny_lm, calibrate="batch")
    means = [sum(col) / len(col) for col in zip(*raw.scores, strict=True)]
    assert calibrated.details["prior_scores"] == pytest.approx(dict(zip(LABELS, means, strict=True)))
    for row, cal in zip(raw.scores, calibrated.scores, strict=True):
        assert cal == pytest.approx([r - m for r, m in zip(row, means, strict=True)], abs=1e-5)
    for column in zip(*calibrated.scores, strict=True):  # every label now averages zero
        assert sum(column) == pytest.approx(0.0, abs=1e-4)
    with pytest.raises(ConfigError, match=r"at least 8 texts \(got 2\), or use --calibrate content-free"):
        classify_zero_shot(texts[:2], LABELS, method="generative", model=tiny_lm, calibrate="batch")
    with pytest.raises(ConfigError, match="calibrate: unknown 'yes'; valid: auto, none, content-free, batch"):
        classify_zero_shot(texts, LABELS, method="generative", model=tiny_lm, calibrate="yes")


def test_few_shot_examples_change_the_generative_scores(tiny_lm):
    zero = classify_zero_shot(["so dull"], ["pos", "neg"], method="generative", model=tiny_lm)
    few = classify_zero_shot(["so dull"], ["pos", "neg"], method="generative", model=tiny_lm,
                             examples=[("so great", "pos"), ("awful", "neg")])
    assert zero.scores != few.scores


def _manual_embedding(encoder, text):
    import torch

    batch = encoder.tokenizer([text], return_tensors="pt")
    hidden = encoder.model(**batch).last_hidden_state[0]
    return torch.nn.functional.normalize(hidden.mean(dim=0), dim=-1)


def test_embedding_scores_are_cosine_similarities_of_mean_pooled_vectors(tiny_model_dir):
    import torch

    encoder = load_encoder(str(tiny_model_dir))
    texts = ["a wonderful film", "dull and boring plot, really"]
    scores = embedding_scores(encoder, texts, ["good", "bad"], label_template="it is {label}")
    with torch.no_grad():
        for i, text in enumerate(texts):
            vector = _manual_embedding(encoder, text)
            for j, label in enumerate(["good", "bad"]):
                expected = float(vector @ _manual_embedding(encoder, f"it is {label}"))
                assert scores[i][j] == pytest.approx(expected, abs=1e-5)


def test_embedding_examples_become_label_prototypes(tiny_model_dir):
    import torch

    encoder = load_encoder(str(tiny_model_dir))
    examples = [("dull plot", "bad"), ("boring acting", "bad"), ("great cast", "good")]
    result = classify_zero_shot(["boring acting", "great cast"], ["good", "bad"], method="embedding",
                                model=encoder, examples=examples, calibrate="none")
    with torch.no_grad():
        bad = torch.nn.functional.normalize(
            _manual_embedding(encoder, "dull plot") + _manual_embedding(encoder, "boring acting"), dim=-1)
        text = _manual_embedding(encoder, "boring acting")
        assert result.scores[0][1] == pytest.approx(float(text @ bad), abs=1e-5)
    assert result.scores[1][0] == pytest.approx(1.0, abs=1e-5)  # identical to the only "good" example
    assert result.predictions[1] == "good" and result.method == "embedding"


def test_auto_picks_generative_for_a_causal_lm_and_embedding_otherwise(tiny_lm_dir, tiny_model_dir):
    assert resolve_method("auto", str(tiny_lm_dir)) == "generative"
    assert resolve_method("auto", str(tiny_model_dir)) == "embedding"
    assert resolve_method("auto", "default") == "embedding"
    assert resolve_method("generative", "default") == "generative"


def test_generative_on_an_encoder_is_a_model_error(tiny_model_dir):
    with pytest.raises(ModelError) as err:
        classify_zero_shot(["text"], ["a", "b"], method="generative", model=str(tiny_model_dir))
    message = str(err.value)
    assert "is not a causal language model (its config.json names BertModel)" in message
    assert "--method embedding" in message


def test_fewer_than_two_labels_and_unknown_example_labels_are_errors(tiny_lm):
    with pytest.raises(ConfigError, match="labels: give at least 2 labels, got 1"):
        classify_zero_shot(["x"], ["only"], method="generative", model=tiny_lm)
    with pytest.raises(DataError) as err:
        classify_zero_shot(["x"], ["a", "b"], method="generative", model=tiny_lm, examples=[("t", "c")])
    assert "example label(s) 'c' not in --labels (a, b)" in str(err.value)


def test_text_too_long_for_the_context_window_says_what_to_shorten(tiny_lm):
    with pytest.raises(DataError) as err:
        classify_zero_shot(["ok", "the cat sat on the mat " * 60], ["a", "b"], method="generative",
                           model=tiny_lm)
    message = str(err.value)
    assert "the classification prompt of text 2 is " in message
    assert "+ 1 tokens of the longest label" in message and "context window of 256 tokens" in message
    assert "Shorten text 2, the instruction or the examples" in message


# --- issue 16 §7: prompt classify says what it did -------------------------------------------


def test_scores_come_out_as_probabilities_at_the_documented_temperature(tiny_model_dir):
    import math

    from lmforge.generate.classify import DEFAULT_TEMPERATURE

    encoder = load_encoder(str(tiny_model_dir))
    texts = ["a wonderful film", "dull and boring plot", "fine"]
    result = classify_zero_shot(texts, ["good", "bad"], method="embedding", model=encoder,
                                calibrate="none")
    assert result.temperature == DEFAULT_TEMPERATURE["embedding"] == 0.05
    for scores, probs in zip(result.scores, result.probabilities, strict=True):
        assert sum(probs) == pytest.approx(1.0) and all(0 <= p <= 1 for p in probs)
        # the odds are exp(score difference / temperature): a softmax, not raw cosines
        assert math.log(probs[0] / probs[1]) == pytest.approx((scores[0] - scores[1]) / 0.05, abs=1e-6)
    rows = result.rows(texts)
    assert list(rows[0]) == ["text", "predicted_label", "prob_good", "prob_bad"]
    hotter = classify_zero_shot(texts, ["good", "bad"], method="embedding", model=encoder,
                                calibrate="none", temperature=1.0)
    assert max(hotter.probabilities[0]) < max(result.probabilities[0])  # flatter at T=1


def test_auto_says_which_method_and_calibration_it_chose(tiny_model_dir, caplog):
    encoder = load_encoder(str(tiny_model_dir))
    texts = [f"text number {i}" for i in range(8)]
    with caplog.at_level("INFO", logger="lmforge.generate.classify"):
        many = classify_zero_shot(texts, ["good", "bad"], model=encoder)
        few = classify_zero_shot(texts[:2], ["good", "bad"], model=encoder)
    assert "method embedding (auto: the default model is the sentence encoder" in caplog.text
    assert "--calibrate auto chose batch (8 texts" in caplog.text
    assert "--calibrate auto chose content-free (2 texts" in caplog.text
    assert many.details["calibration"] == "batch" and few.details["calibration"] == "content-free"


def test_generative_reports_progress(tiny_lm, caplog, monkeypatch):
    monkeypatch.setenv("LMFORGE_PROGRESS_SECONDS", "0")  # a line per text (not a terminal)
    with caplog.at_level("INFO", logger="lmforge.progress"):
        generative_scores(tiny_lm, ["so dull", "so great", "fine"], ["pos", "neg"])
    lines = [r.getMessage() for r in caplog.records if "texts/s" in r.getMessage()]
    assert lines[0].startswith("prompt classify (generative): 1/3 texts") and "3/3 texts" in lines[-1]


def test_embedding_reads_a_long_text_whole_as_windows(tiny_model_dir, caplog):
    import torch

    encoder = load_encoder(str(tiny_model_dir))
    encoder.tokenizer.model_max_length = 16
    long_text = " ".join(["the plot was dull"] * 10 + ["but the ending was wonderful"] * 10)
    first = encoder.tokenizer.decode(encoder.tokenizer(long_text, truncation=True,
                                                       max_length=16)["input_ids"][1:-1])
    with caplog.at_level("INFO", logger="lmforge.generate.classify"):
        whole, cut = encoder.embed([long_text, first])
    assert "1 of 2 texts were longer than 16 tokens: each was read whole as overlapping windows" \
        in caplog.text
    assert float(whole @ cut) < 0.9999  # the end of the text counted: not the first window alone
    assert float(torch.linalg.norm(whole)) == pytest.approx(1.0, abs=1e-5)
