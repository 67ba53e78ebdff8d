"""The decoding loop: one prompt in, new tokens out, with a KV cache.

Our own loop rather than ``model.generate`` so that stop strings and streaming agree exactly:
the text is decoded from all new tokens at every step, cut before the first stop string, and
streamed only up to the point that can no longer turn into a stop string (or into a longer
multi-byte character), so the streamed text equals the returned text. Logit processing reuses
transformers' processors (repetition penalty, temperature, top-k, top-p, in that order, as in
``model.generate``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from lmforge.errors import DataError
from lmforge.generate.config import SamplingConfig
from lmforge.generate.models import CausalLM

log = logging.getLogger(__name__)


@dataclass
class Generation:
    """One prompt's result."""

    prompt: str
    text: str
    new_tokens: int
    finish_reason: str  # "length" (max_new_tokens), "eos" (end-of-sequence token), "stop" (stop string)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def encode_prompt(lm: CausalLM, text: str, templated: bool, *, reserve: int = 0, what: str = "prompt",
                  reserved: str = "new tokens (--max-new-tokens)", advice: str | None = None) -> list[int]:
    """Token ids of a prompt; one that does not fit the context window with ``reserve`` more
    tokens is an error that gives the counts and the limit."""
    # a chat template writes its own special tokens; a raw prompt gets the tokenizer's (e.g. BOS)
    ids = list(lm.tokenizer(text, add_special_tokens=not templated)["input_ids"])
    if not ids:
        raise DataError(f"the {what} is empty after tokenization; give some text.")
    if len(ids) + reserve > lm.context_window:
        size = f"{len(ids)} tokens + {reserve} {reserved} = {len(ids) + reserve}" if reserve else (
            f"{len(ids)} tokens")
        hint = " or lower --max-new-tokens" if reserve and "max-new-tokens" in reserved else ""
        raise DataError(f"the {what} is {size}, longer than the model's context window of "
                        f"{lm.context_window} tokens. {advice or f'Shorten the {what}{hint}.'}")
    return ids


def _processors(settings: SamplingConfig) -> Any:
    from transformers.generation.logits_process import (
        LogitsProcessorList,
        RepetitionPenaltyLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    processors = LogitsProcessorList()
    if settings.repetition_penalty != 1.0:
        processors.append(RepetitionPenaltyLogitsProcessor(settings.repetition_penalty))
    if settings.sample:
        if settings.temperature != 1.0:
            processors.append(TemperatureLogitsWarper(settings.temperature))
        if settings.top_k > 0:
            processors.append(TopKLogitsWarper(settings.top_k))
        if settings.top_p < 1.0:
            processors.append(TopPLogitsWarper(settings.top_p))
    return processors


def _held_back(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters might still become a stop string or a longer character."""
    if text.endswith("\ufffd"):  # an incomplete multi-byte character, decoded as U+FFFD
        return len(text) - len(text.rstrip("\ufffd"))
    hold = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), 0, -1):
            if text.endswith(stop[:size]):
                hold = max(hold, size)
                break
    return hold


def generate_ids(lm: CausalLM, prompt_ids: list[int], settings: SamplingConfig, *,
                 on_text: Callable[[str], None] | None = None) -> tuple[str, list[int], str]:
    """(text, new token ids, finish reason) for one tokenized prompt."""
    import torch
    from transformers import DynamicCache

    stops = settings.stop_strings()
    processors = _processors(settings)
    generator = torch.Generator().manual_seed(settings.seed)
    device = lm.model.device
    eos = lm.eos_ids
    all_ids = torch.tensor([prompt_ids], device=device)
    new: list[int] = []
    text, emitted, reason = "", 0, "length"
    cache = DynamicCache(config=lm.model.config)
    with torch.inference_mode():
        step_input = all_ids
        for _ in range(settings.max_new_tokens):
            out = lm.model(input_ids=step_input, cache=cache, use_cache=True)
            scores = processors(all_ids, out.logits[:, -1, :].float())
            if settings.sample:
                probs = torch.softmax(scores, dim=-1).cpu()
                token = int(torch.multinomial(probs, 1, generator=generator)[0, 0])
            else:
                token = int(scores.argmax(dim=-1)[0])
            if token in eos:
                reason = "eos"
                break
            new.append(token)
            # no clean-up of spaces: it could change text already streamed
            text = lm.tokenizer.decode(new, skip_special_tokens=True, clean_up_tokenization_spaces=False)
            cut = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
            if cut >= 0:
                text, reason = text[:cut], "stop"
                break
            if on_text is not None:
                safe = len(text) - _held_back(text, stops)
                if safe > emitted:
                    on_text(text[emitted:safe])
                    emitted = safe
            step_input = torch.tensor([[token]], device=device)
            all_ids = torch.cat([all_ids, step_input], dim=1)
    if on_text is not None and len(text) > emitted:
        on_text(text[emitted:])
    return text, new, reason


def generate(prompt: str | Sequence[str], *, model: str | CausalLM = "default", task: str = "none",
             chat: bool = False, context: str | None = None, system: str | None = None,
             on_text: Callable[[str], None] | None = None, **sampling: Any
             ) -> Generation | list[Generation]:
    """Generate a continuation of one prompt (-> Generation) or of each of a list (-> list).

    ``sampling`` takes the fields of ``SamplingConfig`` (max_new_tokens, sample, temperature,
    top_k, top_p, repetition_penalty, stop ('|'-separated), seed). ``task`` is none, chat, qa
    (``prompt`` is the question, ``context`` the text to answer from) or summarize. ``on_text``
    receives the text of each prompt piece by piece as it is generated.
    """
    from lmforge.config.base import from_mapping
    from lmforge.errors import ConfigError
    from lmforge.generate.prompts import build_prompt

    settings = from_mapping(SamplingConfig, sampling, source="generate settings")
    problems = settings.problems()
    if problems:
        raise ConfigError("invalid generate settings: " + "; ".join(problems))
    lm = load_model(model)
    prompts = [prompt] if isinstance(prompt, str) else list(prompt)
    results = []
    for index, text in enumerate(prompts):
        rendered, templated = build_prompt(lm.tokenizer, text, task=task, chat=chat, context=context,
                                           system=system)
        what = "prompt" if len(prompts) == 1 else f"prompt {index + 1}"
        ids = encode_prompt(lm, rendered, templated, reserve=settings.max_new_tokens, what=what)
        out, new_ids, reason = generate_ids(lm, ids, settings, on_text=on_text)
        results.append(Generation(prompt=text, text=out, new_tokens=len(new_ids), finish_reason=reason))
    return results[0] if isinstance(prompt, str) else results


def load_model(model: str | CausalLM) -> CausalLM:
    from lmforge.generate.models import load_causal_lm

    return load_causal_lm(model)
