"""The run directory: written atomically, read back with clear errors.

A run is built in a hidden sibling temp dir and renamed into place at the end,
so a crash or Ctrl-C never leaves a half-written RUN_DIR behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmforge.errors import RunDirError

RUN_FILES = ("model", "config.yaml", "metrics.json")


def refuse_existing(out: Path, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise RunDirError(
            f"run directory '{out}' already exists. Choose another --out, or pass --overwrite "
            "to replace it."
        )


@contextlib.contextmanager
def atomic_run_dir(out: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temp dir; on success it replaces ``out``, on any failure it is removed."""
    refuse_existing(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
    except BaseException:  # KeyboardInterrupt included: leave nothing half-written
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    refuse_existing(out, overwrite)  # someone may have created it meanwhile
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, trash / out.name)
        os.replace(tmp, out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(tmp, out)


def write_text_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def check_run_dir(run_dir: str | os.PathLike[str]) -> Path:
    path = Path(run_dir)
    if not path.exists():
        raise RunDirError(
            f"run directory '{path}' does not exist. Pass the --out directory of a finished "
            "`lmforge train`."
        )
    missing = [name for name in RUN_FILES if not (path / name).exists()]
    if missing:
        raise RunDirError(
            f"'{path}' is not an lmforge run directory: {', '.join(missing)} missing. Pass the "
            "--out directory of a finished `lmforge train` (a training that was interrupted "
            "leaves no run directory)."
        )
    return path


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}: not valid JSON ({exc}); the run directory is damaged.") from exc
