"""``lmforge inspect``: argparse -> InspectConfig -> inspect_data -> summary, files.

Importing this module stays light: the data stage, tokenizers and matplotlib are
imported when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lmforge.inspect.config import InspectConfig


def add_inspect_cli(subparsers: Any) -> argparse.ArgumentParser:
    from lmforge.config.cli import add_config_flags

    parser = subparsers.add_parser(
        "inspect", help="find problems in a data file before training",
        description="Class balance, duplicates and near-duplicates, the same text with different "
                    "labels, leakage into --test, length in tokens against --max-length, unknown "
                    "tokens, mixed scripts, empty or suspicious rows: each with example rows and "
                    "what to do. Token data (--task tokens; a .conll/.bio/.iob file or JSONL "
                    "with \"tokens\" is detected): tag and entity counts, BIO errors, empty, "
                    "duplicate and conflicting sentences, leakage, sentences read as windows, "
                    "unknown tokens and rare tags, each by file line. Prints a summary; --out "
                    "writes inspect.md and PNG histograms, --json the findings.")
    add_config_flags(parser, InspectConfig)
    parser.set_defaults(handler=cmd_inspect)
    return parser


def cmd_inspect(args: argparse.Namespace) -> int:
    from lmforge.config.cli import config_from_args
    from lmforge.inspect.report import format_summary, write_outputs
    from lmforge.inspect.run import inspect_data

    # inspect_data validates the whole config (source "inspect config", as for library callers)
    result = inspect_data(config_from_args(InspectConfig, args, source="inspect config",
                                           validate=False))
    sys.stdout.write(format_summary(result.report) + "\n")
    for path in write_outputs(result, args.__dict__.get("out"), args.__dict__.get("json")):
        sys.stdout.write(f"wrote {path}\n")
    return 0
