"""``lmforge ngram train|eval|score|generate``: argparse -> config / arguments -> pipeline.

``add_ngram_cli(subparsers)`` registers the commands on the main parser's
sub-parsers. Each handler takes the parsed namespace and returns an exit
code, like the other commands of ``lmforge.cli``; errors are ``LmforgeError``
for ``main`` to report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from lmforge.config.cli import add_config_flags, add_format_flag, config_from_args
from lmforge.lm.config import NgramTrainConfig

DEFAULT_GENERATE = 5


def add_ngram_cli(subparsers: Any, stdout: TextIO | None = None) -> argparse.ArgumentParser:
    """Register ``ngram`` and its sub-commands; output goes to ``stdout`` (default: sys.stdout
    at the time the command runs). Returns the ``ngram`` parser."""
    ngram = subparsers.add_parser(
        "ngram", help="n-gram language models (train, eval, score, generate; ARPA files)",
        description="Count-based n-gram language models. Models are ARPA files, readable by "
                    "KenLM and SRILM.")
    commands = ngram.add_subparsers(dest="ngram_command", required=True, metavar="NGRAM_COMMAND")

    def out() -> TextIO:
        return stdout or sys.stdout

    train = commands.add_parser("train", help="estimate a model from a text file and write it as ARPA",
                                description="Estimate an n-gram model from one sentence per line.")
    # bad values are reported together by NgramTrainConfig.validate, not one by argparse
    add_config_flags(train, NgramTrainConfig, required=("corpus", "out"), check_choices=False)
    train.set_defaults(handler=lambda args: cmd_train(args, out()))

    evaluate = commands.add_parser(
        "eval", help="perplexity and OOV rate of a model on a text file or a text",
        description="Perplexity of the model on one sentence per line. 'perplexity' counts every "
                    "word, out-of-vocabulary ones scored as <unk>; 'perplexity_excluding_oov' "
                    "leaves the OOV words out (KenLM's 'Perplexity excluding OOVs'): lower, and "
                    "only comparable between models with the same vocabulary.")
    add_text_flags(evaluate)
    evaluate.add_argument("--json", help="also write the metrics as JSON to this file")
    add_format_flag(evaluate, ("table", "json"), "table")
    evaluate.set_defaults(handler=lambda args: cmd_eval(args, out()))

    score = commands.add_parser(
        "score", help="log10 probability of each sentence",
        description="Print one line per non-blank input line: the log10 probability of the "
                    "sentence with <s> and </s> (KenLM's convention), a tab, the sentence.")
    add_text_flags(score)
    score.set_defaults(handler=lambda args: cmd_score(args, out()))

    generate = commands.add_parser("generate", help="sample sentences from a model")
    generate.add_argument("--model", required=True, help="ARPA model file")
    generate.add_argument("--num", type=int, default=DEFAULT_GENERATE,
                          help=f"how many sentences (default: {DEFAULT_GENERATE})")
    generate.add_argument("--max-tokens", type=int, default=50,
                          help="stop a sentence after this many tokens (default: 50)")
    generate.add_argument("--prompt", default="", help="text every sentence starts with")
    generate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    generate.set_defaults(handler=lambda args: cmd_generate(args, out()))
    return ngram


def add_text_flags(parser: argparse.ArgumentParser) -> None:
    """``--model``, and the text as ``--text TEXT`` (literal) or ``--text-file FILE``."""
    parser.add_argument("--model", required=True, help="ARPA model file")
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--text", help="the text itself (one sentence per line)")
    given.add_argument("--text-file", metavar="FILE",
                       help="UTF-8 text file, one sentence per line; - for stdin")


def read_text_args(args: argparse.Namespace) -> tuple[str, str]:
    """(text, source name) from ``--text`` / ``--text-file``. ``--text`` naming an existing
    file is read as one, with a warning: it meant a file before `--text` became a literal
    text in every command."""
    import logging
    import os

    from lmforge.lm.corpus import read_text

    if args.text is not None:
        if "\n" not in args.text and os.path.isfile(args.text):
            logging.getLogger(__name__).warning(
                "--text %s names a file: read as --text-file %s (--text FILE is deprecated; "
                "--text is a literal text in every command)", args.text, args.text)
            return read_text(args.text, what="text"), args.text
        return args.text, "--text"
    if args.text_file == "-":
        return sys.stdin.read().replace("\r\n", "\n"), "<stdin>"
    return read_text(args.text_file, what="text"), args.text_file


def cmd_train(args: argparse.Namespace, stdout: TextIO) -> int:
    from lmforge.lm.pipeline import train_ngram

    config = config_from_args(NgramTrainConfig, args, check_choices=False)
    model = train_ngram(config)
    stdout.write(f"wrote {config.out}: order {model.order}, {config.smoothing}, "
                 f"{model.vocab_size} words, n-grams per order "
                 f"{' '.join(map(str, model.ngram_counts()))}\n")
    return 0


def cmd_eval(args: argparse.Namespace, stdout: TextIO) -> int:
    from lmforge.lm.pipeline import evaluate_ngram_text, load_ngram
    from lmforge.tables import format_pairs

    model = load_ngram(args.model)
    text, source = read_text_args(args)
    metrics = evaluate_ngram_text(model, text, source)
    if args.format == "json":
        stdout.write(json.dumps(metrics, indent=2) + "\n")
    else:
        # one precision for every float, and what the two perplexities mean
        stdout.write(format_pairs(metrics) + "\n")
        stdout.write(f"\nperplexity counts all {metrics['tokens']} words (the {metrics['oov']} "
                     "out-of-vocabulary ones scored as <unk>) plus each </s>; "
                     "perplexity_excluding_oov leaves the OOV words out (as KenLM reports it): "
                     "compare models by the first unless they share one vocabulary.\n")
    if args.json:
        from lmforge.rundir import write_json

        write_json(Path(args.json), metrics)
    return 0


def cmd_score(args: argparse.Namespace, stdout: TextIO) -> int:
    from lmforge.lm.pipeline import load_ngram, score_lines

    model = load_ngram(args.model)
    text, source = read_text_args(args)
    stdout.writelines(f"{logprob:.6f}\t{line}\n" for logprob, line in score_lines(model, text, source=source))
    return 0


def cmd_generate(args: argparse.Namespace, stdout: TextIO) -> int:
    from lmforge.lm.pipeline import load_ngram

    model = load_ngram(args.model)
    for tokens in model.generate(args.num, max_tokens=args.max_tokens, seed=args.seed,
                                 prompt=model.tokenize(args.prompt)):
        stdout.write(model.detokenize(tokens) + "\n")
    return 0
