"""Prompt building: task templates on top of the model's chat template, and prompt files.

A *message list* (``[{"role": "user", "content": ...}]``) goes through the tokenizer's chat
template when the model has one; a model without one (e.g. a `lmforge pretrain clm` run) gets a
plain-text rendering of the same content ending in a cue ("Answer:", "Summary:").
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from lmforge.errors import ConfigError, DataError

log = logging.getLogger(__name__)

QA_INSTRUCTION = "Answer the question using only the context."
SUMMARIZE_INSTRUCTION = "Summarize the following text in a few sentences."


def read_prompts(path: str | Path) -> list[str]:
    """One prompt per line (blank lines skipped), UTF-8; errors name the file and what to do."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"prompts file '{path}' does not exist. Pass a UTF-8 text file with one "
                        "prompt per line to --prompts.")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise DataError(f"prompts file '{path}' is not valid UTF-8 (line {line}, byte {exc.start}: "
                        f"{raw[exc.start:exc.start + 1]!r}). Re-save it as UTF-8, e.g. "
                        f"`iconv -f latin1 -t utf-8 {path} > prompts.txt`.") from exc
    prompts = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if not prompts:
        raise DataError(f"prompts file '{path}' has no prompts (it is empty or only blank lines). "
                        "Write one prompt per line.")
    return prompts


def read_text_or_file(value: str, what: str) -> str:
    """``value`` itself, or the contents of the file it names."""
    path = Path(value)
    if len(value) < 4096 and "\n" not in value and path.is_file():
        try:
            return path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(f"{what} file '{path}' is not valid UTF-8. Re-save it as UTF-8.") from exc
    return value


def task_messages(task: str, prompt: str, *, context: str | None = None,
                  system: str | None = None) -> list[dict[str, str]]:
    """The chat messages of a task: qa (prompt = question), summarize (prompt = text), chat."""
    if task == "qa":
        content = f"{QA_INSTRUCTION}\n\nContext: {context}\n\nQuestion: {prompt}"
    elif task == "summarize":
        content = f"{SUMMARIZE_INSTRUCTION}\n\n{prompt}"
    elif task in ("chat", "none"):
        content = prompt
    else:
        raise ConfigError(f"task: unknown '{task}'; valid: none, qa, summarize, chat")
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": content})
    return messages


PLAIN_CUES = {"qa": "Answer:", "summarize": "Summary:", "chat": "Assistant:", "none": "Assistant:"}


def render_messages(tokenizer: Any, messages: list[dict[str, str]], task: str = "chat") -> str:
    """Text of the messages, ready for the assistant's reply to follow."""
    if getattr(tokenizer, "chat_template", None):
        return str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))
    lines = [m["content"] for m in messages]
    return "\n\n".join(lines) + "\n" + PLAIN_CUES.get(task, "Answer:")


def build_prompt(tokenizer: Any, prompt: str, *, task: str = "none", chat: bool = False,
                 context: str | None = None, system: str | None = None) -> tuple[str, bool]:
    """(prompt text, whether it is already templated, i.e. holds its own special tokens)."""
    if task == "none" and not chat:
        if system:
            return f"{system}\n\n{prompt}", False
        return prompt, False
    task = "chat" if task == "none" else task
    templated = bool(getattr(tokenizer, "chat_template", None))
    if not templated:
        log.warning("the model's tokenizer has no chat template: using a plain-text layout ending "
                    "in '%s'", PLAIN_CUES[task])
    messages = task_messages(task, prompt, context=context, system=system)
    return render_messages(tokenizer, messages, task), templated
