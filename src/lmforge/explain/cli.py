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
        "difference to the [PAD] baseline). A token run (--task tokens) is explained per "
        "entity it found, or for one --word N: each other word masked, the drop in the "
        "probability of the predicted tags.")
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
                           tolerance=config.tolerance, why_not=config.why_not, word=config.word)
    color = sys.stdout.isatty() if config.color is None else config.color
    title = f"{Path(config.run_dir).name}: why the model said what it said"
    if clf.task == "tokens":
        _write_token_explanations(explanations, len(texts), color, config.html, title)
    else:
        sys.stdout.write("\n".join(format_terminal(e, color) for e in explanations))
        if config.html:
            write_text_atomic(Path(config.html), format_html(explanations, title=title))
    if config.html:
        sys.stdout.write(f"html: {config.html}\n")
    if config.json:
        write_json(Path(config.json), [e.as_dict() for e in explanations])
        sys.stdout.write(f"json: {config.json}\n")
    return 0


def _write_token_explanations(explanations: list[Any], n_texts: int, color: bool,
                              html: str | None, title: str) -> None:
    """A token run's explanations on stdout (numbered per text), a note for each text where
    the model found no entity, and the --html page."""
    from lmforge.explain.render import format_token_html, format_token_terminal
    from lmforge.rundir import write_text_atomic

    by_text: dict[int, list[Any]] = {}
    for e in explanations:
        by_text.setdefault(e.index, []).append(e)
    notes = {i: "The model found no entity in this text (every word tagged O); pass --word N "
             "to explain one word's tag." for i in range(n_texts) if i not in by_text}
    blocks = []
    for i in range(n_texts):
        if i in notes:
            blocks.append(f"text #{i + 1}: {notes[i]}\n")
        items = by_text.get(i, [])
        for k, e in enumerate(items):
            number = f"entity {k + 1} of {len(items)}" if e.entity and len(items) > 1 else ""
            blocks.append(format_token_terminal(e, color, number))
    sys.stdout.write("\n".join(blocks))
    if html:
        write_text_atomic(Path(html), format_token_html(explanations, title, notes))
