"""``lmforge runs list DIR`` / ``lmforge runs diff RUN RUN`` (light to import)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_runs_cli(sub: Any) -> None:
    runs = sub.add_parser("runs", help="list run directories, or show how two runs differ")
    action = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = action.add_parser("list", help="table of the run directories under DIR: task, model, "
                                "method, test accuracy and macro-F1, date; and which settings differ")
    listing.add_argument("dir", help="folder holding run directories (searched recursively)")
    listing.set_defaults(handler=cmd_runs_list)
    diff = action.add_parser("diff", help="the settings that differ between two runs, and their "
                             "test scores")
    diff.add_argument("run_a")
    diff.add_argument("run_b")
    diff.set_defaults(handler=cmd_runs_diff)


def cmd_runs_list(args: argparse.Namespace) -> int:
    from lmforge.runs.listing import find_runs, list_table

    sys.stdout.write(list_table(find_runs(args.dir)) + "\n")
    return 0


def cmd_runs_diff(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmforge.runs.listing import diff_table, read_run

    sys.stdout.write(diff_table(read_run(Path(args.run_a)), read_run(Path(args.run_b))) + "\n")
    return 0
