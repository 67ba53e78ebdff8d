"""``lmforge generate``, ``lmforge generate eval`` and ``lmforge prompt classify``.

``add_generate_cli(subparsers)`` registers them on the main parser. Flags come from the config
dataclasses (field docstrings are the help); every value is validated at once. Nothing heavy is
imported until a handler runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from lmforge.config.cli import add_config_flags, add_deprecated_flag, config_from_args
from lmforge.generate.config import ClassifyConfig, GenerateConfig, GenerateEvalConfig

log = logging.getLogger(__name__)

GENERATE_EPILOG = """examples:
  lmforge generate --prompt "The capital of France is" --max-new-tokens 20
  lmforge generate --chat --system "Be brief." --prompt "Name three rivers." --sample --seed 1
  lmforge generate --task qa --context notes.txt --prompt "Who wrote it?"
  lmforge generate --task summarize --prompt "$(cat article.txt)"
  lmforge generate --prompts prompts.txt --out results.jsonl --stop '\\n'
  lmforge generate eval --model runs/clm/model --text-file held_out.txt
  lmforge generate eval --predictions generated.txt --references gold.txt"""

CLASSIFY_EPILOG = """examples:
  lmforge prompt classify --labels positive,negative --data reviews.csv
  lmforge prompt classify --labels sports,politics,tech --data news.csv --examples shots.csv
  lmforge prompt classify --labels positive,negative --data reviews.csv --method generative \\
      --calibrate batch"""


def add_generate_cli(subparsers: Any) -> None:
    generate = subparsers.add_parser(
        "generate", help="generate text with a causal LM (greedy, sampling, chat, qa, summarize)",
        description="Generate text from a prompt or a file of prompts. `lmforge generate eval` "
                    "scores a model (perplexity) or generated text (BLEU, ROUGE).",
        epilog=GENERATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flags(generate, GenerateConfig)
    generate.set_defaults(handler=cmd_generate)
    commands = generate.add_subparsers(dest="generate_command", metavar="{eval}")
    evaluate = commands.add_parser(
        "eval", help="perplexity of a causal LM on a text; BLEU/ROUGE of predictions vs references",
        description="--text-file FILE: the model's perplexity (sliding window over the token stream). "
                    "--predictions FILE --references FILE: corpus BLEU (sacrebleu) and mean "
                    "ROUGE-1/2/L F1 (rouge_score), one text per line. Both may be given.")
    add_config_flags(evaluate, GenerateEvalConfig)
    add_deprecated_flag(evaluate, "--text", "--text-file", "text_file")
    evaluate.set_defaults(handler=cmd_generate_eval)

    prompt = subparsers.add_parser("prompt", help="prompting without training (zero/few-shot classify)")
    prompt_commands = prompt.add_subparsers(dest="prompt_command", required=True, metavar="{classify}")
    classify = prompt_commands.add_parser(
        "classify", help="zero/few-shot classification by label likelihood or embeddings",
        description="Classify texts into the given labels without training: generative (label "
                    "log-likelihood under a causal LM) or embedding (cosine similarity with the "
                    "sentence encoder). Output: text, the gold label when --data has one (and the "
                    "accuracy on stderr), predicted_label, one prob_<label> per label.",
        epilog=CLASSIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_flags(classify, ClassifyConfig)
    classify.set_defaults(handler=cmd_classify)


def cmd_generate(args: argparse.Namespace) -> int:
    from lmforge.generate.generation import Generation, encode_prompt, generate_ids
    from lmforge.generate.models import load_causal_lm
    from lmforge.generate.prompts import build_prompt, read_prompts, read_text_or_file
    from lmforge.progress import Progress

    config: GenerateConfig = config_from_args(GenerateConfig, args)
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
    with Progress("generate", total=len(prompts), unit="prompt",
                  enabled=len(prompts) > 1) as progress:
        for text, ids in zip(prompts, encoded, strict=True):
            out, new_ids, reason = generate_ids(lm, ids, config, on_text=write if stream else None)
            results.append(Generation(prompt=text, text=out, new_tokens=len(new_ids),
                                      finish_reason=reason))
            progress.update()
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

    config: GenerateEvalConfig = config_from_args(GenerateEvalConfig, args)
    metrics: dict[str, Any] = {}
    if config.predictions and config.references:
        metrics.update(generation_metrics(read_lines(config.predictions, "predictions"),
                                          read_lines(config.references, "references")))
    if config.text_file:
        from lmforge.generate.models import load_causal_lm

        text = "\n".join(read_lines(config.text_file, "text"))
        lm = load_causal_lm(config.model)
        metrics.update(perplexity(lm.model, lm.tokenizer, text, max_length=config.max_length,
                                  stride=config.stride, context_window=lm.context_window))
    from lmforge.tables import format_pairs

    sys.stdout.write(format_pairs(metrics) + "\n")
    if config.json:
        from pathlib import Path

        from lmforge.rundir import write_json

        write_json(Path(config.json), metrics)
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from lmforge.generate.classify import (
        accuracy_against,
        classify_zero_shot,
        read_classify_data,
        read_examples,
    )
    config: ClassifyConfig = config_from_args(ClassifyConfig, args)
    labels = config.label_list()
    examples = read_examples(config.examples, labels) if config.examples else []
    texts, gold, gold_col = read_classify_data(config.data, config.text_col, config.label_col)
    result = classify_zero_shot(texts, labels, method=config.method, model=config.model,
                                examples=examples, calibrate=config.calibrate,
                                content_free=config.content_free, length_norm=config.length_norm,
                                label_template=config.label_template, instruction=config.instruction,
                                temperature=config.temperature)
    rows = result.rows(texts, gold, gold_col or "label")
    columns = list(rows[0]) if rows else ["text", "predicted_label",
                                          *(f"prob_{label}" for label in labels)]
    if config.out:
        with open(config.out, "w", encoding="utf-8", newline="") as stream:
            write_classify_rows(rows, stream, config.format, columns)
        sys.stdout.write(f"{result.method}: wrote {len(rows)} prediction(s) to {config.out}\n")
    else:
        write_classify_rows(rows, sys.stdout, config.format, columns)
    if gold is not None:
        score = accuracy_against(result.predictions, gold, labels)
        if score["accuracy"] is not None:
            log.info("accuracy against column '%s': %.4f (%d of %d)%s", gold_col,
                     score["accuracy"], score["correct"], score["n"],
                     f"; {score['not_in_labels']} row(s) with a label not in --labels left out"
                     if score["not_in_labels"] else "")
        else:
            log.warning("column '%s' has none of the --labels (%s): no accuracy", gold_col,
                        ", ".join(labels))
    return 0


def write_classify_rows(rows: list[dict[str, Any]], stream: Any, fmt: str, columns: list[str]) -> None:
    """jsonl: one object per line; csv: ``columns``, probabilities to 6 decimals."""
    if fmt == "jsonl":
        stream.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        return
    import csv

    writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: f"{v:.6f}" if isinstance(v, float) else v for k, v in row.items()}
                     for row in rows)
