"""``lmforge models``: the offline registry, with what is installed and cached (light to import)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lmforge.config.cli import add_deprecated_flag, add_format_flag

COLUMNS = ("name", "languages", "parameters", "licence", "installed", "cached", "packages")


def add_models_cli(sub: Any) -> None:
    parser = sub.add_parser(
        "models", help="list the offline models --model accepts by name",
        description="The pre-trained encoders --model accepts by name: languages, size, licence, "
                    "the PyPI packages holding them, whether those are installed and whether the "
                    "converted copy is in the cache ($LMFORGE_CACHE, default ~/.cache/lmforge).")
    add_format_flag(parser, ("table", "json"), "table")
    add_deprecated_flag(parser, "--json", "--format json", "format", const="json")
    parser.set_defaults(handler=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    from lmforge.models.registry import model_rows

    rows = model_rows()
    if args.format == "json":
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(models_table(rows) + "\n")
    return 0


def models_table(rows: list[dict[str, Any]]) -> str:
    """An aligned table, then what 'default' means, the opt-in note and missing installs."""
    from lmforge.models.registry import CJK_ENCODER_FROM, cache_root
    from lmforge.tables import format_table

    cells = [[_cell(key, row) for key in COLUMNS] for row in rows]
    lines = [format_table(COLUMNS, cells)]
    lines += ["", f"default: all-MiniLM-L6-v2; multilingual-e5-small when at least "
                  f"{CJK_ENCODER_FROM:.0%} of the training texts' letters are Chinese, Japanese "
                  "or Korean."]
    for row in rows:
        if row["opt_in"]:
            lines.append(f"{row['name']} *: opt-in only (--model {row['name']}); licence: "
                         f"{row['licence']}. Never chosen by default.")
    missing = [row for row in rows if not row["installed"]]
    for row in missing:
        lines.append(f"{row['name']} is not installed: {row['source']}")
    lines.append(f"cache: {cache_root() / 'models'} (converted once on first use)")
    return "\n".join(lines)


def _cell(key: str, row: dict[str, Any]) -> str:
    if key == "name":
        return row["name"] + (" *" if row["opt_in"] else "")
    if key == "parameters":
        return f"{row['parameters'] / 1e6:.1f}M"
    if key == "installed":
        return "yes" if row["installed"] else "no"
    if key == "packages":
        return row["packages"]
    return str(row[key])
