"""The decoding loop on a tiny random Llama: determinism, sampling, stops, streaming, limits."""

from __future__ import annotations

import pytest

from lmforge.errors import ConfigError, DataError
from lmforge.generate.config import SamplingConfig
from lmforge.generate.generation import encode_prompt, generate, generate_ids
from lmforge.generate.prompts import build_prompt

PROMPT = "the cat sat on the"


def test_greedy_is_deterministic_and_matches_transformers_generate(tiny_lm):
    import torch

    first = generate(PROMPT, model=tiny_lm, max_new_tokens=15)
    second = generate(PROMPT, model=tiny_lm, max_new_tokens=15)
    assert first == second
    assert first.new_tokens == 15 and first.finish_reason == "length"
    ids = encode_prompt(tiny_lm, PROMPT, templated=False)
    _, ours, _ = generate_ids(tiny_lm, ids, SamplingConfig(max_new_tokens=15))
    reference = tiny_lm.model.generate(torch.tensor([ids]), max_new_tokens=15, do_sample=False)
    assert ours == reference[0, len(ids):].tolist()


def test_sampling_with_a_seed_is_reproducible(tiny_lm):
    runs = [generate(PROMPT, model=tiny_lm, max_new_tokens=12, sample=True, seed=s, temperature=1.5)
            for s in (7, 7, 8)]
    assert runs[0] == runs[1]
    assert runs[0].text != runs[2].text  # another seed, another draw
    greedy = generate(PROMPT, model=tiny_lm, max_new_tokens=12)
    top1 = generate(PROMPT, model=tiny_lm, max_new_tokens=12, sample=True, top_k=1, seed=3)
    assert top1.text == greedy.text  # top-k 1 leaves only the argmax to sample


def test_stop_string_cuts_the_output_before_it(tiny_lm):
    full = generate(PROMPT, model=tiny_lm, max_new_tokens=20).text
    clean = [i for i in range(4, len(full) - 3) if "\ufffd" not in full[i:i + 2]]
    start = clean[len(clean) // 2]
    stop = full[start:start + 2]
    cut = generate(PROMPT, model=tiny_lm, max_new_tokens=20, stop=stop + "|never-seen-stop")
    assert cut.finish_reason == "stop"
    assert cut.text == full[:full.find(stop)]
    assert cut.new_tokens < 20


def test_max_new_tokens_is_respected(tiny_lm):
    for n in (1, 4, 9):
        result = generate(PROMPT, model=tiny_lm, max_new_tokens=n)
        assert result.new_tokens == n and result.finish_reason == "length"
    longer = generate(PROMPT, model=tiny_lm, max_new_tokens=9).text
    assert longer.startswith(generate(PROMPT, model=tiny_lm, max_new_tokens=4).text.rstrip("\ufffd"))


@pytest.mark.parametrize("settings", [{}, {"sample": True, "seed": 5, "top_p": 0.9}])
def test_streaming_writes_the_same_text_as_non_streaming(tiny_lm, settings):
    plain = generate(PROMPT, model=tiny_lm, max_new_tokens=20, **settings)
    pieces: list[str] = []
    streamed = generate(PROMPT, model=tiny_lm, max_new_tokens=20, on_text=pieces.append, **settings)
    assert "".join(pieces) == streamed.text == plain.text
    assert len(pieces) > 3  # it really streamed, piece by piece
    stop = plain.text[6:8]
    pieces = []
    cut = generate(PROMPT, model=tiny_lm, max_new_tokens=20, stop=stop, on_text=pieces.append, **settings)
    assert "".join(pieces) == cut.text and stop not in cut.text


def test_repetition_penalty_avoids_seen_tokens(tiny_lm):
    ids = encode_prompt(tiny_lm, PROMPT, templated=False)
    _, plain, _ = generate_ids(tiny_lm, ids, SamplingConfig(max_new_tokens=30))
    assert len(set(plain)) < len(plain)  # the random model repeats itself when greedy
    _, penalised, _ = generate_ids(tiny_lm, ids, SamplingConfig(max_new_tokens=30, repetition_penalty=1e4))
    assert len(set(penalised)) == len(penalised) and not set(penalised) & set(ids)


def test_prompt_longer_than_the_context_window_is_an_error(tiny_lm):
    long_prompt = "the cat sat on the mat " * 60
    n = len(tiny_lm.tokenizer(long_prompt)["input_ids"])
    with pytest.raises(DataError) as err:
        generate(long_prompt, model=tiny_lm, max_new_tokens=5)
    assert f"the prompt is {n} tokens + 5 new tokens (--max-new-tokens) = {n + 5}" in str(err.value)
    assert "context window of 256 tokens" in str(err.value)


def test_bad_sampling_settings_are_reported_together(tiny_lm):
    with pytest.raises(ConfigError) as err:
        generate(PROMPT, model=tiny_lm, max_new_tokens=0, temperature=0, top_p=1.5)
    message = str(err.value)
    assert "max_new_tokens: must be >= 1, got 0" in message
    assert "temperature: must be > 0, got 0.0" in message
    assert "top_p: must be in (0, 1], got 1.5" in message


def test_chat_and_task_templates(tiny_lm, tiny_plain_lm_dir):
    from lmforge.generate.models import load_causal_lm

    tok = tiny_lm.tokenizer
    chat, templated = build_prompt(tok, "hi there", chat=True, system="be brief")
    assert templated
    assert chat == ("<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi there<|im_end|>\n"
                    "<|im_start|>assistant\n")
    qa, _ = build_prompt(tok, "Who sat?", task="qa", context="The cat sat.")
    assert "Context: The cat sat.\n\nQuestion: Who sat?<|im_end|>" in qa
    summary, _ = build_prompt(tok, "A long text.", task="summarize")
    assert "Summarize the following text" in summary and summary.endswith("<|im_start|>assistant\n")
    raw, templated = build_prompt(tok, "as is")
    assert (raw, templated) == ("as is", False)
    plain = load_causal_lm(str(tiny_plain_lm_dir)).tokenizer
    qa_plain, templated = build_prompt(plain, "Who sat?", task="qa", context="The cat sat.")
    assert not templated and qa_plain.endswith("Question: Who sat?\nAnswer:")
    # a templated prompt is encoded without extra special tokens; a raw one gets BOS if the tokenizer adds it
    result = generate("Who sat?", model=tiny_lm, task="qa", context="The cat sat.", max_new_tokens=3)
    assert result.new_tokens == 3


def test_config_validation_lists_every_problem():
    from lmforge.generate.config import GenerateConfig

    with pytest.raises(ConfigError) as err:
        GenerateConfig(task="qa", max_new_tokens=0).validate()
    message = str(err.value)
    assert "give exactly one of --prompt TEXT or --prompts FILE" in message
    assert "--task qa needs --context" in message
    assert "max_new_tokens: must be >= 1" in message
