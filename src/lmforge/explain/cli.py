"""``lmforge explain RUN_DIR --text TEXT | --data FILE``: which words made the model decide.

``lmforge.cli.build_parser`` calls ``add_explain_cli(sub)``; the handler parses the
flags into ``ExplainConfig``, calls ``lmforge.explain.explain`` and writes the
explanations to stdout (coloured on a terminal), and to --html / --json files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_explain_cli(sub: Any) -> None:
    """Register ``explain`` on the ``lmforge`` sub-parsers object."""
    from lmforge.config.cli import add_config_flags
    from lmforge.explain.config import ExplainConfig

    explain = sub.add_parser(
        "explain", help="which words made the model decide (integrated gradients, occlusion, "
        "a TF-IDF run's own weights)",
        description="Token attributions merged to words, for the predicted class by default: "
        "coloured in the terminal, and as a self-contained HTML page with --html. Integrated "
        "Gradients reports its completeness check (sum of attributions vs the logit "
        "difference to the [PAD] baseline).")
    explain.add_argument("run_dir", help="run directory written by `lmforge train` or "
                         "`lmforge export` (PyTorch, SetFit, ONNX or TF-IDF; --method auto picks "
                         "what the run allows)")
    add_config_flags(explain, ExplainConfig, skip=("run_dir",))
    explain.set_defaults(handler=cmd_explain)


def cmd_explain(args: argparse.Namespace) -> int:
    from lmforge.config.cli import config_from_args
    from lmforge.data import read_texts
    from lmforge.explain.attribute import explain
    from lmforge.explain.config import ExplainConfig
    from lmforge.explain.render import format_html, format_terminal
    from lmforge.rundir import write_json, write_text_atomic
    from lmforge.runs.load import load_run

    config = config_from_args(ExplainConfig, args)
    clf = load_run(config.run_dir)  # a wrong run dir fails before the data is read
    texts = [config.text] if config.text is not None else read_texts(config.data or "",
                                                                      config.text_col)
    explanations = explain(clf, texts, method=config.method, target=config.target,
                           steps=config.steps, max_steps=config.max_steps,
                           tolerance=config.tolerance, why_not=config.why_not)
    color = sys.stdout.isatty() if config.color is None else config.color
    sys.stdout.write("\n".join(format_terminal(e, color) for e in explanations))
    if config.html:
        write_text_atomic(Path(config.html), format_html(
            explanations, title=f"{Path(config.run_dir).name}: why the model said what it said"))
        sys.stdout.write(f"html: {config.html}\n")
    if config.json:
        write_json(Path(config.json), [e.as_dict() for e in explanations])
        sys.stdout.write(f"json: {config.json}\n")
    return 0
