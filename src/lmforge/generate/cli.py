"""``lmforge generate``, ``lmforge generate eval`` and ``lmforge prompt classify``.

``add_generate_cli(subparsers)`` registers them on the main parser. Flags come from the config
dataclasses (field docstrings are the help); every value is validated at once. Nothing heavy is
imported until a handler runs.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
from typing import Any

from lmforge.generate.config import ClassifyConfig, GenerateConfig, GenerateEvalConfig

GENERATE_EPILOG = """examples:
  lmforge generate --prompt "The capital of France is" --max-new-tokens 20
  lmforge generate --chat --system "Be brief." --prompt "Name three rivers." --sample --seed 1
  lmforge generate --task qa --context notes.txt --prompt "Who wrote it?"
  lmforge generate --task summarize --prompt "$(cat article.txt)"
  lmforge generate --prompts prompts.txt --out results.jsonl --stop '\\n'
  lmforge generate eval --model runs/clm/model --text held_out.txt
  lmforge generate eval --predictions generated.txt --references gold.txt"""

CLASSIFY_EPILOG = """examples:
  lmforge prompt classify --labels positive,negative --data reviews.csv
  lmforge prompt classify --labels sports,politics,tech --data news.csv --examples shots.csv
  lmforge prompt classify --labels positive,negative --data reviews.csv --method generative \\
      --calibrate batch"""


def _config(cls: type, args: argparse.Namespace) -> Any:
    """The dataclass from the flags that were typed (argparse defaults are suppressed)."""
    from lmforge.config.base import from_mapping

    names = {f.name for f in dataclasses.fields(cls)}
    config = from_mapping(cls, {k: v for k, v in vars(args).items() if k in names}, source="command line")
    config.validate()
    return config


def add_generate_cli(subparsers: Any) -> None:
    from lmforge.cli import _add_config_fields

    generate = subparsers.add_parser(
        "generate", help="generate text with a causal LM (greedy, sampling, chat, qa, summarize)",
        description="Generate text from a prompt or a file of prompts. `lmforge generate eval` "
                    "scores a model (perplexity) or generated text (BLEU, ROUGE).",
        epilog=GENERATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_config_fields(generate, GenerateConfig)
    generate.set_defaults(handler=cmd_generate)
    commands = generate.add_subparsers(dest="generate_command", metavar="{eval}")
    evaluate = commands.add_parser(
        "eval", help="perplexity of a causal LM on a text; BLEU/ROUGE of predictions vs references",
        description="--text FILE: the model's perplexity (sliding window over the token stream). "
                    "--predictions FILE --references FILE: corpus BLEU (sacrebleu) and mean "
                    "ROUGE-1/2/L F1 (rouge_score), one text per line. Both may be given.")
    _add_config_fields(evaluate, GenerateEvalConfig)
    evaluate.set_defaults(handler=cmd_generate_eval)

    prompt = subparsers.add_parser("prompt", help="prompting without training (zero/few-shot classify)")
    prompt_commands = prompt.add_subparsers(dest="prompt_command", required=True, metavar="{classify}")
    classify = prompt_commands.add_parser(
        "classify", help="zero/few-shot classification by label likelihood or embeddings",
        description="Classify texts into the given labels without training: generative (label "
                    "log-likelihood under a causal LM) or embedding (cosine similarity with the "
                    "sentence encoder). Output as `lmforge predict`: text, label, one score per label.",
        epilog=CLASSIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_config_fields(classify, ClassifyConfig)
    classify.set_defaults(handler=cmd_classify)


def cmd_generate(args: argparse.Namespace) -> int:
    from lmforge.generate.generation import Generation, encode_prompt, generate_ids
    from lmforge.generate.models import load_causal_lm
    from lmforge.generate.prompts import build_prompt, read_prompts, read_text_or_file

    config: GenerateConfig = _config(GenerateConfig, args)
    prompts = [config.prompt or ""] if config.prompts is None else read_prompts(config.prompts)
    context = read_text_or_file(config.context, "context") if config.context else None
    lm = load_causal_lm(config.model)
    to_stdout = config.prompts is None and config.out is None
    stream = sys.stdout if to_stdout and config.stream else None

    def write(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    # every prompt is checked against the context window before anything is generated
    encoded = []
    for index, text in enumerate(prompts):
        rendered, templated = build_prompt(lm.tokenizer, text, task=config.task, chat=config.chat,
                                           context=context, system=config.system)
        what = "prompt" if config.prompts is None else f"prompt on line {index + 1} of {config.prompts}"
        encoded.append(encode_prompt(lm, rendered, templated, reserve=config.max_new_tokens, what=what))
    results = []
    for text, ids in zip(prompts, encoded, strict=True):
        out, new_ids, reason = generate_ids(lm, ids, config, on_text=write if stream else None)
        results.append(Generation(prompt=text, text=out, new_tokens=len(new_ids), finish_reason=reason))
    if to_stdout:
        if not stream:
            sys.stdout.write(results[0].text)
        sys.stdout.write("\n")
        return 0
    lines = "".join(json.dumps(r.to_dict(), ensure_ascii=False) + "\n" for r in results)
    if config.out:
        from pathlib import Path

        from lmforge.rundir import write_text_atomic

        write_text_atomic(Path(config.out), lines)
        sys.stdout.write(f"wrote {len(results)} result(s) to {config.out}\n")
    else:
        sys.stdout.write(lines)
    return 0


def cmd_generate_eval(args: argparse.Namespace) -> int:
    from lmforge.eval.generation import generation_metrics, perplexity, read_lines

    config: GenerateEvalConfig = _config(GenerateEvalConfig, args)
    metrics: dict[str, Any] = {}
    if config.predictions and config.references:
        metrics.update(generation_metrics(read_lines(config.predictions, "predictions"),
                                          read_lines(config.references, "references")))
    if config.text:
        from lmforge.generate.models import load_causal_lm

        text = "\n".join(read_lines(config.text, "text"))
        lm = load_causal_lm(config.model)
        metrics.update(perplexity(lm.model, lm.tokenizer, text, max_length=config.max_length,
                                  stride=config.stride, context_window=lm.context_window))
    for name, value in metrics.items():
        sys.stdout.write(f"{name:<16}{value:.4f}\n" if isinstance(value, float) else f"{name:<16}{value}\n")
    if config.json:
        from pathlib import Path

        from lmforge.rundir import write_json

        write_json(Path(config.json), metrics)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from lmforge.data import read_texts
    from lmforge.generate.classify import classify_zero_shot, read_examples

    config: ClassifyConfig = _config(ClassifyConfig, args)
    labels = config.label_list()
    examples = read_examples(config.examples, labels) if config.examples else []
    texts = read_texts(config.data, config.text_col)
    result = classify_zero_shot(texts, labels, method=config.method, model=config.model,
                                examples=examples, calibrate=config.calibrate,
                                content_free=config.content_free, length_norm=config.length_norm,
                                label_template=config.label_template, instruction=config.instruction)
    rows = result.rows(texts)
    if config.out:
        with open(config.out, "w", encoding="utf-8", newline="") as stream:
            write_score_rows(rows, stream, config.format, labels)
        sys.stdout.write(f"{result.method}: wrote {len(rows)} prediction(s) to {config.out}\n")
    else:
        write_score_rows(rows, sys.stdout, config.format, labels)
    return 0


def write_score_rows(rows: list[dict[str, Any]], stream: Any, fmt: str, labels: list[str]) -> None:
    """As ``lmforge.cli.write_rows``, with a score_<label> column per label."""
    if fmt == "jsonl":
        for row in rows:
            stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(stream, fieldnames=["text", "label"] + [f"score_{name}" for name in labels],
                            lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
