"""``lmforge runs list DIR`` / ``lmforge runs diff RUN RUN`` (light to import)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lmforge.config.cli import add_format_flag


def add_runs_cli(sub: Any) -> None:
    runs = sub.add_parser("runs", help="list run directories, or show how two runs differ")
    action = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = action.add_parser("list", help="table of the run directories under DIR: task, model, "
                                "method, test accuracy and macro-F1, date; and which settings differ")
    listing.add_argument("dir", help="folder holding run directories (searched recursively)")
    add_format_flag(listing, ("table", "json", "csv"), "table")
    listing.set_defaults(handler=cmd_runs_list)
    diff = action.add_parser("diff", help="the settings that differ between two runs, and their "
                             "test scores")
    diff.add_argument("run_a", help="a run directory")
    diff.add_argument("run_b", help="the run directory to compare it with")
    diff.set_defaults(handler=cmd_runs_diff)


def cmd_runs_list(args: argparse.Namespace) -> int:
    from lmforge.runs.listing import find_runs, list_table

    runs = find_runs(args.dir)
    if args.format == "table":
        sys.stdout.write(list_table(runs) + "\n")
    elif args.format == "json":
        import json

        sys.stdout.write(json.dumps([r.as_row() for r in runs], indent=2) + "\n")
    else:
        import csv

        from lmforge.runs.listing import ROW_COLUMNS

        writer = csv.DictWriter(sys.stdout, fieldnames=ROW_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(r.as_row() for r in runs)
    return 0


def cmd_runs_diff(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lmforge.runs.listing import diff_table, read_run

    sys.stdout.write(diff_table(read_run(Path(args.run_a)), read_run(Path(args.run_b))) + "\n")
    return 0
