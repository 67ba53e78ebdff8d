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
    given = predict.add_mutually_exclusive_group(required=True)
    given.add_argument("--data",
                       help="file of texts (CSV, TSV, JSONL, Parquet, .txt), or - for one text "
                       "per line on stdin; read and written in chunks, so any size works")
    given.add_argument("--text", help="one text to predict, typed here")
    predict.add_argument("--text-pair", metavar="TEXT",
                         help="with --text, for a sentence-pair run: the pair's second text")
    predict.add_argument("--text-col", help="text column (default: the run's, else detected)")
    columns = predict.add_mutually_exclusive_group()
    columns.add_argument("--keep-columns", metavar="A,B",
                         help="pass only these input columns through, in this order (default: "
                         "every input column, in input order)")
    columns.add_argument("--drop-columns", metavar="A,B",
                         help="pass every input column through but these")
    predict.add_argument("--chunk-rows", type=int, default=1000, metavar="N",
                         help="rows read, predicted and written at a time (default: 1000): "
                         "memory stays flat however large the input")
    predict.add_argument("--out", help="write here instead of stdout")
    predict.add_argument("--format", choices=("csv", "jsonl", "conll"), default=None,
                         help="output format (default: csv: the input's columns, then "
                         "predicted_label and one prob_<label> per label; a token run: jsonl, "
                         "one object per text with its entities' character offsets, or conll, "
                         "token<TAB>tag)")
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

    if bool(args.run_dir) == bool(args.server):
        raise ConfigError("predict needs a run directory or --server URL (one of them, not both): "
                          "`lmforge predict runs/NAME --data FILE` or "
                          "`lmforge predict --server http://127.0.0.1:8000 --data FILE`")
    if args.text_pair is not None and args.text is None:
        raise ConfigError("--text-pair: give the pair's first text with --text")
    if args.chunk_rows < 1:
        raise ConfigError(f"--chunk-rows: must be >= 1, got {args.chunk_rows}")
    # the model (or server) first: a wrong run dir or URL fails before stdin is read
    if args.server:
        import os

        from lmforge.serve.client import describe_remote, predict_described
        from lmforge.serve.config import API_KEY_ENV

        key = args.api_key or os.environ.get(API_KEY_ENV) or None
        clf: Any = describe_remote(args.server, key, args.model)
        if clf.task == "tokens":
            return _predict_served_tokens(args, clf, key)

        def predict(texts: list[str]) -> list[dict[str, Any]]:
            return predict_described(clf, texts, key)
    else:
        clf = api.load(args.run_dir)
        if clf.task == "tokens":
            from lmforge.inference.token_rows import predict_tokens_cli

            return predict_tokens_cli(clf, args, sys.stdin, sys.stdout)
        from lmforge.inference.rows import prediction_rows

        def predict(texts: list[str]) -> list[dict[str, Any]]:
            return prediction_rows(clf, texts)
    if args.format == "conll":
        raise ConfigError("--format conll is for token runs (`lmforge train --task tokens`); "
                          "use csv or jsonl")
    return _predict_rows(args, clf, predict)


def _predict_rows(args: argparse.Namespace, clf: Any, predict: Any) -> int:
    """Stream the input through ``predict``: every input column, then the prediction."""
    from lmforge.data.stream import literal_input, open_input
    from lmforge.inference.stream import predict_stream, split_names
    from lmforge.progress import is_terminal

    if args.text is not None:
        stream = literal_input(args.text, args.text_pair)
    else:
        stream = open_input(args.data, args.chunk_rows, stdin=sys.stdin)
    options = {"task": clf.task, "labels": clf.labels, "settings": clf.settings,
               "fmt": args.format or "csv", "text_col": args.text_col,
               "keep": split_names(args.keep_columns), "drop": split_names(args.drop_columns),
               # a live bar would be drawn between the rows on a terminal's stdout
               "show_progress": bool(args.out) or not is_terminal(sys.stdout)}
    with stream:
        if args.out:
            from lmforge.rundir import atomic_text_file

            with atomic_text_file(Path(args.out)) as handle:
                result = predict_stream(stream, predict, handle, **options)
        else:
            result = predict_stream(stream, predict, sys.stdout, **options)
    if result.rows > 1 or args.out:
        log.info("predicted %d row(s) in %.1f s (%.0f rows/s)%s", result.rows, result.seconds,
                 result.rows / max(result.seconds, 1e-9), f"; wrote {args.out}" if args.out else "")
    summary = result.tally.summary(result.rows) if result.tally is not None else None
    if summary:
        log.info("%s", summary)
    return 0


def _predict_served_tokens(args: argparse.Namespace, remote: Any, key: str | None) -> int:
    """A served token run: every text at once, written as entities (JSONL) or CoNLL."""
    from lmforge.inference.token_rows import write_token_output
    from lmforge.serve.client import predict_described

    if args.text is not None:
        texts = [args.text]
    elif args.data == "-":
        texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    else:
        from lmforge.data import read_inputs

        texts = read_inputs(args.data, remote.settings, args.text_col)
    return write_token_output(predict_described(remote, texts, key) if texts else [], args)


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
    except BrokenPipeError:
        # the reader went away (`lmforge predict ... | head`): end quietly, like any Unix
        # filter. Output still buffered would fail again when Python flushes it at exit, so
        # stdout goes to devnull (what the Python docs on SIGPIPE recommend).
        _stdout_to_devnull()
        return 0
    except LmforgeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: nothing half-written was left behind\n")
        return 130


def _stdout_to_devnull() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (a test's capture): nothing will be flushed to a closed pipe


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
