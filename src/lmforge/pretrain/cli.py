"""Command-line skin of pre-training: ``tokenizer train|coverage``, ``pretrain mlm|clm``.

``lmforge.cli.build_parser`` calls ``add_pretrain_cli(sub)``. Each handler turns
its flags into the command's config dataclass, calls the library and prints a
summary; errors go through ``main``'s ``LmforgeError`` funnel (exit code 2).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

CORPUS_HELP = ("text files, UTF-8, one paragraph per line (a blank line ends a document); "
               "CSV/TSV/JSONL/Parquet tables contribute their text column")


def add_pretrain_cli(sub: Any) -> None:
    """Register ``tokenizer`` and ``pretrain`` on the ``lmforge`` sub-parsers object."""
    from lmforge.config.cli import add_config_flags, add_deprecated_flag, add_layer_flags
    from lmforge.pretrain.config import PretrainConfig, TokenizerConfig

    tokenizer = sub.add_parser("tokenizer", help="train a tokenizer on a corpus; measure coverage")
    actions = tokenizer.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train", help="train a WordPiece, BPE or Unigram tokenizer",
        description="Train a tokenizer on text files and save it as a transformers fast tokenizer "
        "(AutoTokenizer.from_pretrained(OUT) loads it). WordPiece splits Chinese per character.")
    train.add_argument("--corpus", nargs="+", required=True, metavar="FILE", help=CORPUS_HELP)
    add_config_flags(train, TokenizerConfig, skip=("corpus",))
    train.set_defaults(handler=cmd_tokenizer_train)

    cov = actions.add_parser(
        "coverage", help="share of unknown tokens of a tokenizer on a text file",
        description="Encode a text file with a tokenizer (a `tokenizer train` output or any model "
        "directory) and report the share of unknown tokens and the most frequent unknown pieces.")
    cov.add_argument("tokenizer", help="tokenizer or model directory")
    cov.add_argument("--text-file", required=True, metavar="FILE",
                     help="text file (one text per line)")
    add_deprecated_flag(cov, "--text", "--text-file", "text_file")
    cov.add_argument("--json", metavar="FILE", help="also write the report as JSON")
    cov.set_defaults(handler=cmd_tokenizer_coverage)

    pretrain = sub.add_parser(
        "pretrain", help="pre-train a language model (masked or causal) on text files")
    objectives = pretrain.add_subparsers(dest="objective", required=True, metavar="OBJECTIVE")
    for name, text in (
        ("mlm", "Masked-LM pre-training (BERT): 15% of tokens predicted, 80/10/10 masking; "
                "--nsp adds next-sentence prediction, --whole-word-mask masks whole words."),
        ("clm", "Causal-LM pre-training (GPT): next-token prediction on packed sequences "
                "(lines concatenated and cut into equal blocks; no padding)."),
    ):
        parser = objectives.add_parser(
            name, help=text.split(":")[0],
            description=f"{text} Either continue pre-training a model (--model DIR) or start "
            "from a named size (--from-scratch NAME; a tokenizer is trained on the corpus first). "
            "RUN_DIR/model loads with plain transformers and `lmforge train --model "
            "RUN_DIR/model` fine-tunes it. Values: defaults, then --config, then flags.")
        parser.add_argument("--corpus", nargs="+", metavar="FILE", default=argparse.SUPPRESS,
                            help=CORPUS_HELP)
        add_layer_flags(parser, config_help="YAML file of settings (e.g. a run's config.yaml)")
        skip = ("corpus", "objective") + (("nsp", "whole_word_mask", "packing", "output_vocabulary")
                                          if name == "clm" else ())
        add_config_flags(parser, PretrainConfig, skip=skip)
        parser.set_defaults(handler=cmd_pretrain)


def cmd_tokenizer_train(args: argparse.Namespace) -> int:
    from lmforge.config.cli import config_from_args
    from lmforge.pretrain.config import TokenizerConfig
    from lmforge.pretrain.run import train_tokenizer_dir

    # train_tokenizer_dir normalises --corpus, then validates (source "tokenizer config")
    result = train_tokenizer_dir(config_from_args(TokenizerConfig, args, source="tokenizer config",
                                                  validate=False))
    sys.stdout.write(f"{result.report['kind']} tokenizer, {result.report['vocab_size']:,} tokens, "
                     f"trained on {result.report['corpus']['lines']:,} lines\n")
    if result.coverage is not None:
        sys.stdout.write(result.coverage.summary() + "\n")
    sys.stdout.write(f"tokenizer directory: {result.out}\n")
    return 0


def cmd_tokenizer_coverage(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmforge.pretrain.corpus import read_corpus
    from lmforge.pretrain.tokenizer import coverage, load_tokenizer_dir
    from lmforge.rundir import write_json

    tokenizer = load_tokenizer_dir(args.tokenizer)
    report = coverage(tokenizer, read_corpus([args.text_file]).lines, name=args.text_file)
    sys.stdout.write(report.summary() + "\n")
    if args.json:
        write_json(Path(args.json), report.as_dict())
    return 0


def cmd_pretrain(args: argparse.Namespace) -> int:
    from lmforge.config.cli import config_from_args, file_layers, is_worker_rank, launch_workers
    from lmforge.pretrain.config import PretrainConfig
    from lmforge.pretrain.report import format_pretrain_report
    from lmforge.pretrain.run import pretrain

    # pretrain normalises --corpus, then validates (source "pretrain config")
    config = config_from_args(PretrainConfig, args, layers=file_layers(args),
                              source="pretrain config", validate=False)
    code = launch_workers(config.processes, args.argv)
    if code is not None:
        return code
    result = pretrain(config)
    if is_worker_rank():
        return 0
    sys.stdout.write(format_pretrain_report(result.metrics))
    sys.stdout.write(f"run directory: {result.run_dir}\n"
                     f"fine-tune it with: lmforge train --model {result.run_dir / 'model'} "
                     "--data FILE --out RUN_DIR\n")
    return 0

