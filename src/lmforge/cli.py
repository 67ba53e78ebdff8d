"""Command line: parse args -> config dataclass -> api call -> exit code.

Exit codes: 0 success, 2 a problem the user can fix (the message says how),
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError

log = logging.getLogger("lmforge.cli")


def build_parser() -> argparse.ArgumentParser:
    from lmforge.config.cli import add_config_flags, add_format_flag, add_layer_flags
    from lmforge.config.train import TrainConfig
    from lmforge.recipes import available
    from lmforge.version import __version__

    parser = argparse.ArgumentParser(
        prog="lmforge",
        description="From labelled text to trained, evaluated, compressed and served language models.")
    parser.add_argument("--version", action="version", version=f"lmforge {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    verbosity.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a classifier and write a run directory",
                           description="Train a text classifier. Values come from the defaults, "
                           "then --recipe, then --config, then the flags typed here.")
    add_layer_flags(train, recipe_help=f"a bundled recipe: {', '.join(available())} "
                    "(`lmforge recipes` describes them)",
                    config_help="YAML file of training settings (e.g. a run's config.yaml)")
    add_config_flags(train, TrainConfig)
    train.set_defaults(handler=cmd_train)

    evaluate = sub.add_parser("evaluate", help="score a run on labelled data")
    evaluate.add_argument("run_dir", help="run directory written by `lmforge train`")
    evaluate.add_argument("--data", required=True, help="labelled file (CSV, TSV, JSONL, Parquet)")
    evaluate.add_argument("--text-col", help="text column (default: the training data's)")
    evaluate.add_argument("--label-col", help="label column (default: the training data's)")
    evaluate.add_argument("--json", help="also write the metrics as JSON to this file")
    add_format_flag(evaluate, ("table", "json"), "table")
    evaluate.set_defaults(handler=cmd_evaluate)

    predict = sub.add_parser("predict", help="predict labels for texts (locally or via a server)")
    predict.add_argument("run_dir", nargs="?",
                         help="run directory written by `lmforge train` or `lmforge export` "
                         "(not with --server)")
    predict.add_argument("--server", metavar="URL",
                         help="use a running `lmforge serve` at this URL instead of a run directory")
    predict.add_argument("--model", help="with --server: the served model's name (default: the "
                         "server's first)")
    predict.add_argument("--api-key", help="with --server: the key the server requires "
                         "(default: $LMFORGE_API_KEY)")
    predict.add_argument("--data", required=True,
                         help="file of texts (CSV, TSV, JSONL, Parquet, .txt), or - for one text "
                         "per line on stdin")
    predict.add_argument("--text-col", help="text column (detected when not given)")
    predict.add_argument("--out", help="write here instead of stdout")
    predict.add_argument("--format", choices=("csv", "jsonl", "conll"), default=None,
                         help="output format (default: csv; a token run: jsonl, one object per "
                         "text with its entities' character offsets, or conll, token<TAB>tag)")
    predict.set_defaults(handler=cmd_predict)

    recipes = sub.add_parser("recipes", help="list the bundled recipes")
    recipes.set_defaults(handler=cmd_recipes)

    # the other stages register their own commands (each module is imported only here,
    # and imports nothing heavy until its handler runs)
    from lmforge.compress.cli import add_compress_cli
    from lmforge.explain.cli import add_explain_cli
    from lmforge.lm.cli import add_ngram_cli
    from lmforge.pretrain.cli import add_pretrain_cli
    from lmforge.serve.cli import add_serve_cli

    add_pretrain_cli(sub)
    add_ngram_cli(sub)
    add_compress_cli(sub)
    add_serve_cli(sub)
    add_explain_cli(sub)
    from lmforge.inspect.cli import add_inspect_cli  # noqa: I001 (one line per stage)
    add_inspect_cli(sub)
    from lmforge.generate.cli import add_generate_cli

    add_generate_cli(sub)
    from lmforge.runs.cli import add_runs_cli  # noqa: I001 (one line per stage)
    add_runs_cli(sub)
    from lmforge.models.cli import add_models_cli  # noqa: I001 (one line per stage)
    add_models_cli(sub)
    return parser


def cmd_recipes(args: argparse.Namespace) -> int:
    import shutil
    import textwrap

    from lmforge.recipes import available, describe

    names = available()
    width = max(len(n) for n in names) + 2
    # whole descriptions, wrapped at word boundaries to the terminal (never cut)
    columns = max(60, shutil.get_terminal_size((100, 24)).columns)
    for name in names:
        lines = textwrap.wrap(describe(name), width=columns - width) or [""]
        sys.stdout.write(f"{name:<{width}}{lines[0]}\n")
        sys.stdout.writelines(f"{'':<{width}}{line}\n" for line in lines[1:])
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from lmforge import api
    from lmforge.config.cli import config_from_args, file_layers, is_worker_rank, launch_workers
    from lmforge.config.train import TrainConfig
    from lmforge.eval.report import format_report
    from lmforge.recipes import load_recipe

    # api.train validates the whole config (source "train config", as for library callers)
    config = config_from_args(TrainConfig, args, layers=file_layers(args, recipes=load_recipe),
                              source="train config", validate=False)
    code = launch_workers(config.processes, args.argv)
    if code is not None:
        return code
    result = api.train(config)
    if is_worker_rank():
        return 0
    task = result.config.task
    if task == "tokens":
        from lmforge.eval.token_report import print_token_result

        return print_token_result(result.metrics, result.run_dir, sys.stdout)
    if "test" in result.metrics:
        sys.stdout.write(format_report(result.metrics["test"], task, title="Test") + "\n")
    if "test" in (result.metrics.get("baseline") or {}):
        from lmforge.eval.report import format_baseline

        sys.stdout.write(format_baseline(result.metrics["baseline"], task) + "\n")
    sys.stdout.write(f"run directory: {result.run_dir}\n")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from lmforge import api
    from lmforge.eval.report import format_report
    from lmforge.rundir import write_json

    metrics = api.evaluate(args.run_dir, args.data, text_col=args.text_col,
                           label_col=args.label_col)
    if args.format == "json":
        import json

        sys.stdout.write(json.dumps(metrics, indent=2, default=str) + "\n")
    elif _run_task(args.run_dir) == "tokens":
        from lmforge.eval.token_report import format_token_scores

        sys.stdout.write(format_token_scores(metrics, title=f"Evaluation on {args.data}") + "\n")
    else:
        clf_task = _run_task(args.run_dir)
        sys.stdout.write(format_report(metrics, clf_task, title=f"Evaluation on {args.data}")
                         + "\n")
    if args.json:
        write_json(Path(args.json), metrics)
    return 0


def _run_task(run_dir: str) -> str:
    from lmforge.rundir import read_config

    return str(read_config(run_dir).get("task", "single"))


def cmd_predict(args: argparse.Namespace) -> int:
    from lmforge import api
    from lmforge.errors import ConfigError
    from lmforge.inference.rows import prediction_rows, row_columns, write_rows

    if bool(args.run_dir) == bool(args.server):
        raise ConfigError("predict needs a run directory or --server URL (one of them, not both): "
                          "`lmforge predict runs/NAME --data FILE` or "
                          "`lmforge predict --server http://127.0.0.1:8000 --data FILE`")
    # the model (or server) first: a wrong run dir or URL fails before stdin is read
    if args.server:
        import os

        from lmforge.serve.client import describe_remote
        from lmforge.serve.config import API_KEY_ENV

        key = args.api_key or os.environ.get(API_KEY_ENV) or None
        clf: Any = describe_remote(args.server, key, args.model)
    else:
        clf = api.load(args.run_dir)
        if clf.task == "tokens":
            from lmforge.inference.token_rows import predict_tokens_cli

            return predict_tokens_cli(clf, args, sys.stdin, sys.stdout)
    if args.format == "conll" and clf.task != "tokens":
        raise ConfigError("--format conll is for token runs (`lmforge train --task tokens`); "
                          "use csv or jsonl")
    if args.data == "-":
        texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    else:
        from lmforge.data import read_inputs

        texts = read_inputs(args.data, clf.settings, args.text_col)
    if args.server:
        from lmforge.serve.client import predict_remote

        rows = predict_remote(args.server, texts, key, clf.name)
    else:
        rows = prediction_rows(clf, texts)
    if clf.task == "tokens":  # a served token run
        from lmforge.inference.token_rows import write_token_output

        return write_token_output(rows, args)
    columns = row_columns(clf.task, clf.labels, pair=any("text_pair" in row for row in rows[:1]))
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as stream:
            write_rows(rows, stream, args.format or "csv", columns)
    else:
        write_rows(rows, sys.stdout, args.format or "csv", columns)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from lmforge.log import setup_logging

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # --processes re-runs it
    from lmforge.config.cli import is_worker_rank

    setup_logging(-1 if args.quiet or is_worker_rank() else 1 if args.verbose else 0)
    for note in getattr(args, "deprecated_flags", None) or ():
        log.warning(note)
    try:
        return int(args.handler(args))
    except LmforgeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing half-written was left behind\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
