"""Named, bundled end-to-end configs: ``lmforge train --recipe NAME``.

A recipe is a YAML file of TrainConfig values beside this module; relative data
paths in it resolve against this folder (bundled data lives in ``data/``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmforge.errors import ConfigError

RECIPES_DIR = Path(__file__).parent
PATH_KEYS = ("data", "validation", "test")


def available() -> list[str]:
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def describe(name: str) -> str:
    """The recipe file's leading comment block, as one paragraph (its first line alone
    would stop mid-sentence)."""
    lines = []
    for line in (RECIPES_DIR / f"{name}.yaml").read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return " ".join(x for x in lines if x)


def load_recipe(name: str) -> dict[str, Any]:
    from lmforge.config.base import load_yaml

    path = RECIPES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown recipe '{name}'. Available recipes: {', '.join(available())}.")
    values = load_yaml(path)
    for key in PATH_KEYS:
        if values.get(key) and not Path(values[key]).is_absolute():
            values[key] = str((RECIPES_DIR / values[key]).resolve())
    return values
