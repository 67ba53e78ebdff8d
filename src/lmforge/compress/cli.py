"""Command-line skin of compress/: ``export``, ``compress prune``, ``distill``, ``compare``.

``lmforge.cli.build_parser`` calls ``add_compress_cli(sub)``; each handler parses
its flags into the command's config dataclass, calls the library, prints the
before/after table and returns the exit code (errors go through ``main``'s
``LmforgeError`` funnel: exit code 2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

RUN_DIR_HELP = "run directory written by `lmforge train` (or export/prune/distill)"


def add_compress_cli(sub: Any) -> None:
    """Register the sub-commands on the ``lmforge`` sub-parsers object."""
    from lmforge.compress.config import DistillConfig, ExportConfig, PruneConfig
    from lmforge.config.cli import add_config_flags

    export = sub.add_parser(
        "export", help="export a run to ONNX (optionally int8), checked against PyTorch",
        description="Export a run directory to ONNX. The output is a run directory that "
        "predict, evaluate and serve load directly; report.md compares it with the original.")
    export.add_argument("run_dir", help=RUN_DIR_HELP)
    add_config_flags(export, ExportConfig, skip=("run_dir",))
    export.set_defaults(handler=cmd_export)

    compress = sub.add_parser("compress", help="make a run smaller (prune)")
    methods = compress.add_subparsers(dest="method", required=True, metavar="METHOD")
    prune = methods.add_parser(
        "prune", help="remove attention heads or layers, then fine-tune briefly",
        description="Structured pruning: --heads FRACTION removes the least important attention "
        "heads, --layers N the top N layers; then a short recovery fine-tune on the run's "
        "training split. report.md compares it with the original.")
    prune.add_argument("run_dir", help=RUN_DIR_HELP)
    add_config_flags(prune, PruneConfig, skip=("run_dir",))
    prune.set_defaults(handler=cmd_prune)

    distill = sub.add_parser(
        "distill", help="train a smaller student on a teacher run's soft labels",
        description="Knowledge distillation: KL on temperature-softened teacher logits + "
        "cross-entropy on the labels. report.md compares student and teacher.")
    add_config_flags(distill, DistillConfig)
    distill.set_defaults(handler=cmd_distill)

    compare = sub.add_parser(
        "compare", help="size, CPU speed and accuracy of run directories, in one table",
        description="Measure run directories (PyTorch or ONNX) the way the compress reports "
        "do; the first is the baseline of the ratios.")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help=RUN_DIR_HELP)
    compare.add_argument("--data", help="labelled file to score on (default: the first run's "
                         "test file or test split)")
    compare.add_argument("--out", help="also write the report here (FILE.md, chart beside it)")
    compare.add_argument("--threads", type=int, default=2, help="CPU threads (default: 2)")
    compare.add_argument("--rounds", type=int, default=3,
                         help="timing rounds, interleaved across the runs; speed is the median "
                         "with the slowest and fastest round (default: 3)")
    compare.add_argument("--latency-runs", type=int, default=50,
                         help="single-text calls timed for p50/p95 (default: 50)")
    compare.add_argument("--throughput-texts", type=int, default=512,
                         help="texts timed in batches of 32 (default: 512)")
    compare.set_defaults(handler=cmd_compare)


def _print_result(result: Any) -> int:
    from lmforge.compress.report import markdown_table

    if result.rows:
        sys.stdout.write(markdown_table(result.rows) + "\n")
    for name, parity in (result.details.get("parity") or {}).items():
        if "same_tag" in parity:  # a token run's export: per-token logits compared
            sys.stdout.write(f"ONNX {name} vs PyTorch: max abs diff on token logits "
                             f"{parity['max_abs_diff']:.2g}, same tag on "
                             f"{100 * parity['same_tag']:.1f}% of tokens\n")
    sys.stdout.write(f"run directory: {result.out}\nreport: {result.report}\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from lmforge.compress.config import ExportConfig
    from lmforge.compress.export import export_run
    from lmforge.config.cli import config_from_args

    return _print_result(export_run(config_from_args(ExportConfig, args)))


def cmd_prune(args: argparse.Namespace) -> int:
    from lmforge.compress.config import PruneConfig
    from lmforge.compress.prune import prune_run
    from lmforge.config.cli import config_from_args

    return _print_result(prune_run(config_from_args(PruneConfig, args)))


def cmd_distill(args: argparse.Namespace) -> int:
    from lmforge.compress.config import DistillConfig
    from lmforge.compress.distill import distill_run
    from lmforge.config.cli import config_from_args

    return _print_result(distill_run(config_from_args(DistillConfig, args)))


def cmd_compare(args: argparse.Namespace) -> int:
    from lmforge.compress.compare import compare
    from lmforge.compress.measure import BenchSettings
    from lmforge.compress.report import markdown_table, per_class_table, write_report
    from lmforge.errors import ConfigError

    problems = [f"--{name.replace('_', '-')} must be >= 1"
                for name in ("threads", "latency_runs", "throughput_texts", "rounds")
                if getattr(args, name) < 1]
    if problems:
        raise ConfigError("invalid compare settings: " + "; ".join(problems))
    bench = BenchSettings(threads=args.threads, latency_runs=args.latency_runs,
                          throughput_texts=args.throughput_texts, rounds=args.rounds)
    result = compare(args.run_dirs, args.data, bench)
    rows = result.rows
    sys.stdout.write(markdown_table(rows) + "\n")
    per_class = per_class_table(rows)
    if per_class:
        sys.stdout.write("\nPer class (test F1):\n" + per_class + "\n")
    for note in result.notes:
        sys.stdout.write(f"\n{note}")
    sys.stdout.write("\n" if result.notes else "")
    if args.out:
        out = Path(args.out)
        report = write_report(out.parent, "Comparison of " + ", ".join(r.name for r in rows),
                              rows, bench, result.notes, stem=out.stem)
        sys.stdout.write(f"report: {report}\n")
    return 0
